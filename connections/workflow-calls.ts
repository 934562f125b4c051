// Calls to a connection's workflow under the command deadline, with Temporal's failures told as
// ConnectionErrors: a workflow that cannot answer in time (its worker is down, Temporal is unreachable) is
// `unavailable` for the caller, never a call that hangs. The command itself may still complete; the read
// model shows whether it did. Never passes on the Temporal server's own words.
import {
  isGrpcDeadlineError,
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from '../config/config.js';
import { connectionWorkflowId } from '../workflows/messages.js';
import { isFailureType } from '../workflows/failure-types.js';
import { ConnectionError } from './connection-errors.js';

export interface WorkflowCalls {
  temporal: Client;
  /** COMMAND_TIMEOUT_SECONDS: how long a caller waits for the workflow's answer. */
  commandTimeoutMs?: number;
}

/** Runs Temporal calls under the command deadline. */
export async function withDeadline<T>(deps: WorkflowCalls, call: () => Promise<T>): Promise<T> {
  const timeoutMs = deps.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_SECONDS * 1000;
  try {
    return await deps.temporal.withDeadline(Date.now() + timeoutMs, call);
  } catch (error) {
    throw translate(error, timeoutMs);
  }
}

/** Attempts of an update the server gave back unprocessed, and the pause before each next one. */
export const UNPROCESSED_UPDATE_ATTEMPTS = 3;
const UNPROCESSED_UPDATE_PAUSE_MS = 100;

/**
 * The server's answer when the workflow task that carried an update ended without the workflow seeing it
 * (the task was lost or timed out, under load): the update was never admitted, so sending it again is safe.
 */
function isUnprocessedUpdate(error: unknown): boolean {
  return (
    error instanceof WorkflowUpdateFailedError &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === 'UnprocessedUpdate'
  );
}

/**
 * Sends an update to the connection's workflow and answers its result; an update the server hands back
 * unprocessed is sent again, a bounded number of times, within the same deadline.
 */
export function sendUpdate<Ret, Args extends [unknown]>(
  deps: WorkflowCalls,
  connectionId: string,
  update: UpdateDefinition<Ret, Args>,
  arg: Args[0],
): Promise<Ret> {
  return withDeadline(deps, async () => {
    const handle = deps.temporal.workflow.getHandle(connectionWorkflowId(connectionId));
    for (let attempt = 1; ; attempt++) {
      try {
        return await handle.executeUpdate(update, { args: [arg] as unknown as Args });
      } catch (error) {
        if (!isUnprocessedUpdate(error) || attempt >= UNPROCESSED_UPDATE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, UNPROCESSED_UPDATE_PAUSE_MS * attempt));
      }
    }
  });
}

/** What the workflow refused, as a ConnectionError. Unexpected errors pass through unchanged. */
function translate(error: unknown, timeoutMs: number): unknown {
  if (error instanceof ConnectionError || error instanceof WorkflowExecutionAlreadyStartedError) return error;
  if (error instanceof WorkflowNotFoundError) {
    return new ConnectionError(
      'conflict',
      'the connection has no running lifecycle (it is disconnected or failed)',
    );
  }
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const failure = error.cause;
    if (isFailureType(failure.type, 'AuthorizationRefused')) {
      return new ConnectionError('authorization_refused', failure.message);
    }
    if (isFailureType(failure.type, 'AccountAlreadyConnected')) {
      const [existing] = failure.details ?? [];
      return new ConnectionError(
        'account_already_connected',
        failure.message,
        typeof existing === 'string' ? { connectionId: existing } : undefined,
      );
    }
    if (isFailureType(failure.type, 'AccountMismatch')) {
      return new ConnectionError('account_mismatch', failure.message);
    }
    if (isFailureType(failure.type, 'ProviderRejected') || isFailureType(failure.type, 'IdentityRefused'))
      return new ConnectionError('provider_rejected', failure.message);
    if (isFailureType(failure.type, 'ProviderUnavailable')) {
      return new ConnectionError('provider_unavailable', failure.message);
    }
    return new ConnectionError('conflict', failure.message);
  }
  // An update's call at the deadline can surface as CANCELLED rather than DEADLINE_EXCEEDED (the SDK wraps
  // both); nothing here cancels a call, so either way the deadline has passed.
  if (isGrpcDeadlineError(error) || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new ConnectionError(
      'unavailable',
      `the connection did not answer within ${Math.round(timeoutMs / 1000)} s; the command may still ` +
        'complete: read the connection to see how it stands',
    );
  }
  if (isGrpcServiceError(error)) {
    // The server's own words can name internals; the caller learns only that it is unavailable.
    return new ConnectionError('unavailable', 'the workflow service is unavailable; try again shortly');
  }
  return error;
}
