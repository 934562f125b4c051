// The removal of a connection, as its workflow records it: in one transaction that holds the connection's row
// lock, its dependents are listed, and the removal is either refused (not forced, dependents remain) or
// recorded with one notice per dependent (the dependent_notifications outbox), so that a crash afterwards
// loses no notice and a dependent registered meanwhile (which takes the same lock) is never left behind.
// Never calls a provider or KMS inside that transaction, and never delivers a notice itself.
import { connectionStore } from '../connections/connection-store.js';
import { dependentStore, type Dependent, type DependentNotification } from '../dependents/dependent-store.js';
import type { DependentNoticeRecord } from '../workflows/messages.js';
import { writeTransition, type TransitionRecord } from './records.js';
import type { ConnectionAccess } from './connection-access.js';
import { failure } from './failures.js';

/** The event every dependent of a removed connection is told of. */
export const DISCONNECTED_EVENT = 'connection_disconnected';

export interface RemovalRequest {
  /** The transition to `disconnected`, reason left to the removal (it depends on the dependents found). */
  transition: Omit<TransitionRecord, 'reason' | 'to'>;
  force: boolean;
  /** The caller's reason; by default `removed_with_dependents` when there were any, `disconnected` if not. */
  reason?: string;
}

export type RemovalRecord =
  | { recorded: true; reason: string; notices: DependentNoticeRecord[] }
  | { recorded: false; dependents: Dependent[] };

export function createRemovalActivities({ db }: ConnectionAccess) {
  return {
    /** Lists the dependents without locking anything: a quick refusal that need not stop anything first. */
    async listDependents(input: {
      connection: Pick<TransitionRecord['connection'], 'id' | 'workspaceId'>;
    }): Promise<Dependent[]> {
      const { connection } = input;
      return dependentStore.list(db, { workspaceId: connection.workspaceId, connectionId: connection.id });
    },

    async recordRemoval(input: RemovalRequest): Promise<RemovalRecord> {
      const { connection } = input.transition;
      const ref = { workspaceId: connection.workspaceId, connectionId: connection.id };
      return db.transaction(async (tx): Promise<RemovalRecord> => {
        const current = await connectionStore.lockStatus(tx, connection.id, 'update');
        if (!current) throw failure('InternalError', 'the connection has no record to remove');
        if (current.status === 'disconnected') {
          // A retry of a removal already recorded: its notices are the ones recorded then.
          const notices = await dependentStore.notifications(tx, ref);
          return { recorded: true, reason: current.reason ?? 'disconnected', notices: notices.map(toRecord) };
        }
        const dependents = await dependentStore.list(tx, ref);
        if (dependents.length > 0 && !input.force) return { recorded: false, dependents };
        const reason = input.reason ?? (dependents.length > 0 ? 'removed_with_dependents' : 'disconnected');
        await writeTransition(tx, { ...input.transition, to: 'disconnected', reason });
        const notices = await dependentStore.notifyAll(tx, ref, {
          event: DISCONNECTED_EVENT,
          actor: input.transition.actor,
        });
        return { recorded: true, reason, notices: notices.map(toRecord) };
      });
    },
  };
}

function toRecord(notice: DependentNotification): DependentNoticeRecord {
  return {
    kind: notice.kind,
    dependentId: notice.dependentId,
    event: notice.event,
    createdAt: notice.createdAt,
  };
}
