// The removal of a connection (the `disconnect` update), as its workflow runs it: the removal is recorded
// in one transaction with its dependents' notices or refused while dependents remain (recordRemoval), then the
// credentials are destroyed and revoked, then each dependent is told by a child workflow whose id is its
// notice's, so that each is told exactly once however often this runs or replays (its body, from the
// health-events patch on, with the fields of every health event: see dependent-notification.ts). Nothing here waits for
// a webhook: the notices outlive the connection's workflow. Deterministic workflow code only.
import {
  CancellationScope,
  ParentClosePolicy,
  patched,
  startChild,
  type ActivityInterfaceFor,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { ScheduleMetadata } from '../connections/connection-store.js';
import type { HealthEvent } from '../notifications/webhook.js';
import { dependentNoticeWorkflowId, healthEventFields, notifyDependent } from './dependent-notification.js';
import { HEALTH_EVENTS_PATCH } from './patches.js';
import type {
  CarriedState,
  ConnectionRef,
  ConnectionStatus,
  DependentNoticeRecord,
  DisconnectRequest,
  DisconnectResult,
} from './messages.js';
import { WorkspaceId } from './search-attributes.js';

/** What of the connection's workflow a removal uses. */
export interface RemovalContext {
  connection: ConnectionRef;
  state: CarriedState;
  /** The read model's writes (local activities). */
  records: ActivityInterfaceFor<Pick<Activities, 'listDependents' | 'recordRemoval'>>;
  /** destroyCredentials, with the revocation's options. */
  credentials: ActivityInterfaceFor<Pick<Activities, 'destroyCredentials'>>;
  /** Runs `work` in the workflow's command queue. */
  serialized<T>(work: () => Promise<T>): Promise<T>;
  /** Cancels the commands a removal makes pointless. */
  preempt(): void;
  metadata(status: ConnectionStatus): ScheduleMetadata;
  /** Takes a transition already recorded into the workflow's state (status, search attribute, waiters). */
  applyTransition(to: ConnectionStatus, reason: string): Promise<void>;
}

export async function removeConnection(
  context: RemovalContext,
  request: DisconnectRequest,
): Promise<DisconnectResult> {
  const { connection, state } = context;
  const force = request.force !== false;
  if (!force && state.snapshot.status !== 'disconnected') {
    // The usual refusal is answered from a plain read, before anything is stopped: a refusal changes nothing.
    const dependents = await context.records.listDependents({ connection });
    if (dependents.length > 0) return { disconnected: false, dependents };
  }
  context.preempt();
  return context.serialized(async () => {
    const snapshot = state.snapshot;
    if (snapshot.status === 'disconnected')
      return { disconnected: true, snapshot: { ...snapshot }, notified: [] };
    // Commands run one at a time, so no other record can take this number before the refusal gives it back.
    const sequence = ++state.sequence;
    const recorded = await CancellationScope.nonCancellable(() =>
      context.records.recordRemoval({
        transition: {
          connection,
          sequence,
          from: snapshot.status,
          actor: request.actor,
          at: Date.now(),
          metadata: { ...context.metadata('disconnected'), tokenExpiresAt: null },
        },
        force,
        reason: request.reason,
      }),
    );
    if (!recorded.recorded) {
      state.sequence--;
      return { disconnected: false, dependents: recorded.dependents };
    }
    state.authorization = undefined;
    snapshot.authorizationPending = false;
    snapshot.tokenExpiresAt = undefined;
    snapshot.nextRefreshAt = undefined;
    await context.credentials.destroyCredentials({ connection, revoke: true });
    await context.applyTransition('disconnected', recorded.reason);
    // From the health-events patch on, a removal's notices carry the fields of every other event's too.
    const event =
      recorded.notices.length > 0 && patched(HEALTH_EVENTS_PATCH)
        ? healthEventFields(connection, {
            type: 'connection.disconnected',
            status: 'disconnected',
            reason: recorded.reason,
            sequence,
            at: Date.now(),
          })
        : undefined;
    await Promise.all(
      recorded.notices.map((notice) => notifyOnce(connection, notice, recorded.reason, event)),
    );
    return { disconnected: true, snapshot: { ...snapshot }, notified: recorded.notices };
  });
}

/** Starts the dependent's notice workflow, unless one with its id ever ran (it was told already). */
async function notifyOnce(
  connection: ConnectionRef,
  notice: DependentNoticeRecord,
  reason: string,
  event: HealthEvent | undefined,
): Promise<void> {
  try {
    await startChild(notifyDependent, {
      workflowId: dependentNoticeWorkflowId(connection.id, notice),
      args: [
        {
          ...event,
          type: 'connection.disconnected',
          workspaceId: connection.workspaceId,
          connectionId: connection.id,
          dependent: { kind: notice.kind, id: notice.dependentId },
          reason,
          occurredAt: notice.createdAt,
        },
      ],
      // The notice is retried for up to a day; the connection's workflow ends without waiting for it.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: WorkspaceId, value: connection.workspaceId }],
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
