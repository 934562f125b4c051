// Rate limits on everything that makes the service call a provider (or start a workflow command that does):
// connect and re-authorize, the OAuth callback's code exchange, refreshes (asked for, or made by the token
// route and the proxy on their own), key rotation, disconnect (revocation), custom provider registration
// (DNS lookups), and proxied calls. A route declares its limit by name in the registry; the read path asks
// for one before a refresh. Authenticated callers are counted by who they are (workspace and sub, from the
// verified token), never by the header's spelling; public routes by client address (Express's `req.ip`,
// which honours TRUST_PROXY). Counters live in this process's memory (rate-limiter-flexible), one window a
// minute. Over a limit the answer is 429 `rate_limited` with Retry-After; a key never holds a token.
import type { Request } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DEFAULT_RATE_LIMITS_PER_MINUTE } from '../config/config.js';
import type { Claims } from './auth.js';
import { ApiError } from './errors.js';

export const rateLimitNames = ['connect', 'callback', 'refresh', 'change', 'proxy'] as const;
export type RateLimitName = (typeof rateLimitNames)[number];

/** Requests a minute, per caller (per client address on public routes). */
export type RateLimitSettings = Record<RateLimitName, number>;

export const defaultRateLimits: RateLimitSettings = DEFAULT_RATE_LIMITS_PER_MINUTE;

const what: Record<RateLimitName, string> = {
  connect: 'connect',
  callback: 'OAuth callback',
  refresh: 'refresh',
  change: 'provider change',
  proxy: 'proxied',
};

/** Whose budget a request spends: the verified caller, or the client address of a public route. */
export function callerKey(caller: Claims): string {
  return JSON.stringify(['caller', caller.workspace, caller.sub]);
}

export function addressKey(req: Request): string {
  return JSON.stringify(['address', req.ip ?? req.socket.remoteAddress ?? 'unknown']);
}

/** A connection's own budget, for the refreshes the read path makes on its own. */
export function connectionKey(connectionId: string): string {
  return JSON.stringify(['connection', connectionId]);
}

export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimits {
  private readonly limiters: Record<RateLimitName, RateLimiterMemory>;

  constructor(readonly settings: RateLimitSettings = defaultRateLimits) {
    this.limiters = Object.fromEntries(
      rateLimitNames.map((name) => [name, new RateLimiterMemory({ points: settings[name], duration: 60 })]),
    ) as Record<RateLimitName, RateLimiterMemory>;
  }

  /** Spends one request of each key's budget; refused when any of them is spent. */
  async take(name: RateLimitName, ...keys: string[]): Promise<Admission> {
    let wait = 0;
    for (const key of keys) {
      try {
        await this.limiters[name].consume(key);
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        wait = Math.max(wait, refusal.msBeforeNext);
      }
    }
    return wait > 0
      ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) }
      : { allowed: true };
  }

  /** As take(), but over the limit it throws the 429. */
  async enforce(name: RateLimitName, ...keys: string[]): Promise<void> {
    const admission = await this.take(name, ...keys);
    if (!admission.allowed) throw rateLimited(name, admission.retryAfterSeconds);
  }
}

export function rateLimited(name: RateLimitName, retryAfterSeconds: number): ApiError {
  return new ApiError(
    'rate_limited',
    `too many ${what[name]} requests; retry after ${retryAfterSeconds} s`,
    undefined,
    { 'Retry-After': String(retryAfterSeconds) },
  );
}
