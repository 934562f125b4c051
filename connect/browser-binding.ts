// The browser cookie that binds a browser flow to the browser that started it: a random id, HttpOnly,
// SameSite=Lax (so it comes back on the provider's top-level redirect to the callback), Secure and
// `__Host-` prefixed when the service is served over https. Only its SHA-256 is stored (on a connect session
// and an OAuth state); the id itself also keys the CSRF tokens of the connect page's forms.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parse, serialize } from 'cookie';
import type { Request, Response } from 'express';

const COOKIE_NAME = 'connections_browser';
const MAX_AGE_SECONDS = 24 * 60 * 60;
const browserIdPattern = /^[A-Za-z0-9_-]{43}$/;

function secure(publicUrl: string): boolean {
  return new URL(publicUrl).protocol === 'https:';
}

/** The cookie's name for this service: `__Host-` prefixed on https (the prefix requires Secure). */
export function browserCookieName(publicUrl: string): string {
  return secure(publicUrl) ? `__Host-${COOKIE_NAME}` : COOKIE_NAME;
}

export const BROWSER_COOKIE = COOKIE_NAME;

/** The browser's id from its cookie, when it sent a well-formed one. */
export function browserIdOf(req: Request, publicUrl: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  let cookies: Record<string, string | undefined>;
  try {
    cookies = parse(header);
  } catch {
    return undefined;
  }
  const id = cookies[browserCookieName(publicUrl)];
  return id !== undefined && browserIdPattern.test(id) ? id : undefined;
}

/** The browser's id, set as a new cookie on `res` when the browser has none. */
export function ensureBrowserId(req: Request, res: Response, publicUrl: string): string {
  const existing = browserIdOf(req, publicUrl);
  if (existing) return existing;
  const id = randomBytes(32).toString('base64url');
  res.append(
    'Set-Cookie',
    serialize(browserCookieName(publicUrl), id, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: secure(publicUrl),
      maxAge: MAX_AGE_SECONDS,
    }),
  );
  return id;
}

/** The only form in which a browser id is stored. */
export function hashBrowserId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** The CSRF token of a connect session's forms in this browser. */
export function csrfToken(browserId: string, sessionId: string): string {
  return createHmac('sha256', browserId).update(`csrf:${sessionId}`).digest('base64url');
}

export function checkCsrf(browserId: string, sessionId: string, given: string): boolean {
  const expected = Buffer.from(csrfToken(browserId, sessionId));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
