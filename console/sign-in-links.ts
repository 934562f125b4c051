// Console sign-in links: `<PUBLIC_URL>/console/sign-in?token=<JWT>`, a token exchanged once for a session.
// A workspace sign-in token is verified exactly as an API bearer token is (api/auth.ts: the same secret or
// JWKS, issuer and audience), and must also carry a `jti`, be valid for at most 15 minutes (exp − iat) and
// name a person (owner, admin or member: agents never sign in). An operator sign-in token is an operator JWT
// (api/operator-auth.ts) with the same two extra rules. A token is spent by the hash of its issuer and jti
// (console-session-store.ts). With AUTH_JWKS_URL the platform mints these tokens itself (its handover);
// with the embedded default, `npm start` and `npm run token -- --console` mint them here.
import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { checkLifetime, mintToken, type TokenChecker } from '../api/auth.js';
import { mintOperatorToken, type OperatorVerifier } from '../api/operator-auth.js';
import { OPERATOR_AUDIENCE } from '../config/config.js';
import type { ConsoleCaller, ConsoleRole } from './console-page.js';

/** The longest a sign-in token may be valid for, from its `iat` to its `exp`. */
export const SIGN_IN_MAX_LIFETIME_SECONDS = 900;

const consoleRoles: readonly string[] = ['owner', 'admin', 'member'] satisfies ConsoleRole[];

/** A sign-in token that verified: who it signs in, and the hash under which it is spent. */
export type SignIn = ({ kind: 'workspace'; caller: ConsoleCaller } | { kind: 'operator'; sub: string }) & {
  tokenHash: string;
  expiresAt: Date;
};

export type SignInVerifier = (token: string) => Promise<SignIn>;

export class InvalidSignInError extends Error {
  override name = 'InvalidSignInError';
}

/** The hash a sign-in token is spent under: its issuer and id, never the token. */
export function signInTokenHash(issuer: string, jti: string): string {
  return createHash('sha256')
    .update(JSON.stringify([issuer, jti]))
    .digest('hex');
}

function spendable(payload: Pick<JWTPayload, 'jti' | 'iat' | 'exp'>, issuer: string) {
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 200) {
    throw new InvalidSignInError('a sign-in token needs a jti');
  }
  checkLifetime(payload, Date.now(), SIGN_IN_MAX_LIFETIME_SECONDS);
  return { tokenHash: signInTokenHash(issuer, payload.jti), expiresAt: new Date(payload.exp! * 1000) };
}

/** Verifies a sign-in token: an operator's (its header's `typ` says so) or a workspace person's. */
export function createSignInVerifier(deps: {
  checkToken: TokenChecker;
  verifyOperator: OperatorVerifier;
}): SignInVerifier {
  return async (token) => {
    try {
      if (decodeProtectedHeader(token).typ === 'operator+jwt') {
        const { sub } = await deps.verifyOperator(token);
        // Verified just above; read for its jti and times.
        return { kind: 'operator', sub, ...spendable(decodeJwt(token), OPERATOR_AUDIENCE) };
      }
      const { claims, payload } = await deps.checkToken(token);
      if (!consoleRoles.includes(claims.role)) throw new InvalidSignInError('agents do not sign in');
      const caller = { sub: claims.sub, workspace: claims.workspace, role: claims.role as ConsoleRole };
      return { kind: 'workspace', caller, ...spendable(payload, payload.iss ?? '') };
    } catch {
      throw new InvalidSignInError('the sign-in token is invalid or expired');
    }
  };
}

/** A verifier that refuses every token: a composition without sign-in (sessions already stored still work). */
export const noSignIn: SignInVerifier = () =>
  Promise.reject(new InvalidSignInError('sign-in is not configured'));

export function signInUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/console/sign-in?token=${encodeURIComponent(token)}`;
}

export interface SignInLinkOptions {
  /** Seconds the link works; at most (and by default) 15 minutes. */
  lifetimeSeconds?: number;
  issuer?: string;
  audience?: string;
  /** AUTH_JWT_MAX_LIFETIME_SECONDS, when it is shorter than 15 minutes. */
  maxLifetimeSeconds?: number;
}

function lifetimeOf(options: Pick<SignInLinkOptions, 'lifetimeSeconds' | 'maxLifetimeSeconds'>): string {
  const max = Math.min(SIGN_IN_MAX_LIFETIME_SECONDS, options.maxLifetimeSeconds ?? Infinity);
  return `${Math.min(options.lifetimeSeconds ?? max, max)}s`;
}

/** A one-time sign-in link for a person, signed with the workspace tokens' HS256 secret. */
export async function mintSignInLink(
  publicUrl: string,
  secret: Uint8Array,
  caller: ConsoleCaller,
  options: SignInLinkOptions = {},
): Promise<string> {
  const token = await mintToken(secret, caller, {
    expiresIn: lifetimeOf(options),
    issuer: options.issuer,
    audience: options.audience,
    jti: randomUUID(),
  });
  return signInUrl(publicUrl, token);
}

/** A one-time operator sign-in link, signed with the operator secret. */
export async function mintOperatorSignInLink(
  publicUrl: string,
  operatorSecret: Uint8Array,
  sub: string,
  options: Pick<SignInLinkOptions, 'lifetimeSeconds' | 'maxLifetimeSeconds'> = {},
): Promise<string> {
  const token = await mintOperatorToken(operatorSecret, sub, {
    expiresIn: lifetimeOf(options),
    jti: randomUUID(),
  });
  return signInUrl(publicUrl, token);
}
