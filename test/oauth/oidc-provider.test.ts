// Proves the test authorization server (test/support/oidc-provider.ts) with oauth4webapi as the client, the
// library the production code uses, so this file is also a worked example of the whole client side: discovery,
// PKCE S256 with state, the authorization response with `iss`, code exchange, refresh, revocation and errors.
import * as oauth from 'oauth4webapi';
import {
  authorizeInBrowser,
  startOidcProvider,
  type OidcProviderOptions,
  type TestAuthorizationServer,
} from '../support/oidc-provider.js';

// oauth4webapi refuses http:// URLs without this; the loopback test server has no TLS. Never in production.
const insecure = { [oauth.allowInsecureRequests]: true };
const redirectUri = 'http://127.0.0.1:3000/v1/oauth/callback';

describe('test authorization server with oauth4webapi as the client', () => {
  const servers: TestAuthorizationServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  async function start(options: OidcProviderOptions = {}) {
    const server = await startOidcProvider({ redirectUris: [redirectUri], ...options });
    servers.push(server);
    const issuer = new URL(server.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
    const client: oauth.Client = { client_id: server.clientId };
    const clientAuth = oauth.ClientSecretBasic(server.clientSecret);

    /** The authorization URL a connection would hand the user, and what the callback must check. */
    async function authorizationRequest(scope = 'openid email api:read') {
      const codeVerifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: redirectUri,
        scope,
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      return { url: url.toString(), state, codeVerifier };
    }

    /** Authorizes as `login` and exchanges the code: the tokens a new connection starts with. */
    async function connect(login = 'user-1', scope?: string) {
      const request = await authorizationRequest(scope);
      const callback = await authorizeInBrowser(request.url, { login });
      const params = oauth.validateAuthResponse(as, client, callback, request.state);
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        redirectUri,
        request.codeVerifier,
        insecure,
      );
      return oauth.processAuthorizationCodeResponse(as, client, response);
    }

    async function refresh(refreshToken: string) {
      const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, insecure);
      return oauth.processRefreshTokenResponse(as, client, response);
    }

    return { server, as, client, clientAuth, authorizationRequest, connect, refresh };
  }

  it('publishes its metadata and runs the code flow with PKCE, state and iss to access and refresh tokens', async () => {
    const { server, as, client, clientAuth, authorizationRequest } = await start();
    expect(as).toMatchObject({
      issuer: server.issuer,
      authorization_endpoint: server.authorizationEndpoint,
      token_endpoint: server.tokenEndpoint,
      revocation_endpoint: server.revocationEndpoint,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });

    const request = await authorizationRequest();
    const callback = await authorizeInBrowser(request.url);
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.get('iss')).toBe(server.issuer);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));

    // A wrong state, or a response from another issuer, is refused before any token request.
    expect(() => oauth.validateAuthResponse(as, client, callback, 'another-state')).toThrow(/state/);
    const forged = new URL(callback);
    forged.searchParams.set('iss', 'http://127.0.0.1:1');
    expect(() => oauth.validateAuthResponse(as, client, forged, request.state)).toThrow(/iss/);

    const params = oauth.validateAuthResponse(as, client, callback, request.state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        redirectUri,
        request.codeVerifier,
        insecure,
      ),
    );
    expect(tokens).toMatchObject({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 3600,
      scope: 'openid email api:read',
    });
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({ sub: 'user-1' });
    expect(server.tokenRequests()).toBe(1);
    expect(server.tokenRequests('authorization_code')).toBe(1);
    expect(server.tokenRequests('refresh_token')).toBe(0);
  });

  it('requires PKCE: no code without a challenge, no token without the verifier of the request', async () => {
    const { as, client, clientAuth, authorizationRequest } = await start();
    const request = await authorizationRequest();
    const withoutChallenge = new URL(request.url);
    withoutChallenge.searchParams.delete('code_challenge');
    withoutChallenge.searchParams.delete('code_challenge_method');
    expect((await authorizeInBrowser(withoutChallenge.toString())).searchParams.get('error')).toBe(
      'invalid_request',
    );

    const params = oauth.validateAuthResponse(
      as,
      client,
      await authorizeInBrowser(request.url),
      request.state,
    );
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth,
      params,
      redirectUri,
      oauth.generateRandomCodeVerifier(),
      insecure,
    );
    await expect(oauth.processAuthorizationCodeResponse(as, client, response)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('rotates refresh tokens: each refresh gives a new one, and reusing an old one is invalid_grant', async () => {
    const { server, connect, refresh } = await start({ rotateRefreshTokens: true });
    const first = await connect();
    const second = await refresh(first.refresh_token!);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first.refresh_token);

    await expect(refresh(first.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
      status: 400,
    });
    // Reuse detection: oidc-provider then revokes the whole grant, the newest refresh token included.
    await expect(refresh(second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(server.tokenRequests()).toBe(4);
    expect(server.tokenRequests('refresh_token')).toBe(3);
  });

  it('without rotation keeps one refresh token, usable again and again; short access token TTLs hold', async () => {
    const { connect, refresh } = await start({ rotateRefreshTokens: false, accessTokenTtlSeconds: 2 });
    // Plain OAuth 2.0 (no openid, so no ID token); offline_access is dropped without prompt=consent, and a
    // refresh token comes anyway.
    const first = await connect('user-1', 'api:read offline_access unknown:scope');
    expect(first).toMatchObject({ scope: 'api:read', expires_in: 2, refresh_token: expect.any(String) });
    expect(first.id_token).toBeUndefined();
    const second = await refresh(first.refresh_token!);
    expect(second.expires_in).toBe(2);
    expect(second.refresh_token).toBe(first.refresh_token);
    await expect(refresh(first.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  it('answers injected faults for the number of requests asked, then recovers', async () => {
    const { server, connect, refresh } = await start();
    const { refresh_token: refreshToken } = await connect();

    server.injectFault({
      endpoint: 'token',
      status: 503,
      times: 1,
      body: { error: 'temporarily_unavailable' },
    });
    server.injectFault({
      endpoint: 'token',
      status: 429,
      times: 2,
      headers: { 'retry-after': '7' },
      body: { error: 'slow_down' },
    });
    // oauth4webapi reads OAuth error bodies of 4xx answers only: a 5xx is an OperationProcessingError whose
    // cause is the Response itself.
    const unavailable = await refresh(refreshToken!).catch((e: oauth.OperationProcessingError) => e);
    expect(unavailable).toMatchObject({ code: oauth.RESPONSE_IS_NOT_CONFORM });
    expect(((unavailable as oauth.OperationProcessingError).cause as Response).status).toBe(503);
    for (let i = 0; i < 2; i += 1) {
      const error = await refresh(refreshToken!).catch((e: oauth.ResponseBodyError) => e);
      expect(error).toMatchObject({ error: 'slow_down', status: 429 });
      expect((error as oauth.ResponseBodyError).response.headers.get('retry-after')).toBe('7');
    }
    await expect(refresh(refreshToken!)).resolves.toMatchObject({ access_token: expect.any(String) });
    expect(server.tokenRequests('refresh_token')).toBe(4);
    expect(server.tokenRequests()).toBe(5);
  });

  it('revokeAllGrants makes the next refresh invalid_grant; revokeGrant only touches that account', async () => {
    const { server, connect, refresh } = await start();
    const alice = await connect('alice');
    const bob = await connect('bob');

    expect(await server.revokeGrant('alice')).toBe(1);
    await expect(refresh(alice.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const bobs = await refresh(bob.refresh_token!);

    expect(await server.revokeAllGrants()).toBe(1);
    await expect(refresh(bobs.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('counts RFC 7009 revocations; a revoked refresh token no longer refreshes', async () => {
    const { server, as, client, clientAuth, connect, refresh } = await start();
    const { refresh_token: refreshToken } = await connect();

    server.injectFault({ endpoint: 'revocation', status: 503, times: 1 });
    const revoke = () =>
      oauth.revocationRequest(as, client, clientAuth, refreshToken!, {
        ...insecure,
        additionalParameters: { token_type_hint: 'refresh_token' },
      });
    expect((await revoke()).status).toBe(503);
    await expect(oauth.processRevocationResponse(await revoke())).resolves.toBeUndefined();

    expect(server.revocations()).toEqual(['refresh_token', 'refresh_token']);
    await expect(refresh(refreshToken!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('sends access_denied to the client when the user cancels at consent', async () => {
    const { server, as, client, authorizationRequest } = await start();
    const request = await authorizationRequest();
    const callback = await authorizeInBrowser(request.url, { deny: true });
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(Object.fromEntries(callback.searchParams)).toMatchObject({
      error: 'access_denied',
      state: request.state,
      iss: server.issuer,
    });
    expect(() => oauth.validateAuthResponse(as, client, callback, request.state)).toThrow(
      expect.objectContaining({ error: 'access_denied' }),
    );
    expect(server.tokenRequests()).toBe(0);
  });
});
