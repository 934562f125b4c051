// Revocation in each style against a loopback stand-in that records what it was sent: RFC 7009 (form, the
// token endpoint's client auth or its own), GitHub-like DELETE of the grant with Basic auth and a JSON body,
// Slack-like self-revocation with the token as bearer and failure reported in the body (`ok: false`),
// Notion-like JSON with a version header, and the token in the path. Then API-key verification refusing a
// key only on the provider's reject statuses (Stripe-like: 403 is a permission, not a bad key).
import express from 'express';
import { verifyApiKey } from '../../providers/api-key-client.js';
import { createOutboundGuard } from '../../providers/outbound-guard.js';
import {
  apiKeyProviderSchema,
  oauthProviderSchema,
  type Revocation,
} from '../../providers/provider-config.js';
import { ProviderError } from '../../providers/provider-error.js';
import { revocationOf, revocationToken, revokeGrant } from '../../providers/revocation-client.js';
import { listen } from '../support/http.js';

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('revocation styles', () => {
  const seen: Seen[] = [];
  let reply: { status: number; body?: unknown } = { status: 200 };
  let server: Awaited<ReturnType<typeof listen>>;
  const outbound = createOutboundGuard({ checkAddresses: false });
  const credentials = { clientId: 'client-1', clientSecret: 'secret-1' };
  const options = { allowInsecureRequests: true, outbound };

  beforeAll(async () => {
    const app = express();
    app.use(express.text({ type: '*/*' }));
    app.all('/{*rest}', (req, res) => {
      seen.push({
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: typeof req.body === 'string' ? req.body : '',
      });
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    });
    server = await listen(app);
  });
  beforeEach(() => {
    seen.length = 0;
    reply = { status: 200 };
  });
  afterAll(async () => {
    await server?.close();
    await outbound.close();
  });

  const provider = (revocation: Revocation | Record<string, unknown>) =>
    oauthProviderSchema.parse({
      authType: 'oauth2',
      issuer: server.url,
      authorizationEndpoint: `${server.url}/authorize`,
      tokenEndpoint: `${server.url}/token`,
      tokenEndpointAuthMethod: 'client_secret_post',
      revocation: { ...revocation, url: `${server.url}${revocation.url as string}` },
    });
  /** Basic credentials as a server reads them: each half form-decoded (RFC 6749 2.3.1). */
  const basicPair = (header: unknown) => {
    const [id, secret] = Buffer.from(String(header).replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    return [decodeURIComponent(id!), decodeURIComponent(secret!)];
  };
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  };

  it('rfc7009: the refresh token in a form, with the client authenticated as at the token endpoint', async () => {
    const config = provider({ style: 'rfc7009', url: '/revoke' });
    const token = revocationToken(revocationOf(config)!, { accessToken: 'at-1', refreshToken: 'rt-1' });
    expect(token).toBe('rt-1');
    await expect(revokeGrant(config, credentials, token, options)).resolves.toBe(true);
    const form = new URLSearchParams(seen[0]!.body);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/revoke' });
    expect(Object.fromEntries(form)).toMatchObject({
      token: 'rt-1',
      client_id: 'client-1',
      client_secret: 'secret-1',
    });

    reply = { status: 400, body: { error: 'unsupported_token_type', error_description: 'rt-1' } };
    const refused = await failure(revokeGrant(config, credentials, token, options));
    expect(refused).toMatchObject({
      kind: 'rejected',
      status: 400,
      message: 'revocation: the provider refused (unsupported_token_type)',
    });
    expect(refused.message).not.toContain('rt-1');

    reply = { status: 503 };
    expect((await failure(revokeGrant(config, credentials, token, options))).retryable).toBe(true);
  });

  it('rfc7009 with its own client auth; the legacy revocationEndpoint is rfc7009', async () => {
    await revokeGrant(
      provider({ style: 'rfc7009', url: '/revoke', auth: 'client_secret_basic' }),
      credentials,
      'rt-1',
      options,
    );
    expect(basicPair(seen[0]!.headers.authorization)).toEqual(['client-1', 'secret-1']);
    const legacy = oauthProviderSchema.parse({
      authType: 'oauth2',
      issuer: server.url,
      authorizationEndpoint: `${server.url}/authorize`,
      tokenEndpoint: `${server.url}/token`,
      revocationEndpoint: `${server.url}/legacy`,
    });
    expect(revocationOf(legacy)).toEqual({ style: 'rfc7009', url: `${server.url}/legacy`, token: 'refresh' });
  });

  it('deletes the grant with Basic client auth and the access token in JSON (GitHub-like)', async () => {
    const config = provider({
      style: 'request',
      url: '/applications/{clientId}/grant',
      method: 'DELETE',
      tokenIn: 'json',
      tokenField: 'access_token',
      auth: 'client_secret_basic',
      successStatuses: [204, 404],
    });
    reply = { status: 204 };
    const token = revocationToken(revocationOf(config)!, { accessToken: 'gho_1', refreshToken: 'ghr_1' });
    await expect(revokeGrant(config, credentials, token, options)).resolves.toBe(true);
    expect(seen[0]).toMatchObject({ method: 'DELETE', path: '/applications/client-1/grant' });
    expect(basicPair(seen[0]!.headers.authorization)).toEqual(['client-1', 'secret-1']);
    expect(JSON.parse(seen[0]!.body)).toEqual({ access_token: 'gho_1' });

    reply = { status: 422, body: { message: 'Validation Failed' } };
    const refused = await failure(revokeGrant(config, credentials, token, options));
    expect(refused.message).toBe('revocation: unexpected answer (HTTP 422)');
  });

  it('revokes by the token itself and reads failure from the body (Slack-like)', async () => {
    const config = provider({
      style: 'request',
      url: '/api/auth.revoke',
      tokenIn: 'bearer',
      okField: 'ok',
    });
    reply = { status: 200, body: { ok: true, revoked: true } };
    await expect(revokeGrant(config, credentials, 'xoxp-1', options)).resolves.toBe(true);
    expect(seen[0]!.headers.authorization).toBe('Bearer xoxp-1');
    expect(seen[0]!.body).toBe('');

    reply = { status: 200, body: { ok: false, error: 'invalid_auth' } };
    const refused = await failure(revokeGrant(config, credentials, 'xoxp-1', options));
    expect(refused).toMatchObject({
      kind: 'rejected',
      message: 'revocation: the provider refused (invalid_auth)',
    });
  });

  it('sends JSON with the provider headers and client credentials (Notion-like)', async () => {
    const config = provider({
      style: 'request',
      url: '/v1/oauth/revoke',
      tokenIn: 'json',
      auth: 'client_secret_post',
      headers: { 'Notion-Version': '2022-06-28' },
    });
    await revokeGrant(config, credentials, 'secret_at', options);
    expect(seen[0]!.headers['notion-version']).toBe('2022-06-28');
    expect(seen[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(seen[0]!.body)).toEqual({
      token: 'secret_at',
      client_id: 'client-1',
      client_secret: 'secret-1',
    });
  });

  it('puts the token in the path, and in a form where asked', async () => {
    const inPath = provider({
      style: 'request',
      url: '/refresh-tokens/{token}',
      method: 'DELETE',
      tokenIn: 'path',
      token: 'refresh',
    });
    await revokeGrant(inPath, credentials, 'rt/1', options);
    expect(seen[0]).toMatchObject({ method: 'DELETE', path: '/refresh-tokens/rt%2F1' });
    const inForm = provider({ style: 'request', url: '/revoke', tokenIn: 'form' });
    await revokeGrant(inForm, credentials, 'at-1', options);
    expect(Object.fromEntries(new URLSearchParams(seen[1]!.body))).toEqual({ token: 'at-1' });
  });

  it('refuses a key only on the reject statuses; another 4xx is unexpected', async () => {
    const stripe = apiKeyProviderSchema.parse({
      authType: 'api_key',
      apiBaseUrl: `${server.url}/v1`,
      injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
      verification: { path: '/balance', rejectStatuses: [401] },
    });
    reply = { status: 403, body: { error: { type: 'permission_error' } } };
    const permission = await failure(verifyApiKey(stripe, 'rk_1', { outbound }));
    expect(permission).toMatchObject({
      kind: 'rejected',
      message: 'key verification: unexpected answer (HTTP 403)',
    });
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/v1/balance' });

    reply = { status: 401 };
    const bad = await failure(verifyApiKey(stripe, 'rk_1', { outbound }));
    expect(bad.kind).toBe('invalid_grant');

    reply = { status: 200, body: {} };
    await expect(verifyApiKey(stripe, 'rk_1', { outbound })).resolves.toBe(true);
  });
});
