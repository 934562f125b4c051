// Rate limits on the routes that cost a provider call or a workflow: connect, the OAuth callback and
// refresh. Over the limit the answer is 429 `rate_limited` with Retry-After. Callers are told apart by a
// hash of their bearer token (never the token itself), or by address when they have none.
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { ApiError } from './errors.js';

export interface RateLimitSettings {
  connectPerMinute: number;
  callbackPerMinute: number;
  refreshPerMinute: number;
}

function limiter(perMinute: number, what: string): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const authorization = req.headers.authorization;
      if (authorization) return createHash('sha256').update(authorization).digest('hex');
      return ipKeyGenerator(req.ip ?? 'unknown');
    },
    handler: (req, res, next) => {
      const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 60;
      res.setHeader('Retry-After', String(seconds));
      next(new ApiError('rate_limited', `too many ${what} requests; retry after ${seconds} s`));
    },
  });
}

/** Mounts the limits before the routes they guard. */
export function rateLimits(
  settings: RateLimitSettings,
): Array<[method: string, path: string, RequestHandler]> {
  return [
    ['post', '/v1/connections', limiter(settings.connectPerMinute, 'connect')],
    ['get', '/v1/oauth/callback', limiter(settings.callbackPerMinute, 'callback')],
    ['post', '/v1/connections/:id/refresh', limiter(settings.refreshPerMinute, 'refresh')],
  ];
}
