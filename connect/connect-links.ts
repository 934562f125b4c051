// Connect links: `<PUBLIC_URL>/connect/<token>`, where the token is a bearer secret (whoever holds the link
// may open the page). A token is 32 random bytes, base64url; only its SHA-256 is ever stored or looked up.
// A link minted for a health event derives its token from a key and the notice instead, so that a retried
// delivery mints the same link rather than another.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';

export const connectTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a connect link token');

export function newConnectToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The only form in which a connect token is stored or looked up. */
export function hashConnectToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function connectUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/connect/${token}`;
}

/** A token that is the same every time for the same key and purpose (HMAC-SHA256, base64url). */
export function derivedConnectToken(key: string, purpose: string): string {
  return createHmac('sha256', key).update(purpose).digest('base64url');
}
