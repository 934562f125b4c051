// Which upstream account a credential is, read against a loopback stand-in for a provider's API: the identity
// request (bearer token or API key as the integration applies it), the token answer's own fields, ids joined
// from several paths, display-name fallbacks, provider data from every source with identical requests made
// once, urlHosts refusals, and failures (401, 503, a missing id) whose messages carry no secret.
import express from 'express';
import { readIdentity } from '../../providers/identity.js';
import { createOutboundGuard } from '../../providers/outbound-guard.js';
import {
  apiKeyProviderSchema,
  oauthProviderSchema,
  type ProviderConfigInput,
} from '../../providers/provider-config.js';
import { ProviderError } from '../../providers/provider-error.js';
import { readPath } from '../../providers/json-path.js';
import { listen } from '../support/http.js';

const TOKEN = 'access-token-secret-0123456789';
const KEY = 'sk-live-secret-key-0123456789';

describe('reading the upstream account', () => {
  const outbound = createOutboundGuard({ checkAddresses: false });
  let server: Awaited<ReturnType<typeof listen>>;
  const received: Array<{
    method: string;
    url: string;
    authorization?: string;
    apiKey?: string;
    body: string;
  }> = [];
  // What the stand-in answers next on each path (status and JSON body); /me by default.
  const answers = new Map<string, { status: number; body: unknown; raw?: string }>();

  beforeAll(async () => {
    const app = express();
    app.use(express.text({ type: '*/*' }));
    app.all('/{*path}', (req, res) => {
      received.push({
        method: req.method,
        url: req.originalUrl,
        authorization: req.headers.authorization,
        apiKey: req.headers['x-api-key'] as string | undefined,
        body: typeof req.body === 'string' ? req.body : '',
      });
      const answer = answers.get(req.path) ?? { status: 404, body: { error: 'not found' } };
      if (answer.raw !== undefined) res.status(answer.status).type('application/json').send(answer.raw);
      else res.status(answer.status).json(answer.body);
    });
    server = await listen(app);
  });
  afterAll(async () => {
    await server?.close();
    await outbound.close();
  });
  beforeEach(() => {
    received.length = 0;
    answers.clear();
  });

  const oauth = (more: Partial<Record<string, unknown>>) =>
    oauthProviderSchema.parse({
      authType: 'oauth2',
      issuer: server.url,
      authorizationEndpoint: `${server.url}/authorize`,
      tokenEndpoint: `${server.url}/token`,
      apiBaseUrl: `${server.url}/api`,
      ...more,
    } satisfies Partial<ProviderConfigInput>);
  const options = { outbound, allowInsecureRequests: true };
  const read = (provider: ReturnType<typeof oauth>, tokenAnswer?: unknown) =>
    readIdentity(
      provider,
      TOKEN,
      tokenAnswer === undefined ? undefined : (path) => readPath(tokenAnswer, path),
      options,
    );

  it('asks the identity request with the access token as bearer, relative to the API base URL', async () => {
    answers.set('/api/v1/me', { status: 200, body: { user: { id: 42, name: '  Ada Lovelace ' } } });
    const result = await read(
      oauth({
        identity: {
          request: { url: '/v1/me?fields=id', headers: { 'x-version': '2' } },
          id: 'user.id',
          displayName: ['user.email', 'user.name'],
        },
      }),
    );
    expect(result).toEqual({ account: { id: '42', displayName: 'Ada Lovelace' }, data: {} });
    expect(received).toEqual([
      expect.objectContaining({
        method: 'GET',
        url: '/api/v1/me?fields=id',
        authorization: `Bearer ${TOKEN}`,
      }),
    ]);
  });

  it("sends the token where the provider's API takes it, when that is not Authorization", async () => {
    answers.set('/api/shop.json', { status: 200, body: { shop: { id: 7, name: 'Shop' } } });
    const result = await read(
      oauth({
        tokenInjection: { name: 'X-Api-Key' },
        identity: { request: { url: '/shop.json' }, id: 'shop.id', displayName: ['shop.name'] },
      }),
    );
    expect(result.account).toEqual({ id: '7', displayName: 'Shop' });
    expect(received[0]).toMatchObject({ apiKey: TOKEN, authorization: undefined });
  });

  it('sends a POST with a JSON body (null included) and an absolute URL', async () => {
    answers.set('/2/users/get_current_account', {
      status: 200,
      body: { account_id: 'dbid:1', email: 'a@example.test' },
    });
    const result = await read(
      oauth({
        identity: {
          request: { url: `${server.url}/2/users/get_current_account`, method: 'POST', jsonBody: null },
          id: 'account_id',
          displayName: ['name.display_name', 'email'],
        },
      }),
    );
    expect(result.account).toEqual({ id: 'dbid:1', displayName: 'a@example.test' });
    expect(received[0]).toMatchObject({ method: 'POST', body: 'null' });
  });

  it("reads the token answer's own fields without a request, joining several paths into one id", async () => {
    const result = await read(
      oauth({
        identity: { id: ['team.id', 'authed_user.id'], displayName: ['team.name'] },
        providerData: [{ name: 'team', path: 'team.id' }],
      }),
      { team: { id: 'T1', name: 'Acme' }, authed_user: { id: 'U9' } },
    );
    expect(result).toEqual({ account: { id: 'T1/U9', displayName: 'Acme' }, data: { team: 'T1' } });
    expect(received).toEqual([]);
  });

  it('falls back to the id when no display name path has a usable value', async () => {
    const result = await read(oauth({ identity: { id: 'sub', displayName: ['name', 'email'] } }), {
      sub: 'user-7',
      name: '   ',
      email: 'bad\u0007value',
    });
    expect(result.account).toEqual({ id: 'user-7', displayName: 'user-7' });
  });

  it('refuses an answer without an account id (and one whose id is unusable)', async () => {
    const provider = oauth({ identity: { id: ['team.id', 'user.id'], displayName: ['name'] } });
    await expect(read(provider, { team: { id: 'T1' } })).rejects.toMatchObject({
      kind: 'rejected',
      message: 'the identity answer has no account id',
    });
    await expect(read(provider, { team: { id: 'T1' }, user: { id: 'x'.repeat(501) } })).rejects.toMatchObject(
      {
        kind: 'rejected',
      },
    );
  });

  it('reads provider data from the token answer, the identity answer and its own request, each request once', async () => {
    answers.set('/api/me', { status: 200, body: { id: 'u1', org: { id: 'o1' } } });
    answers.set('/api/sites', { status: 200, body: [{ id: 'cloud-1', url: 'https://acme.atlassian.net' }] });
    const sites = { url: '/sites' };
    const result = await read(
      oauth({
        identity: { request: { url: '/me' }, id: 'id', displayName: ['id'] },
        providerData: [
          { name: 'instance_url', path: 'instance_url', urlHosts: ['.salesforce.com'] },
          { name: 'org', from: 'identity', path: 'org.id' },
          { name: 'cloudId', from: 'request', path: '0.id', request: sites },
          { name: 'site', from: 'request', path: '0.url', request: sites, urlHosts: ['.atlassian.net'] },
          { name: 'hub', from: 'request', path: 'id', request: { url: '/me' } },
          { name: 'absent', path: 'nothing.here' },
        ],
      }),
      { instance_url: 'https://acme.my.salesforce.com' },
    );
    expect(result.data).toEqual({
      instance_url: 'https://acme.my.salesforce.com',
      org: 'o1',
      cloudId: 'cloud-1',
      site: 'https://acme.atlassian.net',
      hub: 'u1',
    });
    expect(received.map((r) => r.url)).toEqual(['/api/me', '/api/sites']);
  });

  it('refuses a urlHosts field holding an http URL unless insecure provider URLs are allowed', async () => {
    const provider = oauth({
      providerData: [{ name: 'instance_url', path: 'instance_url', urlHosts: ['.salesforce.com'] }],
    });
    const answer = { instance_url: 'http://acme.my.salesforce.com' };
    const strict = await readIdentity(provider, TOKEN, (path) => readPath(answer, path), {
      outbound,
      allowInsecureRequests: false,
    }).catch((error: unknown) => error);
    expect(strict).toBeInstanceOf(ProviderError);
    expect((strict as Error).message).toContain('instance_url');
    // In development and tests (loopback stand-ins), http is what such a provider answers.
    expect((await read(provider, answer)).data).toEqual({ instance_url: 'http://acme.my.salesforce.com' });
  });

  it.each([
    ['another host', 'https://salesforce.com.evil.example'],
    ['the bare parent of a subdomain rule', 'https://salesforce.com'],
    ['a URL with credentials', 'https://user:pw@acme.my.salesforce.com'],
    ['not a URL', 'acme.my.salesforce.com'],
  ])('refuses a urlHosts field holding %s', async (_what, value) => {
    const provider = oauth({
      providerData: [{ name: 'instance_url', path: 'instance_url', urlHosts: ['.salesforce.com'] }],
    });
    const refusal = await read(provider, { instance_url: value }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ProviderError);
    expect(refusal).toMatchObject({ kind: 'rejected' });
    expect((refusal as Error).message).toContain('instance_url');
    expect((refusal as Error).message).not.toContain(value);
  });

  it('applies an API key as the integration says (a header here), not as a bearer token', async () => {
    answers.set('/v1/whoami', { status: 200, body: { account: { id: 'acct_1', name: 'Acme' } } });
    const provider = apiKeyProviderSchema.parse({
      authType: 'api_key',
      apiBaseUrl: server.url,
      injection: { in: 'header', name: 'X-Api-Key' },
      identity: { request: { url: '/v1/whoami' }, id: 'account.id', displayName: ['account.name'] },
    });
    const result = await readIdentity(provider, KEY, undefined, options);
    expect(result).toEqual({ account: { id: 'acct_1', displayName: 'Acme' }, data: {} });
    expect(received[0]).toMatchObject({ apiKey: KEY, authorization: undefined });
  });

  it('answers no account for a provider that describes none', async () => {
    expect(await read(oauth({}))).toEqual({ account: undefined, data: {} });
  });

  const identityAt = (path: string) =>
    oauth({ identity: { request: { url: path }, id: 'id', displayName: ['id'] } });

  it.each([401, 403])('refuses when the provider answers %i, naming the status only', async (status) => {
    answers.set('/api/me', { status, body: { error: 'invalid token', token: TOKEN } });
    const error = await read(identityAt('/me')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'rejected',
      message: `the provider refused the identity request (HTTP ${status})`,
    });
  });

  it('is temporary on 503 and 429', async () => {
    answers.set('/api/me', { status: 503, body: {} });
    await expect(read(identityAt('/me'))).rejects.toMatchObject({ kind: 'unavailable', retryable: true });
    answers.set('/api/me', { status: 429, body: {} });
    await expect(read(identityAt('/me'))).rejects.toMatchObject({ kind: 'rate_limited', retryable: true });
  });

  it('refuses a redirect without following it, a body that is not JSON, and one too large', async () => {
    answers.set('/api/moved', { status: 302, body: {} });
    await expect(read(identityAt('/moved'))).rejects.toMatchObject({ kind: 'rejected', status: 302 });
    expect(received).toHaveLength(1);
    answers.set('/api/text', { status: 200, body: null, raw: `not json ${TOKEN}` });
    await expect(read(identityAt('/text'))).rejects.toMatchObject({
      message: 'identity request: the answer is not JSON',
    });
    answers.set('/api/big', { status: 200, body: { id: 'x', pad: 'p'.repeat(70_000) } });
    await expect(read(identityAt('/big'))).rejects.toMatchObject({ kind: 'rejected' });
  });

  it('refuses an http URL unless insecure requests are allowed', async () => {
    await expect(readIdentity(identityAt('/me'), TOKEN, undefined, { outbound })).rejects.toMatchObject({
      kind: 'rejected',
      message: 'identity request: the URL is not https',
    });
    expect(received).toEqual([]);
  });

  it('never puts the token, the key or a body in a message', async () => {
    const messages: string[] = [];
    for (const status of [401, 403, 418, 500, 503]) {
      answers.set('/api/me', { status, body: { echo: TOKEN, key: KEY } });
      messages.push(
        await read(identityAt('/me')).then(
          () => '',
          (e: Error) => e.message,
        ),
      );
    }
    answers.set('/api/me', { status: 200, body: { id: null, echo: TOKEN } });
    messages.push(
      await read(identityAt('/me')).then(
        () => '',
        (e: Error) => e.message,
      ),
    );
    expect(messages.every(Boolean)).toBe(true);
    for (const message of messages) {
      expect(message).not.toContain(TOKEN);
      expect(message).not.toContain(KEY);
      expect(message).not.toContain('echo');
    }
  });
});
