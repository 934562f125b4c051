// Which errors mean that a dependency cannot serve right now (Postgres restarting, a network that failed, the
// key service down), as opposed to a request or data that is wrong. Shared by the activities (a temporary
// failure, retried) and the API (503, never a 500): during an outage and its recovery, callers are told to
// try again. Judged by error names and codes only.
import { KeyProviderError } from '../vault/key-provider.js';

/** SQLSTATE classes that mean "the database cannot serve now" (connection, resources, operator intervention). */
const unavailableSqlStates = /^(08|53|57|58|40)/;
/** Errno codes of a network that failed. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** node-postgres's errors for a connection that went away carry no code, only these fixed words. */
const lostConnection =
  /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/;

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}

export function dependencyUnavailable(error: unknown): 'database' | 'key service' | undefined {
  if (
    error instanceof KeyProviderError ||
    typeof (error as { $metadata?: unknown } | null)?.$metadata === 'object'
  ) {
    return 'key service';
  }
  const code = errorCode(error);
  if (error instanceof Error && (error.name === 'KnexTimeoutError' || lostConnection.test(error.message))) {
    return 'database';
  }
  if (code && (networkCodes.has(code) || unavailableSqlStates.test(code))) return 'database';
  return undefined;
}
