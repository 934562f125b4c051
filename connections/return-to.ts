// Where the browser goes after an OAuth callback. Only targets on the service's own origin are accepted
// (a path starting with a single '/', or an absolute URL with the public URL's origin), so the callback can
// never be used as an open redirect. A target is bound to one authorization request by the hash of its
// state, exactly as oauth_states is, and is read back only by the callback that presents that state.
import type { Db } from '../db/database.js';
import { hashState } from './oauth-state-hash.js';
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
  outcome: { connectionId: string; status: string },
): string {
  const url = new URL(returnTo, new URL(publicUrl).origin);
  url.searchParams.set('connection', outcome.connectionId);
  url.searchParams.set('status', outcome.status);
  return url.toString();
}

function stateOf(authorizationUrl: string): string | undefined {
  return new URL(authorizationUrl).searchParams.get('state') ?? undefined;
}

export const returnTargets = {
  async remember(
    db: Db,
    ref: { workspaceId: string; connectionId: string },
    authorizationUrl: string,
    returnTo: string,
  ): Promise<void> {
    const state = stateOf(authorizationUrl);
    if (!state) return;
    await db('oauth_return_targets').insert({
      state_hash: hashState(state),
      connection_id: ref.connectionId,
      workspace_id: ref.workspaceId,
      return_to: returnTo,
    });
  },

  async find(db: Db, state: string): Promise<{ connectionId: string; returnTo: string } | undefined> {
    const row = await db('oauth_return_targets')
      .where({ state_hash: hashState(state) })
      .first();
    return row ? { connectionId: row.connection_id, returnTo: row.return_to } : undefined;
  },

  async forget(db: Db, state: string): Promise<void> {
    await db('oauth_return_targets')
      .where({ state_hash: hashState(state) })
      .delete();
  },
};
