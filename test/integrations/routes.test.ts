// The integration routes over the real stack (configuration, custom providers, the agent scope, keys).
// Longer than ~350 lines on purpose: every route of the feature over one harness, started once.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTokenVerifier, loadJwtSecret, mintToken } from '../../api/auth.js';
import { createOutboundGuard } from '../../providers/outbound-guard.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { catalogueData, catalogueEntry } from '../../catalogue/providers.js';
import { behaviourOf } from '../../integrations/catalogue-behaviour.js';
import { catalogueEntrySchema } from '../../providers/provider-config.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';

const roles = ['owner', 'admin', 'member', 'agent'] as const;
const SECRET = 'google-client-secret-Zq81';

let harness: ApiHarness;
const tokens = {} as Record<(typeof roles)[number], string>;
const seen: string[] = [];

async function call(...args: Parameters<ApiHarness['call']>) {
  const answer = await harness.call(...args);
  seen.push(JSON.stringify(answer.body ?? ''));
  return answer;
}

const customOAuth = (key: string, base: string) => ({
  key,
  displayName: 'Acme CRM',
  authType: 'oauth2',
  authorizationEndpoint: `${base}/authorize`,
  tokenEndpoint: `${base}/token`,
  scopes: ['read'],
  clientId: 'acme-client',
  clientSecret: 'acme-secret-77',
});

beforeAll(async () => {
  harness = await startApiHarness();
  for (const role of roles) tokens[role] = await harness.token({ role });
});

afterAll(async () => {
  // No answer of the whole file ever carried a client secret.
  for (const secret of [SECRET, 'acme-secret-77', harness.oidc.clientSecret]) {
    expect(seen.filter((body) => body.includes(secret))).toEqual([]);
  }
  await harness.stop();
});

describe('GET /v1/integrations', () => {
  it.each(roles)('lists the catalogue and custom providers for %s, without secrets', async (role) => {
    const { status, body } = await call('GET', '/v1/integrations', { token: tokens[role] });
    expect(status).toBe(200);
    const keys = body.integrations.map((item: { key: string }) => item.key);
    expect(keys).toEqual(
      expect.arrayContaining(['google', 'slack', 'openai', 'stripe', harness.integration]),
    );
    expect(body.integrations.find((item: { key: string }) => item.key === harness.integration)).toMatchObject(
      {
        source: 'custom',
        configured: true,
        enabled: true,
        clientIdPresent: true,
        clientSecretPresent: true,
      },
    );
    expect(body.integrations.find((item: { key: string }) => item.key === 'stripe')).toMatchObject({
      source: 'catalogue',
      authType: 'api_key',
      configured: false,
    });
  });

  it("shows each provider's documented behaviour: the catalogue's from its data, a custom one's from its configuration", async () => {
    const base = 'http://127.0.0.1:4999';
    const created = await call('POST', '/v1/integrations', {
      token: tokens.owner,
      body: {
        ...customOAuth('acme-behaviour', base),
        apiBaseUrl: `${base}/api`,
        pkce: false,
        refreshTokens: 'rotating',
        revocation: { style: 'request', method: 'DELETE', url: `${base}/grants/{token}`, tokenIn: 'path' },
        identity: { request: { url: '/me' }, id: 'id', displayName: ['name'] },
        defaultAccessLifetimeSeconds: 3600,
        refreshTokenLifetime: { seconds: 30 * 86_400, kind: 'idle' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ category: null, docs: [] });
    expect(created.body.behaviour).toEqual({
      pkce: false,
      refreshTokens: 'rotating',
      revocation: { style: 'request', method: 'DELETE' },
      identity: 'request',
      parameters: [],
      defaultAccessLifetimeSeconds: 3600,
      refreshTokenLifetime: { seconds: 30 * 86_400, kind: 'idle' },
    });
    // Every answer passed the route's declared schema exactly (the harness checks responses).
    const { body } = await call('GET', '/v1/integrations', { token: tokens.agent });
    const catalogue = body.integrations.filter((item: { source: string }) => item.source === 'catalogue');
    expect(catalogue).toHaveLength(catalogueData.length);
    for (const item of catalogue) {
      const entry = catalogueEntry(item.key)!;
      expect(item).toMatchObject({ category: entry.category, docs: [...entry.docs] });
      expect(item.behaviour).toEqual(behaviourOf(entry));
    }
  });

  it('answers 401 without a token or with a bad one', async () => {
    expect((await call('GET', '/v1/integrations')).status).toBe(401);
    expect((await call('GET', '/v1/integrations', { token: 'not-a-jwt' })).body.error.code).toBe(
      'unauthorized',
    );
  });
});

describe('PUT /v1/integrations/:key', () => {
  it.each(['owner', 'admin'] as const)(
    'lets %s configure a catalogue provider; the secret is sealed, never returned',
    async (role) => {
      const { status, body } = await call('PUT', '/v1/integrations/google', {
        token: tokens[role],
        body: {
          clientId: `google-client-${role}`,
          clientSecret: SECRET,
          scopes: ['openid', 'email'],
          enabled: true,
        },
      });
      expect(status).toBe(200);
      expect(body).toMatchObject({
        key: 'google',
        displayName: 'Google',
        personal: true,
        configured: true,
        enabled: true,
        clientIdPresent: true,
        clientSecretPresent: true,
        scopes: ['openid', 'email'],
      });
      expect(
        await integrationStore.openClientSecret(harness.db, harness.vault, harness.workspaceId, 'google'),
      ).toBe(SECRET);
      const row = await harness
        .db('credentials')
        .where({ workspace_id: harness.workspaceId, integration: 'google' })
        .first();
      expect(JSON.stringify(row)).not.toContain(SECRET);
    },
  );

  it('keeps the client id, secret and scopes when a later PUT only disables it', async () => {
    const { body } = await call('PUT', '/v1/integrations/google', {
      token: tokens.admin,
      body: { enabled: false },
    });
    expect(body).toMatchObject({
      enabled: false,
      clientIdPresent: true,
      clientSecretPresent: true,
      scopes: ['openid', 'email'],
    });
    const stored = await integrationStore.get(harness.db, harness.workspaceId, 'google');
    expect(stored).toMatchObject({ clientId: 'google-client-admin', enabled: false });
    expect(stored?.provider).toMatchObject({
      authType: 'oauth2',
      tokenEndpoint: 'https://oauth2.googleapis.com/token',
    });
  });

  it('configures an API-key provider with enabled only, and refuses a client id for it', async () => {
    expect(
      (await call('PUT', '/v1/integrations/stripe', { token: tokens.owner, body: {} })).body,
    ).toMatchObject({
      configured: true,
      enabled: true,
    });
    const refused = await call('PUT', '/v1/integrations/openai', {
      token: tokens.owner,
      body: { clientId: 'x' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ path: 'body.clientId', message: expect.any(String) }]);
  });

  it.each(['member', 'agent'] as const)('answers 403 to %s and changes nothing', async (role) => {
    const { status, body } = await call('PUT', '/v1/integrations/slack', {
      token: tokens[role],
      body: { clientId: 'c', clientSecret: 's' },
    });
    expect(status).toBe(403);
    expect(body.error.code).toBe('forbidden');
    expect(await integrationStore.get(harness.db, harness.workspaceId, 'slack')).toBeUndefined();
  });

  it('answers 401 without a token', async () => {
    expect((await call('PUT', '/v1/integrations/slack', { body: { clientId: 'c' } })).status).toBe(401);
  });

  it('answers 404 for a key not in the catalogue (custom providers included) and 400 for a malformed one', async () => {
    expect(
      (await call('PUT', '/v1/integrations/nope-nope', { token: tokens.admin, body: {} })).body.error.code,
    ).toBe('not_found');
    expect(
      (await call('PUT', `/v1/integrations/${harness.integration}`, { token: tokens.admin, body: {} }))
        .status,
    ).toBe(404);
    expect((await call('PUT', '/v1/integrations/Bad_Key', { token: tokens.admin, body: {} })).status).toBe(
      400,
    );
  });

  it('refuses unknown fields, a first configuration without client id or secret, and bad scopes', async () => {
    const unknown = await call('PUT', '/v1/integrations/slack', {
      token: tokens.admin,
      body: { clientId: 'c', clientSecret: 's', tokenEndpoint: 'https://evil.example/token' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'invalid_request' });
    const noId = await call('PUT', '/v1/integrations/slack', {
      token: tokens.admin,
      body: { clientSecret: 's' },
    });
    expect(noId.body.error.details).toEqual([{ path: 'body.clientId', message: expect.any(String) }]);
    const noSecret = await call('PUT', '/v1/integrations/slack', {
      token: tokens.admin,
      body: { clientId: 'c' },
    });
    expect(noSecret.body.error.details).toEqual([{ path: 'body.clientSecret', message: expect.any(String) }]);
    const scopes = await call('PUT', '/v1/integrations/slack', {
      token: tokens.admin,
      body: { clientId: 'c', clientSecret: 's', scopes: ['a b'] },
    });
    expect(scopes.status).toBe(400);
    expect(await integrationStore.get(harness.db, harness.workspaceId, 'slack')).toBeUndefined();
  });
});

describe('POST /v1/integrations', () => {
  it('registers a custom OAuth provider (loopback http allowed by this configuration) for owner and admin', async () => {
    const created = await call('POST', '/v1/integrations', {
      token: tokens.owner,
      body: customOAuth('acme-crm', 'http://127.0.0.1:4999'),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      key: 'acme-crm',
      displayName: 'Acme CRM',
      source: 'custom',
      configured: true,
      enabled: true,
      clientSecretPresent: true,
      scopes: ['read'],
      provider: { issuer: 'http://127.0.0.1:4999', tokenEndpoint: 'http://127.0.0.1:4999/token' },
    });
    const apiKey = await call('POST', '/v1/integrations', {
      token: tokens.admin,
      body: {
        key: 'acme-keys',
        displayName: 'Acme keys',
        authType: 'api_key',
        apiBaseUrl: 'https://api.acme.example',
        injection: { in: 'header', name: 'X-Api-Key' },
        verification: { path: '/me' },
      },
    });
    expect(apiKey.status).toBe(201);
    const listed = await call('GET', '/v1/integrations', { token: tokens.member });
    expect(listed.body.integrations.map((item: { key: string }) => item.key)).toEqual(
      expect.arrayContaining(['acme-crm', 'acme-keys']),
    );
  });

  it('keeps the proxy headers a provider declares, and refuses a declaration of one the proxy never carries', async () => {
    const declared = await call('POST', '/v1/integrations', {
      token: tokens.admin,
      body: {
        ...customOAuth('acme-declared', 'http://127.0.0.1:4999'),
        proxy: { requestHeaders: ['Acme-Version'], responseHeaders: ['Acme-Result'] },
      },
    });
    expect(declared.status).toBe(201);
    expect(declared.body.provider.proxy).toEqual({
      requestHeaders: ['Acme-Version'],
      responseHeaders: ['Acme-Result'],
    });
    for (const [proxy, path] of [
      [{ requestHeaders: ['X-Forwarded-For'] }, 'body.proxy.requestHeaders.0'],
      [{ requestHeaders: ['Authorization'] }, 'body.proxy.requestHeaders.0'],
      [{ requestHeaders: ['X-HTTP-Method-Override'] }, 'body.proxy.requestHeaders.0'],
      [{ responseHeaders: ['ok-header', 'Set-Cookie'] }, 'body.proxy.responseHeaders.1'],
      [{ responseHeaders: ['Access-Control-Allow-Origin'] }, 'body.proxy.responseHeaders.0'],
      [{ responseHeaders: ['not a header'] }, 'body.proxy.responseHeaders.0'],
    ] as const) {
      const refused = await call('POST', '/v1/integrations', {
        token: tokens.admin,
        body: { ...customOAuth('acme-undeclarable', 'http://127.0.0.1:4999'), proxy },
      });
      expect([path, refused.status]).toEqual([path, 400]);
      expect(refused.body.error.details.map((detail: { path: string }) => detail.path)).toEqual([path]);
    }
    expect(await integrationStore.get(harness.db, harness.workspaceId, 'acme-undeclarable')).toBeUndefined();
  });

  it('refuses a duplicate (409), a catalogue key, a malformed key, unknown fields and a missing secret', async () => {
    const duplicate = await call('POST', '/v1/integrations', {
      token: tokens.admin,
      body: customOAuth('acme-crm', 'https://acme.example'),
    });
    expect(duplicate.status).toBe(409);
    const clash = await call('POST', '/v1/integrations', {
      token: tokens.admin,
      body: customOAuth('github', 'https://acme.example'),
    });
    expect(clash.status).toBe(400);
    expect(clash.body.error.details).toEqual([{ path: 'body.key', message: expect.any(String) }]);
    for (const key of ['-acme', 'a', 'Acme', 'acme_crm', 'x'.repeat(64)]) {
      expect(
        (
          await call('POST', '/v1/integrations', {
            token: tokens.admin,
            body: customOAuth(key, 'https://acme.example'),
          })
        ).status,
      ).toBe(400);
    }
    const unknown = await call('POST', '/v1/integrations', {
      token: tokens.admin,
      body: { ...customOAuth('acme-two', 'https://acme.example'), webhook: 'https://acme.example' },
    });
    expect(unknown.status).toBe(400);
    const { clientSecret: _secret, ...noSecret } = customOAuth('acme-three', 'https://acme.example');
    const missing = await call('POST', '/v1/integrations', { token: tokens.admin, body: noSecret });
    expect(missing.body.error.details).toEqual([{ path: 'body.clientSecret', message: expect.any(String) }]);
    expect(await integrationStore.get(harness.db, harness.workspaceId, 'acme-two')).toBeUndefined();
  });

  it.each(['member', 'agent'] as const)('answers 403 to %s', async (role) => {
    const { status } = await call('POST', '/v1/integrations', {
      token: tokens[role],
      body: customOAuth('acme-m', 'https://acme.example'),
    });
    expect(status).toBe(403);
    expect(await integrationStore.get(harness.db, harness.workspaceId, 'acme-m')).toBeUndefined();
  });

  it('answers 401 without a token', async () => {
    expect(
      (await call('POST', '/v1/integrations', { body: customOAuth('acme-n', 'https://acme.example') }))
        .status,
    ).toBe(401);
  });
});

describe('when insecure provider URLs are not allowed', () => {
  let server: { url: string; close(): Promise<void> };
  let admin: string;

  beforeAll(async () => {
    const auth = {
      jwtSecretFile: path.join(await mkdtemp(path.join(tmpdir(), 'integrations-auth-')), 'jwt-secret'),
    };
    const app = harness.appWith({
      verifyToken: await createTokenVerifier(auth),
      publicUrl: 'https://connections.example',
      allowInsecureProviderUrls: false,
      outbound: createOutboundGuard({ checkAddresses: true }),
    });
    server = await listen(app);
    admin = await mintToken(await loadJwtSecret(auth), {
      sub: 'admin-2',
      workspace: harness.workspaceId,
      role: 'admin',
    });
  });
  afterAll(() => server.close());

  async function post(body: unknown) {
    const response = await fetch(`${server.url}/v1/integrations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  it.each([
    ['http', 'http://acme.example', 'must be an https URL'],
    ['loopback', 'https://127.0.0.1:8443', /loopback/],
    ['localhost', 'https://localhost', /loopback/],
    ['private', 'https://10.1.2.3', /private/],
    ['link-local (metadata)', 'https://169.254.169.254', /link-local/],
    ['IPv6 loopback', 'https://[::1]', /loopback/],
    ['IPv6 unique local', 'https://[fd00::5]', /private/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]', /loopback/],
    ['unspecified', 'https://0.0.0.0', /unspecified/],
  ])('refuses %s provider URLs with 400 naming the field', async (_what, base, message) => {
    const { status, body } = await post(customOAuth('acme-insecure', base));
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        { path: 'body.authorizationEndpoint', message: expect.stringMatching(message) },
        { path: 'body.tokenEndpoint', message: expect.stringMatching(message) },
      ]),
    );
    expect(await integrationStore.get(harness.db, harness.workspaceId, 'acme-insecure')).toBeUndefined();
  });

  it('names only the offending field', async () => {
    const { status, body } = await post({
      key: 'acme-keys-2',
      displayName: 'Acme',
      authType: 'api_key',
      apiBaseUrl: 'https://192.168.0.10/api',
      injection: { in: 'header', name: 'X-Api-Key' },
    });
    expect(status).toBe(400);
    expect(body.error.details).toEqual([
      { path: 'body.apiBaseUrl', message: expect.stringMatching(/private/) },
    ]);
  });

  it('accepts public https URLs', async () => {
    const { status, body } = await post(customOAuth('acme-public', 'https://93.184.215.14'));
    expect(status).toBe(201);
    expect(body.key).toBe('acme-public');
  });
});

describe('workspace isolation', () => {
  it("another workspace sees none of this workspace's configuration or custom providers", async () => {
    const other = await harness.token({ role: 'admin', workspace: 'ws-other' });
    const { body } = await call('GET', '/v1/integrations', { token: other });
    const keys = body.integrations.map((item: { key: string }) => item.key);
    expect(keys).not.toContain('acme-crm');
    expect(keys).not.toContain(harness.integration);
    expect(body.integrations.find((item: { key: string }) => item.key === 'google')).toMatchObject({
      configured: false,
      clientIdPresent: false,
      clientSecretPresent: false,
    });
    // And configuring there leaves this workspace's configuration alone.
    await call('PUT', '/v1/integrations/google', {
      token: other,
      body: { clientId: 'other', clientSecret: 'other-secret' },
    });
    expect((await integrationStore.get(harness.db, harness.workspaceId, 'google'))?.clientId).toBe(
      'google-client-admin',
    );
    expect(
      await integrationStore.openClientSecret(harness.db, harness.vault, harness.workspaceId, 'google'),
    ).toBe(SECRET);
  });
});

describe('/openapi.json', () => {
  it('lists the integration routes with their roles and schemas', async () => {
    const { body } = await call('GET', '/openapi.json');
    expect(body.paths['/v1/integrations'].get['x-roles']).toEqual([...roles]);
    expect(body.paths['/v1/integrations'].post['x-roles']).toEqual(['owner', 'admin']);
    expect(body.paths['/v1/integrations/{key}'].put).toMatchObject({
      'x-roles': ['owner', 'admin'],
      parameters: [expect.objectContaining({ name: 'key', in: 'path' })],
      requestBody: expect.any(Object),
    });
    expect(JSON.stringify(body.paths['/v1/integrations/{key}'].put.requestBody)).toContain(
      'additionalProperties',
    );
  });
});

describe('the integration key', () => {
  // One rule (providers/provider-config.ts): every route that takes a key refuses exactly the keys a
  // catalogue entry could not have, and takes every key it could.
  const keys = [
    'ab',
    'acme-crm',
    '9lives',
    'x'.repeat(63),
    'a',
    '-acme',
    'Acme',
    'acme_crm',
    'acme.crm',
    'x'.repeat(64),
  ];
  const catalogueTakes = (key: string) =>
    catalogueEntrySchema.safeParse({ ...catalogueData[0], key }).success;

  it('is refused by the API where the catalogue would refuse it, and only there', async () => {
    expect(keys.filter(catalogueTakes)).toEqual(['ab', 'acme-crm', '9lives', 'x'.repeat(63)]);
    const agent = await harness.token({ role: 'agent', on_behalf_of: 'member-1' });
    for (const key of keys) {
      const k = encodeURIComponent(key);
      const answers = {
        'body.integration': [
          await call('POST', '/v1/connections', {
            token: tokens.admin,
            body: { integration: key, scope: 'workspace' },
          }),
          await call('POST', '/v1/connections/resolve', { token: agent, body: { integration: key } }),
        ],
        'query.integration': [await call('GET', `/v1/connections?integration=${k}`, { token: tokens.admin })],
        'path.key': [
          await call('PUT', `/v1/integrations/${k}`, { token: tokens.admin, body: { enabled: true } }),
          await call('PUT', `/v1/integrations/${k}/agent-scope`, {
            token: tokens.admin,
            body: { scope: null },
          }),
        ],
        // Without its secret nothing is registered, whatever the key.
        'body.key': [
          await call('POST', '/v1/integrations', {
            token: tokens.admin,
            body: { ...customOAuth(key, 'https://acme.example'), clientSecret: undefined },
          }),
        ],
      };
      for (const [path, answered] of Object.entries(answers)) {
        for (const answer of answered) {
          const refused = (answer.body?.error?.details ?? []).some(
            (detail: { path: string }) => detail.path === path,
          );
          expect({ key, path, refused }).toEqual({ key, path, refused: !catalogueTakes(key) });
        }
      }
    }
    expect((await integrationStore.list(harness.db, harness.workspaceId)).map((i) => i.key)).not.toContain(
      'ab',
    );
  });
});
