// Where the browser goes after an OAuth callback. Only targets on the service's own origin are accepted
// (a path starting with a single '/', or an absolute URL with the public URL's origin, or an allowed
// origin), so the callback can never be used as an open redirect. A target travels with its setup (the
// workflow's beginAuthorization) and comes back in completeAuthorization's answer, bound to that one
// authorization request.
import type { Db } from '../db/database.js';
import { hashState } from './oauth-state-store.js';
import { ApiError } from '../api/errors.js';

/**
 * A return address, if allowed: a path on this service, or an absolute URL on its own origin or on one of
 * the configured `allowedOrigins` (the platform's own front end, RETURN_TO_ORIGINS).
 */
export function checkReturnTo(returnTo: string, publicUrl: string, allowedOrigins: string[] = []): string {
  const refuse = () =>
    new ApiError('invalid_request', 'returnTo must be a path on this service or a URL on an allowed origin', [
      { path: 'body.returnTo', message: 'not an allowed return address' },
    ]);
  // Backslashes and control characters: browsers treat '/\host' as '//host'.
  if (/[\\\s]/.test(returnTo) || [...returnTo].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')) {
    throw refuse();
  }
  const origin = new URL(publicUrl).origin;
  if (returnTo.startsWith('/')) {
    if (returnTo.startsWith('//')) throw refuse();
    const resolved = new URL(returnTo, origin);
    if (resolved.origin !== origin) throw refuse();
    return returnTo;
  }
  let url: URL;
  try {
    url = new URL(returnTo);
  } catch {
    throw refuse();
  }
  const allowed = url.origin === origin || allowedOrigins.includes(url.origin);
  if (!allowed || url.username || url.password) throw refuse();
  return url.toString();
}

/** The target as an absolute URL, with what happened appended. */
export function returnUrl(
  returnTo: string,
  publicUrl: string,
  outcome: { connectionId: string; status: string; reason?: string; existingConnectionId?: string },
): string {
  const url = new URL(returnTo, new URL(publicUrl).origin);
  url.searchParams.set('connection', outcome.connectionId);
  url.searchParams.set('status', outcome.status);
  // An authorization that ended without new tokens says why, and which connection to reconnect instead.
  if (outcome.reason) url.searchParams.set('reason', outcome.reason);
  if (outcome.existingConnectionId) url.searchParams.set('existing_connection', outcome.existingConnectionId);
  return url.toString();
}

/**
 * The targets of authorizations begun before setups carried their returnTo (oauth_return_targets). New setups
 * write nothing here: the connection's workflow answers the callback with its target. Kept, read once and
 * deleted, for the setups still in flight from before; unused once the last has expired (a later migration
 * may drop the table).
 */
export const returnTargets = {
  /** The target remembered for this state and connection, deleted as it is read. */
  async take(db: Db, state: string, connectionId: string): Promise<string | undefined> {
    const [row] = await db('oauth_return_targets')
      .where({ state_hash: hashState(state), connection_id: connectionId })
      .delete()
      .returning('return_to');
    return row?.return_to;
  },
};
