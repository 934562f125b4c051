// Change notices through Postgres LISTEN/NOTIFY: delivered on commit, not on rollback, connection changes
// and access policy changes each as their own event; the listener reconnects when Postgres ends its
// connection, and gives up (once, saying why) when it cannot, instead of retrying for ever.
import { once } from 'node:events';
import { migrateToLatest } from '../../db/database.js';
import {
  ConnectionChangeListener,
  publishConnectionChange,
  publishPolicyChange,
  type ConnectionChange,
  type PolicyChange,
} from '../../connections/connection-changes.js';
import { createTestDatabase } from '../support/env.js';

describe('connection change notices', () => {
  it('reach every listener when the transaction commits, and never when it rolls back', async () => {
    const database = await createTestDatabase();
    await migrateToLatest(database.db);
    const listener = new ConnectionChangeListener(database.url);
    await listener.start();
    try {
      const seen: ConnectionChange[] = [];
      listener.on('change', (change: ConnectionChange) => seen.push(change));
      await database.db
        .transaction(async (tx) => {
          await publishConnectionChange(tx, {
            connectionId: 'rolled-back',
            kind: 'status',
            status: 'active',
          });
          throw new Error('roll back');
        })
        .catch(() => undefined);
      const arrived = once(listener, 'change:c-1');
      await database.db.transaction(async (tx) => {
        await publishConnectionChange(tx, { connectionId: 'c-1', kind: 'status', status: 'active' });
      });
      expect(await arrived).toEqual([{ connectionId: 'c-1', kind: 'status', status: 'active' }]);
      expect(seen).toEqual([{ connectionId: 'c-1', kind: 'status', status: 'active' }]);
    } finally {
      await listener.stop();
      await database.drop();
    }
  });

  it('carries access policy changes on their own channel, as `policy` events, on commit only', async () => {
    const database = await createTestDatabase();
    await migrateToLatest(database.db);
    const listener = new ConnectionChangeListener(database.url);
    await listener.start();
    try {
      const changes: ConnectionChange[] = [];
      const policies: PolicyChange[] = [];
      listener.on('change', (change: ConnectionChange) => changes.push(change));
      listener.on('policy', (change: PolicyChange) => policies.push(change));
      await database.db
        .transaction(async (tx) => {
          await publishPolicyChange(tx, { workspaceId: 'ws-rolled-back', agentId: 'a' });
          throw new Error('roll back');
        })
        .catch(() => undefined);
      const arrived = once(listener, 'policy');
      await database.db.transaction(async (tx) => {
        await publishPolicyChange(tx, { workspaceId: 'ws-1', agentId: 'agent-1' });
      });
      expect(await arrived).toEqual([{ workspaceId: 'ws-1', agentId: 'agent-1' }]);
      expect(policies).toEqual([{ workspaceId: 'ws-1', agentId: 'agent-1' }]);
      expect(changes).toEqual([]);
    } finally {
      await listener.stop();
      await database.drop();
    }
  });

  it('reconnects when Postgres ends its connection, asks listeners to re-read, and hears notices again', async () => {
    const database = await createTestDatabase();
    await migrateToLatest(database.db);
    const listener = new ConnectionChangeListener(database.url, undefined, { policy: quickPolicy });
    await listener.start();
    try {
      const resynced = once(listener, 'resync');
      // A real fault: the server ends the listening session (as it does for its own restart or failover).
      const { rows } = await database.db.raw(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'listen %'",
      );
      expect(rows).toEqual([{ pg_terminate_backend: true }]);
      await resynced;
      const arrived = once(listener, 'change:c-2');
      await publishConnectionChange(database.db, { connectionId: 'c-2', kind: 'status', status: 'inactive' });
      expect(await arrived).toEqual([{ connectionId: 'c-2', kind: 'status', status: 'inactive' }]);
      // Both channels are listened to again.
      const policy = once(listener, 'policy');
      await publishPolicyChange(database.db, { workspaceId: 'ws-2', agentId: 'agent-2' });
      expect(await policy).toEqual([{ workspaceId: 'ws-2', agentId: 'agent-2' }]);
    } finally {
      await listener.stop();
      await database.drop();
    }
  });

  it('gives up, once and saying why, when its database does not come back', async () => {
    const database = await createTestDatabase();
    const listener = new ConnectionChangeListener(database.url, undefined, { policy: quickPolicy });
    await listener.start();
    try {
      const failed = once(listener, 'failed');
      let resynced = 0;
      listener.on('resync', () => resynced++);
      // The database goes away for good: its sessions are ended and every reconnection is refused.
      await database.drop();
      const [error] = (await failed) as [Error];
      expect(error.message).toMatch(
        /could not reconnect to Postgres: 3 attempts within 60 s spent; the last attempt failed: .*does not exist/,
      );
      expect(resynced).toBe(0);
    } finally {
      await listener.stop();
    }
  });
});

const quickPolicy = { maxAttempts: 3, windowMs: 60_000, initialDelayMs: 50, maxDelayMs: 200 };
