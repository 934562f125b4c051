// An example agent task as a Temporal workflow: it resolves which connection it may use; when a person must
// connect first, it records the request (the resolving activity does, with the connect link, which so never
// enters this history) and waits durably (re-resolving on a timer, or at once on a
// `connectionCreated` signal) with an overall deadline and one reminder, and ends when the connection made
// for it fails. It then waits for the connection to be ready without polling (awaitConnectionReady), makes
// its call through the proxy, and ends with a clear reason when the connection is unavailable. It never
// holds a credential.
import { condition, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { awaitConnectionReady } from '../workflows/await-connection-ready.js';
import type { ConnectionStatus } from '../workflows/messages.js';
import type { ExampleAgentActivities, ProxyAnswer, ProxyCall } from './example-agent-activities.js';

export interface ExampleAgentInput {
  integration: string;
  /** The user the task runs for (its agent token's `on_behalf_of`). */
  userId: string;
  agentId?: string;
  request: Pick<ProxyCall, 'method' | 'path' | 'body'>;
  timing?: {
    /** How often to ask again while no connection exists. Default 1 minute. */
    resolveEveryMs?: number;
    /** When to record a reminder if still waiting. Default 1 day. */
    reminderAfterMs?: number;
    /** When to give up waiting for a connection. Default 7 days. */
    giveUpAfterMs?: number;
  };
}

export type ExampleAgentResult =
  | { ended: 'called'; connectionId: string; response: ProxyAnswer }
  | {
      ended: 'unavailable';
      connectionId: string;
      status: ConnectionStatus | 'not_running';
      reason?: string;
    }
  | { ended: 'timed_out'; waitingFor: 'connection' | 'ready'; connectionId?: string };

/** Sent by the platform when the person it asked has started a connection: re-resolve now. */
export const connectionCreated = defineSignal('connectionCreated');

const { resolveAgentConnection, callThroughProxy } = proxyActivities<ExampleAgentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});

export async function exampleAgentTask(input: ExampleAgentInput): Promise<ExampleAgentResult> {
  const taskId = workflowInfo().workflowId;
  const resolveEveryMs = input.timing?.resolveEveryMs ?? 60_000;
  const reminderAfterMs = input.timing?.reminderAfterMs ?? 86_400_000;
  const deadline = Date.now() + (input.timing?.giveUpAfterMs ?? 7 * 86_400_000);
  const ask = { integration: input.integration, userId: input.userId, agentId: input.agentId };

  let nudged = false;
  setHandler(connectionCreated, () => {
    nudged = true;
  });

  let resolved = await resolveAgentConnection({ ...ask, announce: { kind: 'connection_requested', taskId } });
  let waiting = resolved.kind === 'connection_required' || resolved.connection.status !== 'active';
  let reminder: Promise<void> | undefined;
  if (resolved.kind === 'connection_required') {
    // One reminder, only if the task is still waiting by then, with a fresh link when one is still needed.
    reminder = condition(() => !waiting, reminderAfterMs).then(async (done) => {
      if (!done) await resolveAgentConnection({ ...ask, announce: { kind: 'reminder', taskId } });
    });
    // A connection that fails or is disconnected after the request was made is the answer to it.
    const knownUnusable = resolved.latest?.id;
    while (resolved.kind === 'connection_required') {
      if (resolved.latest && resolved.latest.id !== knownUnusable) {
        waiting = false;
        return {
          ended: 'unavailable',
          connectionId: resolved.latest.id,
          status: resolved.latest.status,
          ...(resolved.latest.reason ? { reason: resolved.latest.reason } : {}),
        };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        waiting = false;
        return { ended: 'timed_out', waitingFor: 'connection' };
      }
      nudged = false;
      await condition(() => nudged, Math.min(resolveEveryMs, remaining));
      resolved = await resolveAgentConnection(ask);
    }
  }

  const connectionId = resolved.connection.id;
  if (resolved.connection.status !== 'active') {
    const readiness = await awaitConnectionReady(connectionId, {
      timeout: Math.max(deadline - Date.now(), 1),
    });
    waiting = false;
    if (!readiness.ready) {
      if (readiness.status === 'timed_out') return { ended: 'timed_out', waitingFor: 'ready', connectionId };
      return {
        ended: 'unavailable',
        connectionId,
        status: readiness.status,
        ...(readiness.reason ? { reason: readiness.reason } : {}),
      };
    }
  }
  waiting = false;
  await reminder;

  const response = await callThroughProxy({ connectionId, userId: input.userId, taskId, ...input.request });
  const error = (response.body as { error?: { code?: string; details?: { status?: ConnectionStatus } } })
    ?.error;
  if (response.status === 409 && error?.code === 'connection_not_active') {
    return {
      ended: 'unavailable',
      connectionId,
      status: error.details?.status ?? 'expired',
      reason: 'connection_not_active',
    };
  }
  return { ended: 'called', connectionId, response };
}
