// The grant recorder on real Postgres: grants of one caller, task and connection become one row per write
// with their count and first and last time, written once an interval old; pending grants are written on
// stop, kept when a write fails (here: a database without the table yet), and written early when too many
// are pending. And the migration that made grants aggregates: an existing grant becomes an aggregate of one.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { migrateToLatest } from '../../db/database.js';
import { createLogger } from '../../logging/logger.js';
import { migrations } from '../../migrations/index.js';
import { connectionStore } from '../../connections/connection-store.js';
import { GrantRecorder } from '../../agent-access/grant-recorder.js';
import { grantStore, type CredentialGrant } from '../../agent-access/grant-store.js';
import { createTestDatabase } from '../support/env.js';
import { eventually } from '../support/lifecycle.js';

const workspaceId = 'ws_grants';
const HOUR = 3_600_000;

async function addConnection(db: Knex): Promise<string> {
  const id = randomUUID();
  await db('connections').insert({
    id,
    workspace_id: workspaceId,
    integration: 'github',
    scope: 'workspace',
    auth_type: 'oauth2',
    status: 'active',
    created_by: 'admin-1',
  });
  return id;
}

const grant = (connectionId: string, more: Partial<CredentialGrant> = {}): CredentialGrant => ({
  workspaceId,
  connectionId,
  kind: 'token',
  caller: 'agent-1',
  role: 'agent',
  onBehalfOf: 'member-1',
  outcome: 'allowed',
  via: 'api',
  ...more,
});

describe('GrantRecorder', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateToLatest(database.db);
  });
  afterAll(async () => database?.drop());

  it('writes one row per caller and task with its count, first and last time, when stopped', async () => {
    const id = await addConnection(database.db);
    const recorder = new GrantRecorder(database.db, { flushIntervalMs: HOUR });
    const t0 = Date.parse('2026-11-28T10:00:00.000Z');
    recorder.record(grant(id, { taskId: 'task-1' }), t0 + 2_000);
    recorder.record(grant(id, { taskId: 'task-1' }), t0);
    recorder.record(grant(id, { taskId: 'task-1' }), t0 + 5_000);
    recorder.record(grant(id, { taskId: 'task-2' }), t0 + 1_000);
    recorder.record(grant(id, { kind: 'proxy', taskId: 'task-1' }), t0 + 3_000);
    expect(await grantStore.list(database.db, workspaceId, id)).toEqual([]);

    await recorder.stop();
    const recorded = await grantStore.list(database.db, workspaceId, id);
    expect(recorded.map((g) => [g.kind, g.taskId, g.count, g.firstGrantedAt, g.lastGrantedAt])).toEqual([
      ['token', 'task-1', 3, '2026-11-28T10:00:00.000Z', '2026-11-28T10:00:05.000Z'],
      ['token', 'task-2', 1, '2026-11-28T10:00:01.000Z', '2026-11-28T10:00:01.000Z'],
      ['proxy', 'task-1', 1, '2026-11-28T10:00:03.000Z', '2026-11-28T10:00:03.000Z'],
    ]);
    expect(recorded[0]).toMatchObject({ caller: 'agent-1', role: 'agent', onBehalfOf: 'member-1' });
    expect((await connectionStore.get(database.db, workspaceId, id))?.lastUsedAt).toBe(
      '2026-11-28T10:00:05.000Z',
    );
    expect(await connectionStore.lastUsed(database.db, id)).toEqual(new Date('2026-11-28T10:00:05.000Z'));
  });

  it('leaves out grants of a connection that no longer exists, and writes the others', async () => {
    const id = await addConnection(database.db);
    const recorder = new GrantRecorder(database.db, { flushIntervalMs: HOUR });
    recorder.record(grant(randomUUID()));
    recorder.record(grant(id));
    expect(await recorder.flush()).toBe(true);
    expect((await grantStore.list(database.db, workspaceId, id)).map((g) => g.count)).toEqual([1]);
    expect(recorder.pendingCount).toBe(0);
    await recorder.stop();
  });

  it('writes an aggregate once it is an interval old, and leaves younger ones for later', async () => {
    const id = await addConnection(database.db);
    const recorder = new GrantRecorder(database.db, { flushIntervalMs: 2_000 });
    try {
      recorder.record(grant(id, { taskId: 'old' }), Date.now() - 60_000);
      // Made "in an hour": not due while this test runs.
      recorder.record(grant(id, { taskId: 'young' }), Date.now() + HOUR);
      const written = await eventually(
        () => grantStore.list(database.db, workspaceId, id),
        (rows) => rows.length > 0,
      );
      expect(written.map((g) => g.taskId)).toEqual(['old']);
      expect(recorder.pendingCount).toBe(1);
    } finally {
      await recorder.stop();
    }
    expect((await grantStore.list(database.db, workspaceId, id)).map((g) => g.taskId)).toEqual([
      'old',
      'young',
    ]);
  });

  it('starts a flush as soon as too many aggregates are pending', async () => {
    const id = await addConnection(database.db);
    const recorder = new GrantRecorder(database.db, { flushIntervalMs: HOUR, maxPending: 3 });
    recorder.record(grant(id, { taskId: 'a' }));
    recorder.record(grant(id, { taskId: 'b' }));
    recorder.record(grant(id, { taskId: 'c' }));
    const written = await eventually(
      () => grantStore.list(database.db, workspaceId, id),
      (rows) => rows.length === 3,
    );
    expect(written.map((g) => g.taskId)).toEqual(['a', 'b', 'c']);
    await recorder.stop();
  });

  it('keeps the grants of a failed write, logs it, and writes them with the next flush', async () => {
    const empty = await createTestDatabase();
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    const recorder = new GrantRecorder(empty.db, { flushIntervalMs: HOUR, logger });
    try {
      const id = randomUUID();
      recorder.record(grant(id, { taskId: 'task-1' }), Date.parse('2026-11-28T10:00:00.000Z'));
      recorder.record(grant(id, { taskId: 'task-1' }), Date.parse('2026-11-28T10:00:01.000Z'));
      // No schema yet: the write fails.
      expect(await recorder.flush()).toBe(false);
      expect(recorder.pendingCount).toBe(1);
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logged).toEqual([
        expect.objectContaining({
          level: 50,
          msg: 'could not write credential grants; kept for the next flush',
          aggregates: 1,
          grants: 2,
        }),
      ]);

      recorder.record(grant(id, { taskId: 'task-1' }), Date.parse('2026-11-28T10:00:02.000Z'));
      await migrateToLatest(empty.db);
      await empty.db('connections').insert({
        id,
        workspace_id: workspaceId,
        integration: 'github',
        scope: 'workspace',
        auth_type: 'oauth2',
        status: 'active',
        created_by: 'admin-1',
      });
      expect(await recorder.flush()).toBe(true);
      const recorded = await grantStore.list(empty.db, workspaceId, id);
      expect(recorded.map((g) => [g.taskId, g.count, g.firstGrantedAt, g.lastGrantedAt])).toEqual([
        ['task-1', 3, '2026-11-28T10:00:00.000Z', '2026-11-28T10:00:02.000Z'],
      ]);
    } finally {
      await recorder.stop();
      await empty.drop();
    }
  });

  it('keeps no more than its bound while writes fail, and logs what it dropped', async () => {
    const empty = await createTestDatabase();
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    const recorder = new GrantRecorder(empty.db, {
      flushIntervalMs: HOUR,
      maxPending: 1,
      maxRetained: 1,
      logger,
    });
    try {
      const kept = randomUUID();
      // Full at once: that starts a flush, which fails (no schema), as does this one after it.
      recorder.record(grant(kept));
      expect(await recorder.flush()).toBe(false);
      // Beyond the bound a new aggregate is dropped; the kept one still counts.
      recorder.record(grant(randomUUID()));
      recorder.record(grant(kept));
      expect(recorder.pendingCount).toBe(1);
      expect(await recorder.flush()).toBe(false);
      const failed = 'could not write credential grants; kept for the next flush';
      const dropped = 'dropped credential grants: too many pending while they could not be written';
      expect(
        lines
          .map((line) => JSON.parse(line) as { msg: string; grants: number })
          .map((l) => [l.msg, l.grants]),
      ).toEqual([
        [failed, 1],
        [failed, 1],
        [dropped, 1],
        [failed, 2],
      ]);
    } finally {
      await recorder.stop();
      await empty.drop();
    }
  });
});

describe('the grant aggregates migration', () => {
  it('makes each existing grant an aggregate of one, its last time its first', async () => {
    const { db, drop } = await createTestDatabase();
    try {
      const before = migrations.findIndex(([name]) => name === '20261128000002_grant_aggregates');
      for (let applied = 0; applied < before; applied++) await db.migrate.up();
      const id = await addConnection(db);
      const grantedAt = new Date('2026-11-27T09:00:00.000Z');
      await db('credential_grants').insert({
        workspace_id: workspaceId,
        connection_id: id,
        kind: 'proxy',
        caller: 'agent-1',
        role: 'agent',
        granted_at: grantedAt,
      });
      await db.migrate.latest();
      expect(await grantStore.list(db, workspaceId, id)).toEqual([
        expect.objectContaining({
          count: 1,
          firstGrantedAt: grantedAt.toISOString(),
          lastGrantedAt: grantedAt.toISOString(),
        }),
      ]);
      expect((await connectionStore.get(db, workspaceId, id))?.lastUsedAt).toBe(grantedAt.toISOString());
    } finally {
      await drop();
    }
  });
});
