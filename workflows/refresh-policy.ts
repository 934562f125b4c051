// When an OAuth access token is replaced: a pure function of the token's lifetime, the configured margin and
// floor, and what happened to the last attempts, shared by the connection workflow (its refresh timer) and the
// credential read path (whether a token must be replaced before it is handed out), so both agree. It is safe
// for any lifetime a provider sends: a margin never larger than half the lifetime (a 60-second token is not
// refreshed in a loop because the margin is five minutes), a floor between two attempts that doubles with every
// failure in a row, and an answer that says when the token cannot be kept ahead of its expiry.

/** The longest lifetime believed: an `expires_in` beyond it (a year) is taken as this. */
export const MAX_TOKEN_LIFETIME_MS = 366 * 86_400_000;
/** The floor doubles with each failed attempt in a row, up to this. */
export const MAX_REFRESH_BACKOFF_MS = 3_600_000;
/** The floor of running connections started before it was configurable. */
export const DEFAULT_REFRESH_FLOOR_MS = 30_000;

export interface RefreshTiming {
  /** REFRESH_MARGIN_SECONDS: how long before expiry a token is replaced (at most half its lifetime). */
  marginMs: number;
  /** REFRESH_JITTER_SECONDS: up to this much earlier, so that tokens issued together are not refreshed together. */
  jitterMs: number;
  /** REFRESH_MIN_INTERVAL_SECONDS: the least time between two refresh attempts of one connection. */
  floorMs: number;
}

export interface TokenTimes {
  /** When the token expires (epoch ms); undefined when the provider gave no lifetime. */
  expiresAt?: number;
  /** When it was obtained; undefined for tokens stored before this was recorded. */
  obtainedAt?: number;
}

/** How long before expiry a token is replaced: the margin, never more than half the token's lifetime. */
export function refreshLeadMs(token: TokenTimes, marginMs: number): number {
  if (token.expiresAt === undefined || token.obtainedAt === undefined) return marginMs;
  return Math.min(marginMs, Math.max(0, token.expiresAt - token.obtainedAt) / 2);
}

/** The least time before the next attempt: the floor, doubled for each failure in a row (bounded). */
export function attemptFloorMs(floorMs: number, failuresInARow: number): number {
  return Math.min(floorMs * 2 ** Math.min(failuresInARow, 20), Math.max(floorMs, MAX_REFRESH_BACKOFF_MS));
}

export interface RefreshSchedule {
  /** When to refresh (epoch ms). */
  at: number;
  /** False when the floor puts the refresh at or after expiry: the provider's tokens live too briefly. */
  keptAhead: boolean;
}

/** When the scheduled refresh of a token is due. `random` is in [0, 1). */
export function scheduleRefresh(input: {
  token: TokenTimes & { expiresAt: number };
  now: number;
  timing: RefreshTiming;
  lastAttemptAt?: number;
  failuresInARow: number;
  random: number;
}): RefreshSchedule {
  const { token, timing } = input;
  const jitter = Math.floor(input.random * timing.jitterMs);
  const lead = refreshLeadMs(token, timing.marginMs + jitter);
  const earliest =
    input.lastAttemptAt === undefined
      ? input.now
      : input.lastAttemptAt + attemptFloorMs(timing.floorMs, input.failuresInARow);
  const byRule = token.expiresAt - lead;
  const at = Math.max(byRule, earliest, input.now);
  // Only the floor can make a token outlive its refresh: an overdue refresh (a worker was down) is not that.
  const keptAhead = !(earliest > byRule && earliest >= token.expiresAt);
  return { at, keptAhead };
}

/** Whether a token must be replaced before it is handed out: it is due by the same rule as the timer. */
export function dueForRefresh(token: TokenTimes, now: number, marginMs: number): boolean {
  if (token.expiresAt === undefined) return false;
  return token.expiresAt - now <= refreshLeadMs(token, marginMs);
}

/** An `expires_in` (seconds, as the provider sent it) as a lifetime in ms: undefined unless it is a number. */
export function lifetimeMs(expiresIn: unknown): number | undefined {
  if (typeof expiresIn !== 'number' || Number.isNaN(expiresIn)) return undefined;
  return Math.min(Math.max(expiresIn * 1000, 0), MAX_TOKEN_LIFETIME_MS);
}
