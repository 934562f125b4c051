// The purge of rows that outlive their use, on real Postgres: expired authorization states (after a grace
// period), return targets whose state is gone, and Idempotency-Keys older than their time to live; rows still
// in use are kept.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { migrateToLatest } from '../../db/database.js';
import { purgeExpiredRows, STATE_GRACE_MS } from '../../connections/expired-rows.js';
import { createTestDatabase } from '../support/env.js';

describe('expired rows', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.db;
    await migrateToLatest(db);
  });
  afterAll(async () => database?.drop());

  it('purges expired states with their return targets and old idempotency keys, and keeps the rest', async () => {
    const now = Date.now();
    const connectionId = randomUUID();
    await db('connections').insert({
      id: connectionId,
      workspace_id: 'ws',
      integration: 'x',
      scope: 'workspace',
      auth_type: 'oauth2',
      status: 'pending',
      created_by: 'admin',
    });
    const state = (hash: string, expiresAt: number) => ({
      state_hash: hash,
      connection_id: connectionId,
      workspace_id: 'ws',
      setup_id: 's',
      issuer: 'https://issuer.example',
      redirect_uri: 'https://service.example/v1/oauth/callback',
      scopes: [],
      expires_at: new Date(expiresAt),
    });
    await db('oauth_states').insert([
      state('long-gone', now - STATE_GRACE_MS - 1_000),
      state('just-expired', now - 1_000),
      state('waiting', now + 600_000),
    ]);
    await db('oauth_return_targets').insert(
      ['long-gone', 'waiting'].map((hash) => ({
        state_hash: hash,
        connection_id: connectionId,
        workspace_id: 'ws',
        return_to: '/done',
      })),
    );
    const key = (hash: string, createdAt: number) => ({
      workspace_id: 'ws',
      caller: 'admin',
      key_hash: hash,
      fingerprint: 'f',
      connection_id: randomUUID(),
      created_at: new Date(createdAt),
    });
    await db('connection_create_requests').insert([
      key('old', now - 25 * 3_600_000),
      key('new', now - 1_000),
    ]);

    const purged = await purgeExpiredRows(db, { now, idempotencyKeyTtlMs: 24 * 3_600_000 });
    expect(purged).toEqual({ states: 1, returnTargets: 1, idempotencyKeys: 1 });
    expect((await db('oauth_states').select('state_hash')).map((r) => r.state_hash).sort()).toEqual([
      'just-expired',
      'waiting',
    ]);
    expect((await db('oauth_return_targets').select('state_hash')).map((r) => r.state_hash)).toEqual([
      'waiting',
    ]);
    expect((await db('connection_create_requests').select('key_hash')).map((r) => r.key_hash)).toEqual([
      'new',
    ]);
    expect(await purgeExpiredRows(db, { now, idempotencyKeyTtlMs: 24 * 3_600_000 })).toEqual({
      states: 0,
      returnTargets: 0,
      idempotencyKeys: 0,
    });
  });
});
