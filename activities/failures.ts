// How an activity's failure reaches the workflow: classified at once as permanent (never retried) or temporary
// (retried within the command's bounds), with a message made of fixed words, the activity's name and error
// names or codes only. A raw error message must never travel: a TypeError from a header can carry the key it
// refused, a database error the values of its query. The full error is logged here (the logger scrubs it).
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Logger } from '../logging/logger.js';
import { dependencyUnavailable, errorCode } from '../platform/dependency-errors.js';
import { ProviderError } from '../providers/provider-error.js';
import { DecryptionError } from '../vault/credential-vault.js';
import { isTemporaryFailureType, type FailureType } from '../workflows/failure-types.js';

/** A failure of our own making: its message is already safe. */
export function failure(
  type: FailureType,
  message: string,
  options: { nextRetryDelayMs?: number; details?: unknown[] } = {},
) {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !isTemporaryFailureType(type),
    ...(options.nextRetryDelayMs !== undefined ? { nextRetryDelay: options.nextRetryDelayMs } : {}),
    ...(options.details ? { details: options.details } : {}),
  });
}

/** A provider's answer in the workflow's vocabulary. ProviderError messages are built from status and codes. */
function providerFailure(error: ProviderError): ApplicationFailure {
  switch (error.kind) {
    case 'invalid_grant':
      return failure('CredentialRejected', error.message);
    case 'rejected':
      return failure('ProviderRejected', error.message);
    case 'rate_limited':
      return failure('ProviderRateLimited', error.message, { nextRetryDelayMs: error.retryAfterMs });
    case 'unavailable':
      return failure('ProviderUnavailable', error.message, { nextRetryDelayMs: error.retryAfterMs });
  }
}

const nameOf = (error: unknown): string => {
  const name = error instanceof Error ? error.name : typeof error;
  return /^[A-Za-z][A-Za-z0-9_]{0,60}$/.test(name) ? name : 'Error';
};

/** Anything an activity threw, as a classified failure with a safe message. */
export function classify(error: unknown, activity: string): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ProviderError) return providerFailure(error);
  if (error instanceof DecryptionError) {
    return failure('CredentialUnreadable', `${activity}: a stored credential could not be opened`);
  }
  const name = nameOf(error);
  const code = errorCode(error);
  const what = code ? `${name} ${code}` : name;
  const unavailable = dependencyUnavailable(error);
  if (unavailable === 'key service') {
    return failure('KeyServiceUnavailable', `${activity}: the key service could not be used (${what})`);
  }
  if (unavailable === 'database') {
    return failure('DatabaseUnavailable', `${activity}: a dependency is unavailable (${what})`);
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    // Any other SQLSTATE (22: data exception, 23: integrity) refuses this data, now and later.
    return failure('InvalidData', `${activity}: the database refused the data (${code})`);
  }
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
    return failure('InternalError', `${activity} failed (${name})`);
  }
  return ApplicationFailure.create({
    type: 'InternalError' satisfies FailureType,
    message: `${activity} failed (${what})`,
    nonRetryable: false,
  });
}

type ActivityFunction = (...args: never[]) => Promise<unknown>;

/**
 * Every activity of `activities`, each raising only classified failures; a cancelled activity reports its
 * cancellation. The original error is logged for operators (scrubbed by the logger), never returned.
 */
export function withClassifiedFailures<T extends Record<string, ActivityFunction>>(
  activities: T,
  logger: Logger,
): T {
  const wrapped: Record<string, ActivityFunction> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const beat = heartbeats();
      try {
        return await activity(...args);
      } catch (error) {
        if (cancelled()) throw new CancelledFailure('the activity was cancelled');
        const classified = classify(error, name);
        if (!(error instanceof ApplicationFailure)) {
          logger.warn({ activity: name, type: classified.type, err: error }, 'activity failed');
        }
        throw classified;
      } finally {
        clearInterval(beat);
      }
    };
  }
  return wrapped as T;
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a test calling the function directly)
  }
}

function cancelled(): boolean {
  return currentContext()?.cancellationSignal.aborted ?? false;
}

/** How often an activity tells Temporal it is alive, which is also how it learns of a cancellation. */
const HEARTBEAT_EVERY_MS = 1_000;

/** Heartbeats for the whole of a (non-local) activity, so that a cancellation reaches it within seconds. */
function heartbeats(): NodeJS.Timeout | undefined {
  const context = currentContext();
  if (!context || context.info.isLocal) return undefined;
  context.heartbeat();
  return setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
}

/**
 * Runs a provider call so that the workflow can stop it: the call gets a signal that aborts when the activity
 * is cancelled (a disconnect or deactivation took precedence) or when `timeoutMs` has passed.
 */
export function cancellableCall<T>(timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const context = currentContext();
  return call(context ? AbortSignal.any([timeout, context.cancellationSignal]) : timeout);
}
