// A token endpoint's answer read through the provider's mapping (`tokenResponse` in provider-config.ts):
// fields where the provider puts them (Slack's user token under `authed_user`), token types that mean bearer
// normalised to `bearer`, nulls as absent, scopes separated by commas or spaces, errors reported in the body
// at HTTP 200 (Slack's `ok: false`), a default lifetime where `expires_in` is absent, the refresh token's
// lifetime, and an `id_token`'s issuer and audience. Every refusal is fixed words and the provider's error
// code at most: the body may hold the tokens, or echo what was sent.
import { decodeJwt, type JWTPayload } from 'jose';
import { lifetimeMs } from '../workflows/refresh-policy.js';
import { readPath } from './json-path.js';
import type { OAuthProviderConfig, TokenResponseMapping } from './provider-config.js';
import { ProviderError, safeErrorCode } from './provider-error.js';
import { readJsonAnswer } from './response-body.js';
import { fillTemplate } from './templates.js';

export interface TokenSet {
  accessToken: string;
  /** Always `bearer`: the service sends `Authorization: Bearer` whatever name the provider gave it. */
  tokenType: string;
  refreshToken?: string;
  /** Epoch ms; absent when the provider gives no lifetime and the catalogue documents none. */
  expiresAt?: number;
  /** When the token endpoint answered (epoch ms). */
  obtainedAt: number;
  scopes?: string[];
  /**
   * When the refresh token lapses (epoch ms): said by the answer, or its documented lifetime from this answer
   * (a new refresh token, or an idle lifetime renewed by this refresh); absent when not known from here.
   */
  refreshTokenExpiresAt?: number;
  /**
   * A value of the parsed answer at a catalogue path (provider data, the account's id). Not enumerable: it is
   * never serialised, stored or logged with the tokens.
   */
  read(path: string): unknown;
}

/** The longest refresh-token lifetime taken from an answer: the schema's bound for documented ones. */
const MAX_REFRESH_TOKEN_LIFETIME_S = 63_072_000;

/** A provider's error code, classified: a grant it no longer honours, or another refusal. */
export function refusal(
  what: string,
  code: unknown,
  status?: number,
  grantErrors: readonly string[] = ['invalid_grant'],
): ProviderError {
  if (typeof code === 'string' && grantErrors.includes(code)) {
    return new ProviderError(
      'invalid_grant',
      `${what}: the grant is no longer valid (${safeErrorCode(code)})`,
      status,
    );
  }
  return new ProviderError('rejected', `${what}: the provider refused (${safeErrorCode(code)})`, status);
}

const unexpected = (what: string, why: string, status?: number) =>
  new ProviderError('rejected', `${what}: unexpected provider response (${why})`, status);

/** A lifetime in seconds as a number or a string of digits; undefined when absent, refused otherwise. */
function seconds(what: string, value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^[0-9]{1,12}(\.[0-9]+)?$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) {
    throw unexpected(what, `invalid ${field}`);
  }
  return number;
}

function scopesOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return undefined;
}

/** `aud` includes the client, `iss` is the provider's (per token where its issuer is per tenant). */
function checkIdToken(
  what: string,
  idToken: unknown,
  provider: OAuthProviderConfig,
  mapping: TokenResponseMapping,
  clientId: string,
): void {
  if (idToken === undefined) return;
  let claims: JWTPayload;
  try {
    if (typeof idToken !== 'string') throw new TypeError('not a string');
    claims = decodeJwt(idToken);
  } catch {
    throw unexpected(what, 'malformed id_token');
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(clientId)) {
    throw new ProviderError('rejected', `${what}: the id_token's audience does not match`);
  }
  let expected: string | undefined = provider.issuer;
  if (mapping.idTokenIssuer) {
    const textClaims = Object.fromEntries(
      Object.entries(claims).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    try {
      expected = fillTemplate(mapping.idTokenIssuer, textClaims);
    } catch {
      expected = undefined;
    }
  }
  if (expected === undefined || claims.iss !== expected) {
    throw new ProviderError('rejected', `${what}: the id_token's issuer does not match`);
  }
}

/** An absolute expiry (epoch seconds, digits, or an ISO date) as epoch ms; undefined when absent. */
function absoluteExpiry(what: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && !/^[0-9]{1,12}$/.test(value)) {
    const at = Date.parse(value);
    if (Number.isNaN(at)) throw unexpected(what, 'invalid expiry');
    return at;
  }
  return seconds(what, value, 'expiry')! * 1000;
}

/** The access token's lifetime in ms: `expires_in`, else an absolute expiry, else the documented default. */
function accessLifetime(
  what: string,
  body: unknown,
  provider: OAuthProviderConfig,
  mapping: TokenResponseMapping,
  obtainedAt: number,
): number | undefined {
  // Whatever the provider sent (a string, an absurd number): a bounded lifetime.
  const expiresIn = seconds(what, readPath(body, mapping.expiresIn), 'expires_in');
  if (expiresIn === 0 && mapping.zeroExpiresInMeansNever) return undefined;
  if (expiresIn !== undefined) return lifetimeMs(expiresIn);
  const expiresAt = mapping.expiresAt ? absoluteExpiry(what, readPath(body, mapping.expiresAt)) : undefined;
  if (expiresAt !== undefined) return lifetimeMs(Math.max(expiresAt - obtainedAt, 0) / 1000);
  return lifetimeMs(provider.defaultAccessLifetimeSeconds);
}

/**
 * The tokens in a token endpoint's answer (a temporary failure, 5xx or 429, was handled before), read
 * through `mapping` (the code exchange's, or a refresh's own). `provider` is resolved for the connection:
 * its issuer is concrete.
 */
export async function readTokenResponse(
  what: string,
  response: Response,
  provider: OAuthProviderConfig,
  clientId: string,
  mapping: TokenResponseMapping = provider.tokenResponse,
): Promise<TokenSet> {
  const { status } = response;
  const body = await readJsonAnswer(response, what);
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  if (status < 200 || status > 299) {
    const code = isObject ? readPath(body, 'error') : undefined;
    if (code !== undefined) throw refusal(what, code, status, mapping.grantErrors);
    throw unexpected(what, `HTTP ${status}`, status);
  }
  if (!isObject) throw unexpected(what, 'not a JSON object', status);
  if (mapping.okField !== undefined && readPath(body, mapping.okField) !== true) {
    throw refusal(what, readPath(body, 'error'), status, mapping.grantErrors);
  }
  const accessToken = readPath(body, mapping.accessToken);
  if (typeof accessToken !== 'string' || !accessToken) {
    // GitHub answers a bad code with HTTP 200 and an RFC 6749 error body.
    const code = readPath(body, 'error');
    if (code !== undefined) throw refusal(what, code, status, mapping.grantErrors);
    throw unexpected(what, 'no access token', status);
  }
  const tokenType = readPath(body, mapping.tokenType);
  if (tokenType === undefined) {
    if (!mapping.tokenTypeOptional) throw unexpected(what, 'no token type', status);
  } else {
    const bearer = mapping.bearerTokenTypes.map((type) => type.toLowerCase());
    if (typeof tokenType !== 'string' || !bearer.includes(tokenType.toLowerCase())) {
      throw unexpected(what, 'unsupported token type', status);
    }
  }
  const refreshToken = readPath(body, mapping.refreshToken);
  if (refreshToken !== undefined && typeof refreshToken !== 'string') {
    throw unexpected(what, 'invalid refresh token', status);
  }
  checkIdToken(what, readPath(body, 'id_token'), provider, mapping, clientId);

  const obtainedAt = Date.now();
  const lifetime = accessLifetime(what, body, provider, mapping, obtainedAt);
  const refreshLifetime = mapping.refreshTokenExpiresIn
    ? seconds(what, readPath(body, mapping.refreshTokenExpiresIn), 'refresh token lifetime')
    : undefined;
  const documented = provider.refreshTokenLifetime;
  // A fixed lifetime runs from the refresh token's issue; an idle one is renewed by every refresh too.
  const refreshSeconds =
    refreshLifetime ??
    (documented && (refreshToken || documented.kind === 'idle') ? documented.seconds : undefined);
  const scopes = scopesOf(readPath(body, mapping.scope));
  const tokens = {
    accessToken,
    tokenType: 'bearer',
    ...(refreshToken ? { refreshToken } : {}),
    ...(lifetime === undefined ? {} : { expiresAt: obtainedAt + lifetime }),
    obtainedAt,
    ...(scopes && { scopes }),
    ...(refreshSeconds === undefined
      ? {}
      : {
          refreshTokenExpiresAt: obtainedAt + Math.min(refreshSeconds, MAX_REFRESH_TOKEN_LIFETIME_S) * 1000,
        }),
  } as TokenSet;
  Object.defineProperty(tokens, 'read', {
    value: (path: string) => readPath(body, path),
    enumerable: false,
  });
  return tokens;
}
