// Rows that outlive their use are purged: authorization states past their expiry (a callback that presents
// one is refused whether or not the row is still there), return targets whose state is gone, and the
// Idempotency-Keys of creates once their time to live has passed. Run periodically by the worker
// (worker/maintenance.ts); each delete is one statement, so a purge never holds a long transaction.
import type { Db } from '../db/database.js';

/** How long after its expiry a state is kept: long enough for a code exchange still retrying with it. */
export const STATE_GRACE_MS = 3_600_000;

export interface PurgeResult {
  states: number;
  returnTargets: number;
  idempotencyKeys: number;
}

export async function purgeExpiredRows(
  db: Db,
  options: { now?: number; idempotencyKeyTtlMs: number },
): Promise<PurgeResult> {
  const now = options.now ?? Date.now();
  const states = await db('oauth_states')
    .where('expires_at', '<', new Date(now - STATE_GRACE_MS))
    .delete();
  const returnTargets = await db('oauth_return_targets')
    .whereNotExists((q) =>
      q
        .select(db.raw('1'))
        .from('oauth_states')
        .whereRaw('oauth_states.state_hash = oauth_return_targets.state_hash'),
    )
    .delete();
  const idempotencyKeys = await db('connection_create_requests')
    .where('created_at', '<', new Date(now - options.idempotencyKeyTtlMs))
    .delete();
  return { states, returnTargets, idempotencyKeys };
}
