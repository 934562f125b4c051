// OAuth 2.0 with a provider, through oauth4webapi: the authorization URL (PKCE S256, state), the callback's
// validation (state, RFC 9207 iss), the code exchange, refresh, and RFC 7009 revocation. Every request goes
// out through the outbound guard. Every failure becomes a ProviderError that says whether it is permanent or
// worth retrying. Tokens are returned to the caller (an activity that seals them at once) and never logged.
import * as oauth from 'oauth4webapi';
import { lifetimeMs } from '../workflows/refresh-policy.js';
import { addressRefusal, type OutboundGuard } from './outbound-guard.js';
import type { OAuthProviderConfig } from './provider-config.js';
import { ProviderError, safeErrorCode, temporaryFailure } from './provider-error.js';

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret?: string;
}

export interface TokenSet {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Epoch ms; absent when the provider gives no lifetime. */
  expiresAt?: number;
  /** When the token endpoint answered (epoch ms). */
  obtainedAt: number;
  scopes?: string[];
  /** Reads a path of the token endpoint's parsed answer (identity and provider data are read from it). */
  read?: (path: string) => unknown;
}

export interface OAuthOptions {
  /** The way out to the provider: connections only to checked addresses. */
  outbound: OutboundGuard;
  /** Allow http:// provider URLs (development and tests only). */
  allowInsecureRequests?: boolean;
  timeoutMs?: number;
  /** Aborts the request (the activity was cancelled); a timeout of `timeoutMs` applies otherwise. */
  signal?: AbortSignal;
}

function authorizationServer(provider: OAuthProviderConfig): oauth.AuthorizationServer {
  return {
    issuer: provider.issuer,
    authorization_endpoint: provider.authorizationEndpoint,
    token_endpoint: provider.tokenEndpoint,
    revocation_endpoint: provider.revocationEndpoint,
    authorization_response_iss_parameter_supported: provider.issParameterSupported,
  };
}

function clientAuth(provider: OAuthProviderConfig, credentials: OAuthClientCredentials): oauth.ClientAuth {
  switch (provider.tokenEndpointAuthMethod) {
    case 'none':
      return oauth.None();
    case 'client_secret_post':
      return oauth.ClientSecretPost(requireSecret(credentials));
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(requireSecret(credentials));
  }
}

function requireSecret(credentials: OAuthClientCredentials): string {
  if (!credentials.clientSecret) throw new ProviderError('rejected', 'the integration has no client secret');
  return credentials.clientSecret;
}

function requestOptions(options: OAuthOptions) {
  return {
    [oauth.allowInsecureRequests]: options.allowInsecureRequests ?? false,
    [oauth.customFetch]: options.outbound.fetch,
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000),
  };
}

export function newAuthorizationSecrets(): { state: string; codeVerifier: string } {
  return { state: oauth.generateRandomState(), codeVerifier: oauth.generateRandomCodeVerifier() };
}

export async function buildAuthorizationUrl(
  provider: OAuthProviderConfig,
  clientId: string,
  request: { state: string; codeVerifier: string; redirectUri: string; scopes: string[] },
): Promise<string> {
  const url = new URL(provider.authorizationEndpoint);
  for (const [name, value] of Object.entries(provider.authorizationParams)) url.searchParams.set(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  if (request.scopes.length) url.searchParams.set('scope', request.scopes.join(provider.scopeSeparator));
  url.searchParams.set('state', request.state);
  if (provider.pkce) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(request.codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url.toString();
}

/**
 * Checks a callback's parameters against the expected state and the provider's issuer; throws a
 * 'rejected' ProviderError naming what is wrong (never echoing the parameters).
 */
export function validateCallback(
  provider: OAuthProviderConfig,
  clientId: string,
  params: { code: string; state: string; iss?: string },
  expectedState: string,
): URLSearchParams {
  const search = new URLSearchParams({ code: params.code, state: params.state });
  if (params.iss !== undefined) search.set('iss', params.iss);
  try {
    return oauth.validateAuthResponse(
      authorizationServer(provider),
      { client_id: clientId },
      search,
      expectedState,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : 'invalid authorization response';
    throw new ProviderError('rejected', `authorization response refused: ${message}`);
  }
}

export async function exchangeCode(
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  callback: URLSearchParams,
  redirectUri: string,
  codeVerifier: string,
  options: OAuthOptions,
): Promise<TokenSet> {
  return grantTokens('code exchange', provider, credentials, options, {
    send: (as, client, auth, request) =>
      oauth.authorizationCodeGrantRequest(
        as,
        client,
        auth,
        callback,
        redirectUri,
        provider.pkce ? codeVerifier : oauth.nopkce,
        request,
      ),
    process: (as, client, response) => oauth.processAuthorizationCodeResponse(as, client, response),
  });
}

export async function refreshTokens(
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  refreshToken: string,
  options: OAuthOptions,
): Promise<TokenSet> {
  return grantTokens('refresh', provider, credentials, options, {
    send: (as, client, auth, request) =>
      oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, request),
    process: (as, client, response) => oauth.processRefreshTokenResponse(as, client, response),
  });
}

/** One grant at the token endpoint: sent through tokenRequest, its answer read by processTokens. */
async function grantTokens(
  what: string,
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  options: OAuthOptions,
  grant: {
    send(
      as: oauth.AuthorizationServer,
      client: oauth.Client,
      auth: oauth.ClientAuth,
      request: ReturnType<typeof requestOptions>,
    ): Promise<Response>;
    process(
      as: oauth.AuthorizationServer,
      client: oauth.Client,
      response: Response,
    ): Promise<oauth.TokenEndpointResponse>;
  },
): Promise<TokenSet> {
  const as = authorizationServer(provider);
  const client = { client_id: credentials.clientId };
  const response = await tokenRequest(what, () =>
    grant.send(as, client, clientAuth(provider, credentials), requestOptions(options)),
  );
  return processTokens(what, () => grant.process(as, client, response));
}

/** RFC 7009. A provider without a revocation endpoint has nothing to revoke: returns false. */
export async function revokeToken(
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  token: string,
  options: OAuthOptions,
): Promise<boolean> {
  if (!provider.revocationEndpoint) return false;
  const as = authorizationServer(provider);
  const response = await tokenRequest('revocation', () =>
    oauth.revocationRequest(
      as,
      { client_id: credentials.clientId },
      clientAuth(provider, credentials),
      token,
      requestOptions(options),
    ),
  );
  try {
    await oauth.processRevocationResponse(response);
  } catch (error) {
    throw classify('revocation', error);
  }
  return true;
}

async function tokenRequest(what: string, send: () => Promise<Response>): Promise<Response> {
  let response: Response;
  try {
    response = await send();
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    const refusal = addressRefusal(error);
    if (refusal) throw new ProviderError('rejected', `${what}: ${refusal.message}`);
    throw new ProviderError(
      'unavailable',
      `${what}: the provider could not be reached (${(error as Error).name})`,
    );
  }
  const temporary = temporaryFailure(response, what);
  if (temporary) {
    await response.body?.cancel();
    throw temporary;
  }
  return response;
}

async function processTokens(
  what: string,
  process: () => Promise<oauth.TokenEndpointResponse>,
): Promise<TokenSet> {
  let tokens: oauth.TokenEndpointResponse;
  try {
    tokens = await process();
  } catch (error) {
    throw classify(what, error);
  }
  const obtainedAt = Date.now();
  // Whatever the provider sent (a string, a negative, an absurd number): a bounded lifetime, or none.
  const lifetime = lifetimeMs(tokens.expires_in);
  return {
    accessToken: tokens.access_token,
    tokenType: tokens.token_type,
    refreshToken: tokens.refresh_token,
    expiresAt: lifetime === undefined ? undefined : obtainedAt + lifetime,
    obtainedAt,
    scopes: typeof tokens.scope === 'string' ? tokens.scope.split(' ').filter(Boolean) : undefined,
  };
}

/**
 * A provider's answer as a ProviderError whose message holds fixed words and codes only: the provider's body
 * (and oauth4webapi's description of it) may echo what was sent.
 */
function classify(what: string, error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    if (error.error === 'invalid_grant') {
      return new ProviderError(
        'invalid_grant',
        `${what}: the grant is no longer valid (invalid_grant)`,
        error.status,
      );
    }
    return new ProviderError(
      'rejected',
      `${what}: the provider refused (${safeErrorCode(error.error)})`,
      error.status,
    );
  }
  const code = safeErrorCode((error as { code?: unknown } | null)?.code?.toString().toLowerCase());
  return new ProviderError('rejected', `${what}: unexpected provider response (${code})`);
}
