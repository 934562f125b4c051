// For workflow code of agent tasks: wait, durably and without polling, until a connection is ready. The
// waiting workflow registers itself with the connection's workflow, which signals `connectionReady` when the
// connection is (or becomes) active, or `connectionUnavailable` when it fails, expires or is disconnected.
import type { Duration } from '@temporalio/common';
import { condition, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  connectionReady,
  connectionUnavailable,
  connectionWorkflowId,
  registerWaiter,
  type ConnectionStatus,
} from './messages.js';

export type ConnectionReadiness =
  { ready: true } | { ready: false; status: ConnectionStatus | 'timed_out' | 'not_running'; reason?: string };

const outcomes = new Map<string, ConnectionReadiness>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  setHandler(connectionReady, ({ connectionId }) => {
    outcomes.set(connectionId, { ready: true });
  });
  setHandler(connectionUnavailable, ({ connectionId, status, reason }) => {
    outcomes.set(connectionId, { ready: false, status, reason });
  });
}

/**
 * Resolves once the connection is active ({ ready: true }), or with why it will not be (failed, expired,
 * disconnected; `not_running` once its lifecycle has ended), or with `timed_out` after `timeout`. Safe to call again for the same connection.
 */
export async function awaitConnectionReady(
  connectionId: string,
  options: { timeout: Duration },
): Promise<ConnectionReadiness> {
  installHandlers();
  outcomes.delete(connectionId);
  try {
    await getExternalWorkflowHandle(connectionWorkflowId(connectionId)).signal(registerWaiter, {
      workflowId: workflowInfo().workflowId,
    });
  } catch {
    // Its lifecycle has ended (failed or disconnected), or the connection never existed.
    return { ready: false, status: 'not_running', reason: 'the connection has no running lifecycle' };
  }
  const answered = await condition(() => outcomes.has(connectionId), options.timeout);
  if (!answered) return { ready: false, status: 'timed_out' };
  return outcomes.get(connectionId)!;
}
