// Bearer JWTs: the claims the API trusts, minted for the embedded default and `npm run token`, verified
// with a shared secret (HS256) or a JWKS URL. The secret itself is never logged or returned.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { Config } from '../config/config.js';

export const roles = ['owner', 'admin', 'member', 'agent'] as const;
export type Role = (typeof roles)[number];

const id = z.string().min(1).max(200);
export const claimsSchema = z
  .object({
    sub: id,
    workspace: id,
    role: z.enum(roles),
    on_behalf_of: id.optional(),
  })
  .refine((claims) => claims.role === 'agent' || claims.on_behalf_of === undefined, {
    message: 'only agents act on behalf of a user',
    path: ['on_behalf_of'],
  });
export type Claims = z.infer<typeof claimsSchema>;

/** The HS256 secret: AUTH_JWT_SECRET, or one created (mode 0600) in the data folder on first start. */
export async function loadJwtSecret(auth: Config['auth']): Promise<Uint8Array> {
  if (auth.jwtSecret) return new TextEncoder().encode(auth.jwtSecret);
  try {
    return new TextEncoder().encode((await readFile(auth.jwtSecretFile, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(path.dirname(auth.jwtSecretFile), { recursive: true });
  await writeFile(auth.jwtSecretFile, secret + '\n', { mode: 0o600, flag: 'wx' });
  return new TextEncoder().encode(secret);
}

export async function mintToken(
  secret: Uint8Array,
  claims: Claims,
  options: { expiresIn?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  const { sub, ...rest } = claimsSchema.parse(claims);
  let jwt = new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(secret);
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

export type TokenVerifier = (token: string) => Promise<Claims>;

export async function createTokenVerifier(auth: Config['auth']): Promise<TokenVerifier> {
  const key: Uint8Array | JWTVerifyGetKey = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl))
    : await loadJwtSecret(auth);
  const options = {
    issuer: auth.issuer,
    audience: auth.audience,
    algorithms: auth.jwksUrl ? ['RS256', 'ES256', 'EdDSA', 'PS256'] : ['HS256'],
  };
  // Agents send the same token with every call: a token that verified is trusted again, without the
  // signature check, until it expires or for VERIFIED_TOKEN_TTL_MS, whichever comes first (so a key removed
  // from the JWKS stops being honoured within that time). Bounded; the oldest entries go first.
  const verified = new Map<string, { claims: Claims; until: number }>();
  return async (token) => {
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && hit.until > now) return hit.claims;
    if (hit) verified.delete(token);
    let claims: Claims;
    let expiresAt: number;
    try {
      const { payload } = await (key instanceof Uint8Array
        ? jwtVerify(token, key, options)
        : jwtVerify(token, key, options));
      claims = claimsSchema.parse(payload);
      expiresAt = payload.exp === undefined ? Number.POSITIVE_INFINITY : payload.exp * 1000;
    } catch {
      throw new InvalidTokenError('the bearer token is invalid or expired');
    }
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { claims, until: Math.min(expiresAt, now + VERIFIED_TOKEN_TTL_MS) });
    return claims;
  };
}

export const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKENS_MAX = 10_000;
