// Change notices through Postgres LISTEN/NOTIFY: delivered on commit, not on rollback.
import { once } from 'node:events';
import { migrateToLatest } from '../../db/database.js';
import {
  ConnectionChangeListener,
  publishConnectionChange,
  type ConnectionChange,
} from '../../stores/connection-changes.js';
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
});
