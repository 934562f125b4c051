// Workspace bearer JWTs: the claims the API trusts, minted for the embedded default and `npm run token`,
// verified with a shared secret (HS256) or a JWKS URL (then with the issuer and audience required). Every
// token must expire, and within AUTH_JWT_MAX_LIFETIME_SECONDS of being issued. Operator tokens are another
// credential (api/operator-auth.ts): this verifier refuses their audience. The console's sign-in tokens are
// workspace tokens too, verified by the same checker (console/sign-in-links.ts adds its own rules). The
// secret itself is never logged or returned.
import { randomBytes } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeJwt,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import { DEFAULT_JWT_MAX_LIFETIME_SECONDS, OPERATOR_AUDIENCE, type AuthSettings } from '../config/config.js';
import { readOrCreateSecretFile } from '../config/secret-file.js';
import { knownSecrets } from '../logging/known-secrets.js';

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

/**
 * An HS256 secret: the configured value, or the embedded default's file (created with mode 0600 on first
 * use). Registered with the log scrubber either way.
 */
export async function loadSecret(value: string | undefined, file: string): Promise<Uint8Array> {
  const secret = value ?? (await readOrCreateSecretFile(file, () => randomBytes(32).toString('base64url')));
  knownSecrets.add(secret, { pinned: true });
  return new TextEncoder().encode(secret);
}

/** The workspace tokens' HS256 secret: AUTH_JWT_SECRET, or `DATA_DIR/jwt-secret`. */
export function loadJwtSecret(auth: Pick<AuthSettings, 'jwtSecret' | 'jwtSecretFile'>): Promise<Uint8Array> {
  return loadSecret(auth.jwtSecret, auth.jwtSecretFile);
}

export class TokenLifetimeError extends Error {
  override name = 'TokenLifetimeError';
}

/**
 * Refuses a token without `exp`, or valid for longer than the maximum: from `iat` to `exp`, or from now
 * when `iat` is missing or in the future (so a future `iat` buys no extra time).
 */
export function checkLifetime(payload: JWTPayload, nowMs: number, maxLifetimeSeconds: number): void {
  if (typeof payload.exp !== 'number') throw new TokenLifetimeError('the token has no expiry (exp)');
  const now = Math.floor(nowMs / 1000);
  const from = typeof payload.iat === 'number' ? Math.min(payload.iat, now) : now;
  if (payload.exp - from > maxLifetimeSeconds) {
    throw new TokenLifetimeError(
      `the token is valid for ${payload.exp - from} s, longer than the maximum of ${maxLifetimeSeconds} s ` +
        '(AUTH_JWT_MAX_LIFETIME_SECONDS)',
    );
  }
}

export async function mintToken(
  secret: Uint8Array,
  claims: Claims,
  options: {
    expiresIn?: string;
    issuer?: string;
    audience?: string;
    maxLifetimeSeconds?: number;
    /** A token's id (`jti`): the console's sign-in tokens carry one, spent once. */
    jti?: string;
  } = {},
): Promise<string> {
  const { sub, ...rest } = claimsSchema.parse(claims);
  let jwt = new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  if (options.jti) jwt = jwt.setJti(options.jti);
  const token = await jwt.sign(secret);
  checkLifetime(decodeJwt(token), Date.now(), options.maxLifetimeSeconds ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS);
  return token;
}

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header ? /^Bearer ([^\s]+)$/i.exec(header)?.[1] : undefined;
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

export type TokenVerifier = (token: string) => Promise<Claims>;

/** A token that verified: its claims, and the payload's registered claims (the console's sign-in reads jti). */
export interface VerifiedToken {
  claims: Claims;
  payload: Pick<JWTPayload, 'iss' | 'jti' | 'iat' | 'exp'> & { exp: number };
}
/** Verifies a token's signature, issuer, audience, expiry and lifetime, and parses its claims; no cache. */
export type TokenChecker = (token: string) => Promise<VerifiedToken>;

/**
 * The one verification of workspace tokens (the key or the JWKS loaded once): API bearer tokens go through
 * it with a cache (createTokenVerifier), the console's sign-in tokens without one.
 */
export async function createTokenChecker(
  auth: AuthSettings,
  options: { now?: () => number } = {},
): Promise<TokenChecker> {
  const now = options.now ?? Date.now;
  const maxLifetime = auth.maxLifetimeSeconds ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS;
  let key: Uint8Array | JWTVerifyGetKey;
  if (auth.jwksUrl) {
    // loadConfig requires both with a JWKS; a caller building settings by hand gets the same rule.
    if (!auth.issuer || !auth.audience) throw new Error('a JWKS verifier needs an issuer and an audience');
    // jose keeps fetched keys for 10 minutes by default: no longer than a verified token is trusted here.
    key = createRemoteJWKSet(new URL(auth.jwksUrl), { cacheMaxAge: VERIFIED_TOKEN_TTL_MS });
  } else key = await loadJwtSecret(auth);
  const verifyOptions = {
    issuer: auth.issuer,
    audience: auth.audience,
    algorithms: auth.jwksUrl ? ['RS256', 'ES256', 'EdDSA', 'PS256'] : ['HS256'],
    requiredClaims: ['exp'],
  };
  return async (token) => {
    const at = now();
    try {
      const checks = { ...verifyOptions, currentDate: new Date(at) };
      const { payload } = await (key instanceof Uint8Array
        ? jwtVerify(token, key, checks)
        : jwtVerify(token, key, checks));
      const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
      if (audiences.includes(OPERATOR_AUDIENCE)) throw new InvalidTokenError('an operator token');
      checkLifetime(payload, at, maxLifetime);
      const { iss, jti, iat, exp } = payload;
      return { claims: claimsSchema.parse(payload), payload: { iss, jti, iat, exp: exp! } };
    } catch {
      throw new InvalidTokenError('the bearer token is invalid or expired');
    }
  };
}

export async function createTokenVerifier(
  auth: AuthSettings,
  options: { now?: () => number } = {},
): Promise<TokenVerifier> {
  return cachedTokenVerifier(await createTokenChecker(auth, options), options);
}

/**
 * Agents send the same token with every call: a token that verified is trusted again, without the signature
 * check, until it expires or for VERIFIED_TOKEN_TTL_MS, whichever comes first (so a key removed from the
 * JWKS stops being honoured within that time). Bounded; the oldest entries go first.
 */
export function cachedTokenVerifier(
  check: TokenChecker,
  options: { now?: () => number } = {},
): TokenVerifier {
  const now = options.now ?? Date.now;
  const verified = new Map<string, { claims: Claims; until: number }>();
  return async (token) => {
    const at = now();
    const hit = verified.get(token);
    if (hit && hit.until > at) return hit.claims;
    if (hit) verified.delete(token);
    const { claims, payload } = await check(token);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { claims, until: Math.min(payload.exp * 1000, at + VERIFIED_TOKEN_TTL_MS) });
    return claims;
  };
}

export const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKENS_MAX = 10_000;
