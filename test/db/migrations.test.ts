// Every migration, up and down, on real Postgres.
import type { Knex } from 'knex';
import { connectDatabase, migrateToLatest } from '../../db/database.js';
import { migrations } from '../../migrations/index.js';
import { createTestDatabase } from '../support/env.js';

const expectedTables = [
  'connections',
  'connection_events',
  'credentials',
  'integrations',
  'oauth_states',
  'connection_dependents',
  'dependent_notifications',
  'oauth_return_targets',
  'credential_grants',
  'connection_create_requests',
  'connect_sessions',
  'console_sessions',
  'console_sign_ins',
  'agent_policies',
];

async function tables(db: Knex): Promise<string[]> {
  const rows = await db('information_schema.tables').where({ table_schema: 'public' }).select('table_name');
  return rows
    .map((row: { table_name: string }) => row.table_name)
    .filter((name) => !name.startsWith('knex_'));
}

describe('migrations', () => {
  it('apply in order, roll back one by one to an empty schema, and apply again', async () => {
    const { db, drop } = await createTestDatabase();
    try {
      const [, applied] = await db.migrate.latest();
      expect(applied).toEqual(migrations.map(([name]) => name));
      expect((await tables(db)).sort()).toEqual([...expectedTables].sort());

      for (let remaining = migrations.length; remaining > 0; remaining--) {
        const [, rolledBack] = await db.migrate.down();
        expect(rolledBack).toEqual([migrations[remaining - 1]![0]]);
      }
      expect(await tables(db)).toEqual([]);

      await db.migrate.latest();
      expect((await tables(db)).sort()).toEqual([...expectedTables].sort());
    } finally {
      await drop();
    }
  });

  it('keeps a user connection from existing without its owner', async () => {
    const { db, drop } = await createTestDatabase();
    try {
      await db.migrate.latest();
      await expect(
        db('connections').insert({
          id: '7b0c1f1e-0000-4000-8000-000000000001',
          workspace_id: 'ws_1',
          integration: 'github',
          scope: 'user',
          auth_type: 'oauth2',
          status: 'pending',
          created_by: 'u_1',
        }),
      ).rejects.toThrow(/user_connections_have_an_owner/);
      await expect(
        db('connections').insert({
          id: '7b0c1f1e-0000-4000-8000-000000000002',
          workspace_id: 'ws_1',
          integration: 'github',
          scope: 'workspace',
          auth_type: 'oauth2',
          status: 'unknown',
          created_by: 'u_1',
        }),
      ).rejects.toThrow(/check constraint/);
    } finally {
      await drop();
    }
  });
});

describe('20261202000001_last_use_from_grants', () => {
  it("drops connections.last_used_at, and rolled back fills it from each connection's latest grant", async () => {
    const { db, drop } = await createTestDatabase();
    try {
      await db.migrate.latest();
      const columns = async () => Object.keys(await db('connections').columnInfo());
      expect(await columns()).not.toContain('last_used_at');
      const id = '7b0c1f1e-0000-4000-8000-000000000003';
      await db('connections').insert({
        id,
        workspace_id: 'ws_1',
        integration: 'stripe',
        scope: 'workspace',
        auth_type: 'api_key',
        status: 'active',
        created_by: 'u_1',
      });
      const grant = { workspace_id: 'ws_1', connection_id: id, kind: 'token', caller: 'a_1', role: 'agent' };
      const first = new Date('2026-11-30T10:00:00.000Z');
      const last = new Date('2026-11-30T11:00:00.000Z');
      await db('credential_grants').insert([
        { ...grant, granted_at: first, last_granted_at: first },
        { ...grant, granted_at: first, last_granted_at: last, grant_count: 3 },
      ]);

      // By name: later migrations stay applied.
      const [, rolledBack] = await db.migrate.down({ name: '20261202000001_last_use_from_grants' });
      expect(rolledBack).toEqual(['20261202000001_last_use_from_grants']);
      expect((await db('connections').where({ id }).first()).last_used_at).toEqual(last);

      await db.migrate.latest();
      expect(await columns()).not.toContain('last_used_at');
    } finally {
      await drop();
    }
  });
});

describe('20261202000002_connection_params', () => {
  it('gives every connection its parameters (none by default) and a refresh-token expiry, and rolls back', async () => {
    const { db, drop } = await createTestDatabase();
    try {
      await db.migrate.latest();
      const id = '7b0c1f1e-0000-4000-8000-000000000004';
      await db('connections').insert({
        id,
        workspace_id: 'ws_1',
        integration: 'microsoft',
        scope: 'workspace',
        auth_type: 'oauth2',
        status: 'pending',
        created_by: 'u_1',
      });
      const row = await db('connections').where({ id }).first();
      expect(row.params).toEqual({});
      expect(row.refresh_token_expires_at).toBeNull();

      // By name: later migrations stay applied.
      const [, rolledBack] = await db.migrate.down({ name: '20261202000002_connection_params' });
      expect(rolledBack).toEqual(['20261202000002_connection_params']);
      const columns = Object.keys(await db('connections').columnInfo());
      expect(columns).not.toContain('params');
      expect(columns).not.toContain('refresh_token_expires_at');
    } finally {
      await drop();
    }
  });
});

describe('migrateToLatest', () => {
  it('lets processes that start at once (the API and the worker) migrate the same database together', async () => {
    const database = await createTestDatabase();
    const processes = [0, 1, 2].map(() => connectDatabase(database.url));
    try {
      const applied = await Promise.all(processes.map((db) => migrateToLatest(db)));
      expect(applied.flat().sort()).toEqual(migrations.map(([name]) => name).sort());
      expect((await tables(database.db)).sort()).toEqual([...expectedTables].sort());
    } finally {
      await Promise.all(processes.map((db) => db.destroy()));
      await database.drop();
    }
  });
});

describe('20261203000001_connection_accounts', () => {
  it('holds one upstream account once per scope among connections that are not final', async () => {
    const { db, drop } = await createTestDatabase();
    try {
      await db.migrate.latest();
      let n = 0;
      const insert = (more: Record<string, unknown>) =>
        db('connections').insert({
          id: `7b0c1f1e-0000-4000-8000-${String(++n).padStart(12, '0')}`,
          workspace_id: 'ws_1',
          integration: 'github',
          scope: 'workspace',
          auth_type: 'oauth2',
          status: 'active',
          created_by: 'u_1',
          account_id: 'octocat',
          ...more,
        });
      await insert({});
      expect((await db('connections').first()).provider_data).toEqual({});
      await expect(insert({ status: 'pending' })).rejects.toThrow(/connections_one_live_account_per_scope/);
      // Another scope, another person, another integration, another account, no account: all admitted.
      await insert({ scope: 'user', owner_user_id: 'u_1' });
      await insert({ scope: 'user', owner_user_id: 'u_2' });
      await expect(insert({ scope: 'user', owner_user_id: 'u_2' })).rejects.toThrow(/unique/);
      await insert({ integration: 'gitlab' });
      await insert({ account_id: 'hubot' });
      await insert({ account_id: null });
      await insert({ account_id: null });
      // A disconnected or failed connection keeps its account without holding it.
      await insert({ status: 'disconnected' });
      await insert({ status: 'failed' });

      const [, rolledBack] = await db.migrate.down({ name: '20261203000001_connection_accounts' });
      expect(rolledBack).toEqual(['20261203000001_connection_accounts']);
      expect(Object.keys(await db('connections').columnInfo())).not.toContain('account_id');
      await db.migrate.latest();
    } finally {
      await drop();
    }
  });
});
