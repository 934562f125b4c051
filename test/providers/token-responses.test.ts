// What the service makes of a token endpoint's answer, whatever the provider sends: a lifetime as a number or
// a string, missing, negative or absurd, always becomes a bounded expiry (or none); an error body becomes a
// message of fixed words and a sanitised code, never the provider's text.
import express from 'express';
import { refreshTokens } from '../../providers/oauth-client.js';
import { createOutboundGuard } from '../../providers/outbound-guard.js';
import { oauthProviderSchema } from '../../providers/provider-config.js';
import { ProviderError } from '../../providers/provider-error.js';
import { MAX_TOKEN_LIFETIME_MS } from '../../workflows/refresh-policy.js';
import { listen } from '../support/http.js';

describe('token endpoint answers', () => {
  let answer: { status: number; body: Record<string, unknown> } = { status: 200, body: {} };
  let server: Awaited<ReturnType<typeof listen>>;
  // The token endpoint is on loopback: the guard lets it through, as it does in development.
  const outbound = createOutboundGuard({ checkAddresses: false });
  const provider = () =>
    oauthProviderSchema.parse({
      authType: 'oauth2',
      issuer: server.url,
      authorizationEndpoint: `${server.url}/authorize`,
      tokenEndpoint: `${server.url}/token`,
      tokenEndpointAuthMethod: 'client_secret_post',
    });
  const refresh = () =>
    refreshTokens(provider(), { clientId: 'c', clientSecret: 's' }, 'refresh-1', {
      allowInsecureRequests: true,
      outbound,
    });

  beforeAll(async () => {
    const app = express();
    app.post('/token', (_req, res) => {
      res.status(answer.status).type('application/json').send(JSON.stringify(answer.body));
    });
    // A refresh endpoint of its own (Figma's), which echoes what it was sent as the token it issues.
    app.post('/refresh', express.urlencoded({ extended: false }), (req, res) => {
      const sent = { ...req.body, version: req.get('x-api-version') } as Record<string, string>;
      res.json({ access_token: JSON.stringify(sent), token_type: 'bearer' });
    });
    server = await listen(app);
  });
  afterAll(async () => {
    await server?.close();
    await outbound.close();
  });

  it.each([
    ['a number', 3600, 3_600_000],
    ['a string', '3600', 3_600_000],
    ['zero', 0, 0],
    ['absurdly large', 1e308, MAX_TOKEN_LIFETIME_MS],
  ])('takes expires_in given as %s as a bounded lifetime', async (_what, expiresIn, lifetime) => {
    answer = {
      status: 200,
      body: { access_token: 'at-1', token_type: 'Bearer', expires_in: expiresIn },
    };
    const tokens = await refresh();
    expect(tokens.expiresAt! - tokens.obtainedAt).toBe(lifetime);
  });

  it('gives no expiry when the provider sends no lifetime', async () => {
    answer = { status: 200, body: { access_token: 'at-1', token_type: 'Bearer' } };
    const tokens = await refresh();
    expect(tokens.expiresAt).toBeUndefined();
  });

  it('refuses a negative lifetime as an invalid answer, without repeating it', async () => {
    answer = { status: 200, body: { access_token: 'at-secret-1', token_type: 'Bearer', expires_in: -5 } };
    const failure = await refresh().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProviderError);
    expect((failure as ProviderError).message).not.toContain('at-secret-1');
  });

  it("repeats a provider's error code only when it looks like one", async () => {
    answer = { status: 400, body: { error: 'invalid_scope', error_description: 'echo: rt-secret-9' } };
    const plain = (await refresh().catch((error: unknown) => error)) as ProviderError;
    expect(plain.message).toBe('refresh: the provider refused (invalid_scope)');

    answer = { status: 400, body: { error: 'Bearer rt-secret-9\r\nX-Injected: 1' } };
    const odd = (await refresh().catch((error: unknown) => error)) as ProviderError;
    expect(odd.kind).toBe('rejected');
    expect(odd.message).toBe('refresh: the provider refused (invalid_error)');
  });

  it("refreshes at the provider's refresh endpoint with the refresh call's parameters and headers", async () => {
    const config = oauthProviderSchema.parse({
      ...provider(),
      refreshEndpoint: `${server.url}/refresh`,
      refreshRequest: { params: { resource: 'api' }, headers: { 'X-Api-Version': '2' } },
    });
    const tokens = await refreshTokens(config, { clientId: 'c', clientSecret: 's' }, 'refresh-1', {
      allowInsecureRequests: true,
      outbound,
    });
    expect(JSON.parse(tokens.accessToken)).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-1',
      resource: 'api',
      version: '2',
    });
  });
});
