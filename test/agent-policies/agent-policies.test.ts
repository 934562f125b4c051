// The cache of effective policies over a real Postgres: a policy is read once and reused (no query) until
// its TTL, a change written behind its back is seen after the TTL at the latest, a change notice drops its
// workspace's entries and no other's, a reconnection of the listener drops everything, and the cache holds
// at most its bound, the least recently used going first.
import { once } from 'node:events';
import { AgentPolicies } from '../../agent-policies/agent-policies.js';
import { policyStore } from '../../agent-policies/policy-store.js';
import { ConnectionChangeListener, publishPolicyChange } from '../../connections/connection-changes.js';
import { migrateToLatest } from '../../db/database.js';
import { createTestDatabase } from '../support/env.js';

describe('AgentPolicies', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let queries = 0;
  const countQuery = (query: { sql: string }) => {
    if (query.sql.includes('agent_policies')) queries++;
  };
  const readOnly = { stand: { methods: ['GET' as const, 'HEAD' as const], paths: null, token: false } };
  const any = { stand: { methods: null, paths: null, token: false } };
  const agent = (workspace: string, sub: string) => ({ workspace, sub, role: 'agent' });
  /** The queries a read asks of agent_policies, and what it answered. */
  const read = async (policies: AgentPolicies, workspace: string, sub: string) => {
    const before = queries;
    const effective = await policies.effectiveFor(agent(workspace, sub));
    return { queries: queries - before, effective };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateToLatest(database.db);
    database.db.on('query', countQuery);
  });
  afterAll(async () => {
    database.db.off('query', countQuery);
    await database.drop();
  });

  it('reuses a policy without a query until its TTL, and never caches for people', async () => {
    let now = 1_000_000;
    const policies = new AgentPolicies(database.db, { ttlMs: 30_000, now: () => now });
    await policyStore.put(database.db, 'ws-ttl', 'a', readOnly, 'test');
    expect(await read(policies, 'ws-ttl', 'a')).toEqual({
      queries: 1,
      effective: { source: 'agent', policy: { integrations: readOnly } },
    });
    // Written behind its back (no notice): the cached one holds until the TTL.
    await policyStore.put(database.db, 'ws-ttl', 'a', any, 'test');
    now += 29_999;
    expect((await read(policies, 'ws-ttl', 'a')).queries).toBe(0);
    now += 1;
    expect(await read(policies, 'ws-ttl', 'a')).toEqual({
      queries: 1,
      effective: { source: 'agent', policy: { integrations: any } },
    });
    // Without its own, the workspace's default; people are never governed and never looked up.
    expect(await read(policies, 'ws-ttl', 'b')).toEqual({ queries: 2, effective: { source: 'default' } });
    const before = queries;
    expect(await policies.effectiveFor({ workspace: 'ws-ttl', sub: 'a', role: 'admin' })).toEqual({
      source: 'none',
    });
    expect(queries).toBe(before);
  });

  it("drops a workspace's entries on its notice, and everything when the listener reconnects", async () => {
    const listener = new ConnectionChangeListener(database.url, undefined, {
      policy: { maxAttempts: 3, windowMs: 60_000, initialDelayMs: 50, maxDelayMs: 200 },
    });
    await listener.start();
    const policies = new AgentPolicies(database.db);
    policies.follow(listener);
    try {
      await policyStore.put(database.db, 'ws-n1', 'a', readOnly, 'test');
      await policyStore.put(database.db, 'ws-n2', 'a', readOnly, 'test');
      await read(policies, 'ws-n1', 'a');
      await read(policies, 'ws-n2', 'a');
      const noticed = once(listener, 'policy');
      await publishPolicyChange(database.db, { workspaceId: 'ws-n1', agentId: 'a' });
      await noticed;
      expect((await read(policies, 'ws-n1', 'a')).queries).toBe(1);
      expect((await read(policies, 'ws-n2', 'a')).queries).toBe(0);

      // A real fault: Postgres ends the listening session; notices sent meanwhile would be lost.
      const resynced = once(listener, 'resync');
      await database.db.raw(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'listen %'",
      );
      await resynced;
      expect((await read(policies, 'ws-n1', 'a')).queries).toBe(1);
      expect((await read(policies, 'ws-n2', 'a')).queries).toBe(1);
    } finally {
      await listener.stop();
    }
  });

  it('holds at most its bound, the least recently used going first', async () => {
    const policies = new AgentPolicies(database.db, { maxEntries: 3 });
    await policyStore.put(database.db, 'ws-lru', 'a', readOnly, 'test');
    for (const sub of ['a', 'b', 'c']) await read(policies, 'ws-lru', sub);
    expect((await read(policies, 'ws-lru', 'a')).queries).toBe(0);
    await read(policies, 'ws-lru', 'd');
    expect(policies.size).toBe(3);
    // `b` was the least recently used: gone; `a`, read since, is still there.
    expect((await read(policies, 'ws-lru', 'a')).queries).toBe(0);
    expect((await read(policies, 'ws-lru', 'b')).queries).toBeGreaterThan(0);
  });
});
