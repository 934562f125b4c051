// Revoking a grant at the provider, in the style its configuration names (`revocation`, provider-config.ts):
// RFC 7009 through oauth4webapi, or the provider's own call (GitHub's DELETE of the grant with Basic client
// auth, Slack's and Dropbox's self-revocation with the token as bearer, Notion's JSON body, a token in the
// path), whose success is read from its status and, where the provider reports failure in the body, from a
// boolean field. Every request goes through the outbound guard and every answer is read bounded; errors are
// ProviderErrors of fixed words, the status and the provider's error code, never the body.
import * as oauth from 'oauth4webapi';
import { readPath } from './json-path.js';
import {
  clientAuth,
  requestOptions,
  requireSecret,
  tokenRequest,
  type OAuthClientCredentials,
  type OAuthOptions,
} from './oauth-client.js';
import type { OAuthProviderConfig, Revocation } from './provider-config.js';
import { ProviderError, safeErrorCode } from './provider-error.js';
import { readJsonAnswer } from './response-body.js';
import { fillTemplate } from './templates.js';

const what = 'revocation';

/** How the provider revokes: its `revocation`, the deprecated `revocationEndpoint` (RFC 7009), or not at all. */
export function revocationOf(provider: OAuthProviderConfig): Revocation | undefined {
  if (provider.revocation) return provider.revocation;
  if (!provider.revocationEndpoint) return undefined;
  return { style: 'rfc7009', url: provider.revocationEndpoint, token: 'refresh' };
}

/** The token the revocation sends: the one it names, or the access token where there is no refresh token. */
export function revocationToken(
  revocation: Revocation,
  tokens: { accessToken: string; refreshToken?: string },
): string {
  return revocation.token === 'refresh' ? (tokens.refreshToken ?? tokens.accessToken) : tokens.accessToken;
}

/**
 * Revokes the grant `token` belongs to. `provider` is resolved for the connection; the revocation URL's
 * `{clientId}` and `{token}` are filled here. A provider that does not revoke: returns false.
 */
export async function revokeGrant(
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  token: string,
  options: OAuthOptions,
): Promise<boolean> {
  const revocation = revocationOf(provider);
  if (!revocation) return false;
  const url = fillTemplate(revocation.url, { clientId: credentials.clientId, token });
  if (revocation.style === 'rfc7009') {
    const as = { issuer: provider.issuer, revocation_endpoint: url };
    const response = await tokenRequest(what, () =>
      oauth.revocationRequest(
        as,
        { client_id: credentials.clientId },
        clientAuth(provider, credentials, revocation.auth),
        token,
        requestOptions(options),
      ),
    );
    // RFC 7009 2.2: 200 revoked (also for a token already invalid); an error body as RFC 6749 5.2.
    return readAnswer(response, (status) => status >= 200 && status <= 299);
  }
  const request = providerRequest(revocation, credentials, token);
  const response = await tokenRequest(what, () =>
    options.outbound.fetch(url, {
      method: revocation.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000),
    }),
  );
  return readAnswer(response, (status) => revocation.successStatuses.includes(status), revocation.okField);
}

type RequestRevocation = Extract<Revocation, { style: 'request' }>;

/** A provider's own revocation call: where the token goes, and the client's authentication. */
function providerRequest(
  revocation: RequestRevocation,
  credentials: OAuthClientCredentials,
  token: string,
): { headers: Headers; body?: string } {
  const headers = new Headers({ accept: 'application/json' });
  for (const [name, value] of Object.entries(revocation.headers)) headers.set(name, value);
  const fields: Record<string, string> = {};
  if (revocation.tokenIn === 'json' || revocation.tokenIn === 'form') fields[revocation.tokenField] = token;
  if (revocation.auth === 'client_secret_basic') {
    if (revocation.tokenIn === 'bearer') {
      throw new ProviderError('rejected', `${what}: the token and the client cannot share one header`);
    }
    // RFC 6749 2.3.1: both parts form-encoded before they are joined.
    const pair = `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(requireSecret(credentials))}`;
    headers.set('authorization', `Basic ${Buffer.from(pair).toString('base64')}`);
  } else if (revocation.auth === 'client_secret_post') {
    fields.client_id = credentials.clientId;
    fields.client_secret = requireSecret(credentials);
  }
  if (revocation.tokenIn === 'bearer') {
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new ProviderError('rejected', `${what}: the token has characters an HTTP header cannot carry`);
    }
    headers.set('authorization', `Bearer ${token}`);
  }
  if (!Object.keys(fields).length) return { headers };
  if (revocation.tokenIn === 'json') {
    headers.set('content-type', 'application/json');
    return { headers, body: JSON.stringify(fields) };
  }
  headers.set('content-type', 'application/x-www-form-urlencoded');
  return { headers, body: new URLSearchParams(fields).toString() };
}

/** Revoked when the status is a success and the body does not say otherwise; a refusal names its code. */
async function readAnswer(
  response: Response,
  succeeded: (status: number) => boolean,
  okField?: string,
): Promise<boolean> {
  const { status } = response;
  const body = await readJsonAnswer(response, what);
  const code = readPath(body, 'error');
  if (succeeded(status) && (okField === undefined || readPath(body, okField) === true)) return true;
  if (code !== undefined) {
    throw new ProviderError('rejected', `${what}: the provider refused (${safeErrorCode(code)})`, status);
  }
  throw new ProviderError('rejected', `${what}: unexpected answer (HTTP ${status})`, status);
}
