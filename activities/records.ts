// The read model's writes, made for the connection's workflow (its only writer): a transition or notice,
// recorded once however often it is retried, a new refresh schedule, and the key-usage read. Postgres only:
// these run as local activities, and never touch a credential or a provider.
import type { Knex } from 'knex';
import { publishConnectionChange } from '../connections/connection-changes.js';
import { connectionStore, type EventRecord, type ScheduleMetadata } from '../connections/connection-store.js';
import { transitionsTotal } from '../observability/metrics.js';
import type { ConnectionRef } from '../workflows/messages.js';
import type { ConnectionAccess } from './connection-access.js';

/** An event as the workflow sends it: its time in epoch ms, and the times to mirror on the row. */
export type TransitionRecord = Omit<EventRecord, 'at'> & { at: number; metadata: ScheduleMetadata };

/**
 * Records a transition (or a notice, when from equals to) once, and mirrors it onto the connection row, inside
 * the caller's transaction; answers whether it was new (false for a retry of one already recorded).
 */
export async function writeTransition(tx: Knex.Transaction, record: TransitionRecord): Promise<boolean> {
  const event = { ...record, at: new Date(record.at) };
  if (record.from === null) await connectionStore.recordCreation(tx, event);
  if (!(await connectionStore.recordEvent(tx, event))) return false;
  transitionsTotal.inc({ from: record.from ?? 'none', to: record.to });
  await publishConnectionChange(tx, {
    connectionId: record.connection.id,
    kind: 'status',
    from: record.from,
    status: record.to,
    ...(record.reason ? { reason: record.reason } : {}),
  });
  await connectionStore.recordStatus(tx, event, record.metadata);
  return true;
}

export function createRecordActivities({ db }: ConnectionAccess) {
  return {
    /** Records a transition (or a notice, when from equals to) once, and mirrors it onto the connection row. */
    async recordTransition(record: TransitionRecord): Promise<void> {
      await db.transaction((tx) => writeTransition(tx, record));
    },

    async recordSchedule(input: { connection: ConnectionRef; metadata: ScheduleMetadata }): Promise<void> {
      await connectionStore.recordSchedule(db, input.connection.id, input.metadata);
    },

    async readKeyUsage(input: { connection: ConnectionRef }): Promise<{ lastUsedAt?: number }> {
      const lastUsed = await connectionStore.lastUsed(db, input.connection.id);
      return { lastUsedAt: lastUsed?.getTime() };
    },
  };
}
