// OAuth 2.0 with a provider, through oauth4webapi: the authorization URL (PKCE S256, state), the callback's
// validation (state, RFC 9207 iss), and the code exchange and refresh requests, sent with the provider's extra
// parameters and headers. Their answers are read through the provider's mapping (token-response.ts), not by
// oauth4webapi, which knows RFC 6749's shape only. Every request goes out through the outbound guard. Every
// failure becomes a ProviderError that says whether it is permanent or worth retrying. Tokens are returned to
// the caller (an activity that seals them at once) and never logged. `provider` is always resolved for the
// connection (integrations/connection-provider.ts): its URLs are concrete.
import * as oauth from 'oauth4webapi';
import { addressRefusal, type OutboundGuard } from './outbound-guard.js';
import type { OAuthProviderConfig, TokenResponseMapping } from './provider-config.js';
import { ProviderError, temporaryFailure } from './provider-error.js';
import { readTokenResponse, type TokenSet } from './token-response.js';

export type { TokenSet } from './token-response.js';

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret?: string;
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
    authorization_response_iss_parameter_supported: provider.issParameterSupported,
  };
}

export type ClientAuthMethod = OAuthProviderConfig['tokenEndpointAuthMethod'];

/** The client's authentication by `method` (the token endpoint's by default). */
export function clientAuth(
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  method: ClientAuthMethod = provider.tokenEndpointAuthMethod,
): oauth.ClientAuth {
  switch (method) {
    case 'none':
      return oauth.None();
    case 'client_secret_post':
      return oauth.ClientSecretPost(requireSecret(credentials));
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(requireSecret(credentials));
  }
}

export function requireSecret(credentials: OAuthClientCredentials): string {
  if (!credentials.clientSecret) throw new ProviderError('rejected', 'the integration has no client secret');
  return credentials.clientSecret;
}

export function requestOptions(options: OAuthOptions) {
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
  if (request.scopes.length) {
    url.searchParams.set(provider.scopeParam, request.scopes.join(provider.scopeSeparator));
  }
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
  const call = { extras: provider.tokenRequest, mapping: provider.tokenResponse };
  return grantTokens('code exchange', provider, credentials, options, call, (as, request) =>
    oauth.authorizationCodeGrantRequest(
      as,
      { client_id: credentials.clientId },
      clientAuth(provider, credentials),
      callback,
      redirectUri,
      provider.pkce ? codeVerifier : oauth.nopkce,
      request,
    ),
  );
}

export async function refreshTokens(
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  refreshToken: string,
  options: OAuthOptions,
): Promise<TokenSet> {
  const call = {
    extras: provider.refreshRequest,
    mapping: provider.refreshResponse ?? provider.tokenResponse,
    // Figma spends refresh tokens at an endpoint of their own.
    endpoint: provider.refreshEndpoint,
  };
  return grantTokens('refresh', provider, credentials, options, call, (as, request) =>
    oauth.refreshTokenGrantRequest(
      as,
      { client_id: credentials.clientId },
      clientAuth(provider, credentials),
      refreshToken,
      request,
    ),
  );
}

/** One grant at the token endpoint (or `call.endpoint`), with the call's extras; read through its mapping. */
async function grantTokens(
  what: string,
  provider: OAuthProviderConfig,
  credentials: OAuthClientCredentials,
  options: OAuthOptions,
  call: {
    extras: OAuthProviderConfig['tokenRequest'];
    mapping: TokenResponseMapping;
    endpoint?: string;
  },
  send: (as: oauth.AuthorizationServer, request: oauth.TokenEndpointRequestOptions) => Promise<Response>,
): Promise<TokenSet> {
  const as = { ...authorizationServer(provider), token_endpoint: call.endpoint ?? provider.tokenEndpoint };
  const response = await tokenRequest(what, () =>
    send(as, {
      ...requestOptions(options),
      additionalParameters: call.extras?.params ?? {},
      headers: call.extras?.headers ?? {},
    }),
  );
  return readTokenResponse(what, response, provider, credentials.clientId, call.mapping);
}

/** Sends a request to the provider; a refusal to connect or a temporary failure becomes a ProviderError. */
export async function tokenRequest(what: string, send: () => Promise<Response>): Promise<Response> {
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
