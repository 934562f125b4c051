// Tells the platform, durably, what happened to a connection its dependents rely on. A removal's notices: one
// workflow per dependent (notifyDependent). Every other health event: one workflow per event (tellDependents),
// which lists the dependents registered then and delivers each one's notice. Either way the one delivery
// activity, deliverDependentNotice, is retried by Temporal with backoff for up to a day, and the workflow's id
// makes each notice be sent once however often the connection's workflow replays or retries.
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  proxyActivities,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { DependentNotice, HealthEvent, HealthEventType } from '../notifications/webhook.js';
import { dependentNoticeOptions, healthEventOptions } from './activity-options.js';
import type { ConnectionStatus } from './connection-status.js';
import type { ConnectionRef } from './messages.js';
import { WorkspaceId } from './search-attributes.js';

const { deliverDependentNotice } = proxyActivities<Activities>(dependentNoticeOptions);
const { listDependents } = proxyActivities<Activities>(healthEventOptions);

export async function notifyDependent(notice: DependentNotice): Promise<{ delivered: boolean }> {
  return deliverDependentNotice(notice);
}

/** One health event, told to every dependent of the connection registered when it happened. */
export async function tellDependents(event: HealthEvent): Promise<{ dependents: number; delivered: number }> {
  const listed = await listDependents({
    connection: { id: event.connectionId, workspaceId: event.workspaceId },
  });
  // Listed after the event: one registered since is not told of what happened before it.
  const occurredAt = Date.parse(event.occurredAt);
  const dependents = listed.filter((dependent) => Date.parse(dependent.createdAt) <= occurredAt);
  // Each dependent's delivery goes on whatever becomes of another's (a refusal is final for that one only).
  const outcomes = await Promise.allSettled(
    dependents.map((dependent) =>
      deliverDependentNotice({ ...event, dependent: { kind: dependent.kind, id: dependent.id } }),
    ),
  );
  const refused = outcomes.filter((outcome) => outcome.status === 'rejected').length;
  if (refused > 0) {
    throw ApplicationFailure.nonRetryable(
      `${refused} of ${dependents.length} dependents' notices could not be delivered`,
      'WebhookRefused',
    );
  }
  const delivered = outcomes.filter((o) => o.status === 'fulfilled' && o.value.delivered).length;
  return { dependents: dependents.length, delivered };
}

/**
 * The notice workflow's id: one per connection and dependent (a connection is removed once), so that a
 * dependent is told once however often its notice is asked for.
 */
export function dependentNoticeWorkflowId(
  connectionId: string,
  dependent: { kind: string; dependentId: string },
): string {
  return `dependent-notice-${connectionId}-${dependent.kind}-${dependent.dependentId}`;
}

/** The health event workflow's id: one per connection and event number. */
export function healthEventWorkflowId(connectionId: string, sequence: number): string {
  return `connection-event-${connectionId}-${sequence}`;
}

/**
 * The health event a change of status is, if any. A removal's notices are its own (connection-removal.ts);
 * `recovered` is an expired connection working again, never an activation.
 */
export function healthEventOf(
  from: ConnectionStatus | null,
  to: ConnectionStatus,
): Exclude<HealthEventType, 'connection.disconnected'> | undefined {
  if (from === to) return undefined;
  if (to === 'expired') return 'connection.expired';
  if (to === 'inactive') return 'connection.deactivated';
  if (to !== 'active') return undefined;
  if (from === 'pending') return 'connection.created';
  if (from === 'expired') return 'connection.recovered';
  if (from === 'inactive') return 'connection.activated';
  return undefined;
}

/** The fields of a connection's event every one of its notices carries. */
export function healthEventFields(
  connection: ConnectionRef,
  event: { type: HealthEventType; status: ConnectionStatus; reason: string; sequence: number; at: number },
): HealthEvent {
  return {
    type: event.type,
    eventId: `${connection.id}:${event.sequence}`,
    workspaceId: connection.workspaceId,
    connectionId: connection.id,
    integration: connection.integration,
    scope: connection.scope,
    ...(connection.scope === 'user' && connection.ownerUserId ? { userId: connection.ownerUserId } : {}),
    status: event.status,
    reason: event.reason,
    sequence: event.sequence,
    occurredAt: new Date(event.at).toISOString(),
  };
}

/**
 * Starts the event's workflow, unless one with its id ever ran (it was told already). It outlives the
 * connection's workflow, which never waits for it, and no cancellation of the command reaches it.
 */
export async function startHealthEvent(event: HealthEvent): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await startChild(tellDependents, {
        workflowId: healthEventWorkflowId(event.connectionId, event.sequence),
        args: [event],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: WorkspaceId, value: event.workspaceId }],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  });
}
