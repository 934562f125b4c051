// Strings at the edge, as a caller sends them: NUL, other control characters and lone surrogates in every
// route that stores strings, credentials that are not header-safe, and query numbers that are not plain
// digits, are each a 400 before anything starts (no row, no credential, no workflow), never a 500. What the
// builders accept is what they say they accept (code points, not UTF-16 units; URLs the parser takes).
import { z } from 'zod';
import { credential, text, url } from '../../api/validation.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { connectThroughApi, startApiHarness, type ApiHarness } from '../support/api.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const NUL = '\u0000';
const LONE_SURROGATE = '\ud800';

describe('edge validation of strings', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let admin: string;
  let agent: string;
  let connectionId: string;
  const logged: string[] = [];

  beforeAll(async () => {
    api = await startApiHarness();
    // An API-key integration whose keys are checked by a loopback stand-in, so that a key that got past the
    // edge would start a real verification.
    provider = await startStandInApi();
    provider.validKeys.add('key-good-1');
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: 'stand-in',
      provider: {
        authType: 'api_key',
        apiBaseUrl: provider.baseUrl,
        injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
        verification: { method: 'GET', path: '/v1/me' },
      },
    });
    admin = await api.token({ role: 'admin' });
    agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
    connectionId = await connectThroughApi(api, admin, 'workspace');
  });
  afterAll(async () => {
    // None of the refused inputs reached the logs as an unhandled error.
    logged.push(...api.logLines.filter((line) => line.includes('unhandled error')));
    expect(logged).toEqual([]);
    await api.stop();
    await provider.stop();
  });

  const counts = async () => {
    const count = async (table: string) =>
      Number((await api.db(table).where({ workspace_id: api.workspaceId }).count({ n: '*' }))[0]!.n);
    let workflows = 0;
    for await (const _ of api.client.workflow.list({ query: `WorkspaceId="${api.workspaceId}"` }))
      workflows++;
    return {
      integrations: await count('integrations'),
      connections: await count('connections'),
      credentials: await count('credentials'),
      dependents: await count('connection_dependents'),
      workflows,
    };
  };

  const customProvider = (override: Record<string, unknown>) => ({
    key: 'acme-nul',
    displayName: 'Acme',
    authType: 'oauth2',
    authorizationEndpoint: 'https://acme.example/authorize',
    tokenEndpoint: 'https://acme.example/token',
    clientId: 'acme-client',
    clientSecret: 'acme-secret',
    ...override,
  });

  const refused: Array<[string, string, string, unknown]> = [
    [
      'POST',
      '/v1/integrations',
      'a NUL in a custom display name',
      customProvider({ displayName: `Ac${NUL}me` }),
    ],
    [
      'POST',
      '/v1/integrations',
      'a NUL in an authorization parameter',
      customProvider({ authorizationParams: { prompt: `x${NUL}` } }),
    ],
    [
      'POST',
      '/v1/integrations',
      'a NUL in an authorization parameter name',
      customProvider({ authorizationParams: { [`p${NUL}`]: 'x' } }),
    ],
    [
      'POST',
      '/v1/integrations',
      'a NUL in an endpoint URL',
      customProvider({ tokenEndpoint: `https://acme.example/tok${NUL}en` }),
    ],
    [
      'POST',
      '/v1/integrations',
      'a line break in a client secret',
      customProvider({ clientSecret: 'acme\nsecret' }),
    ],
    [
      'POST',
      '/v1/integrations',
      'a lone surrogate in a display name',
      customProvider({ displayName: `Acme ${LONE_SURROGATE}` }),
    ],
    [
      'POST',
      '/v1/integrations',
      'a line break in an API-key header name',
      {
        key: 'acme-keys',
        displayName: 'Acme keys',
        authType: 'api_key',
        apiBaseUrl: 'https://api.acme.example',
        injection: { in: 'header', name: 'X-Api-Key\r\nX-Evil', prefix: '' },
      },
    ],
    [
      'POST',
      '/v1/integrations',
      'a NUL in a verification path',
      {
        key: 'acme-keys',
        displayName: 'Acme keys',
        authType: 'api_key',
        apiBaseUrl: 'https://api.acme.example',
        injection: { in: 'header', name: 'X-Api-Key', prefix: `Key${NUL}` },
        verification: { method: 'GET', path: `/me${NUL}` },
      },
    ],
    [
      'PUT',
      '/v1/integrations/google',
      'a NUL in a client id',
      { clientId: `client${NUL}`, clientSecret: 's' },
    ],
    [
      'PUT',
      '/v1/integrations/google',
      'a NUL in a client secret',
      { clientId: 'c', clientSecret: `s${NUL}` },
    ],
    [
      'PUT',
      '/v1/integrations/google',
      'a line break in a client secret',
      { clientId: 'c', clientSecret: 'sec\nret' },
    ],
    [
      'PUT',
      '/v1/integrations/google',
      'a NUL in a scope',
      { clientId: 'c', clientSecret: 's', scopes: [`email${NUL}`] },
    ],
    [
      'POST',
      '/v1/connections',
      'a NUL in a connection name',
      { integration: 'test-oidc', scope: 'workspace', name: `n${NUL}` },
    ],
    [
      'POST',
      '/v1/connections',
      'a bell in a connection name',
      { integration: 'test-oidc', scope: 'workspace', name: 'n\u0007' },
    ],
    [
      'POST',
      '/v1/connections',
      'a C1 control in a connection name',
      { integration: 'test-oidc', scope: 'workspace', name: 'n\u0085' },
    ],
    [
      'POST',
      '/v1/connections',
      'a lone surrogate in a connection name',
      { integration: 'test-oidc', scope: 'workspace', name: `n${LONE_SURROGATE}` },
    ],
    [
      'POST',
      '/v1/connections',
      'an API key with a line break',
      { integration: 'stand-in', scope: 'workspace', apiKey: 'sk-abc\ndef' },
    ],
    [
      'POST',
      '/v1/connections',
      'an API key with a space',
      { integration: 'stand-in', scope: 'workspace', apiKey: 'sk abc' },
    ],
    [
      'POST',
      '/v1/connections',
      'a NUL in returnTo',
      { integration: 'test-oidc', scope: 'workspace', returnTo: `/back${NUL}` },
    ],
    [
      'POST',
      '/v1/connections/resolve',
      'a NUL in an agent id',
      { integration: 'test-oidc', agentId: `a${NUL}` },
    ],
  ];

  it.each(refused)('%s %s: %s is a 400 that changes nothing', async (method, route, _what, body) => {
    const before = await counts();
    const verifications = provider.requests.length;
    const answer = await api.call(method, route, { token: admin, body });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(await counts()).toEqual(before);
    expect(provider.requests.length).toBe(verifications);
  });

  it('refuses an API key with a line break on rotation, and a NUL in a dependent, before anything starts', async () => {
    const before = await counts();
    const rotated = await api.call('PUT', `/v1/connections/${connectionId}/api-key`, {
      token: admin,
      body: { apiKey: 'sk-abc\ndef' },
    });
    expect(rotated.status).toBe(400);
    const dependent = await api.call('PUT', `/v1/connections/${connectionId}/dependents/agent/a1`, {
      token: agent,
      body: { name: `agent${NUL}` },
    });
    expect(dependent.status).toBe(400);
    const reauthorized = await api.call('POST', `/v1/connections/${connectionId}/reauthorize`, {
      token: admin,
      body: { returnTo: `/x${NUL}` },
    });
    expect(reauthorized.status).toBe(400);
    expect(await counts()).toEqual(before);
    const events = await api.call('GET', `/v1/connections/${connectionId}/events`, { token: admin });
    expect(events.body.events.map((event: { to: string }) => event.to)).toEqual(['pending', 'active']);
  });

  it('answers a NUL in the callback with the refused page', async () => {
    const answer = await api.call('GET', `/v1/oauth/callback?state=${encodeURIComponent(`s${NUL}`)}&code=x`);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
    expect(answer.body).toContain('Link expired or already used');
  });

  it.each(['', '1e1', ' 5', '5 ', '5.5', '-1', '+5', '61', '0x10'])(
    'refuses ?timeout=%p on the ready long-poll',
    async (timeout) => {
      const answer = await api.call(
        'GET',
        `/v1/connections/${connectionId}/ready?timeout=${encodeURIComponent(timeout)}`,
        { token: agent },
      );
      expect(answer.status).toBe(400);
      expect(answer.body.error.details).toEqual([expect.objectContaining({ path: 'query.timeout' })]);
    },
  );

  it('takes ?timeout=0 and no timeout at all', async () => {
    for (const query of ['?timeout=0', '']) {
      const answer = await api.call('GET', `/v1/connections/${connectionId}/ready${query}`, { token: agent });
      expect([query, answer.status, answer.body.ready]).toEqual([query, 200, true]);
    }
  });

  it('answers a method a path does not serve with 405 and Allow', async () => {
    const answer = await api.call('PATCH', `/v1/connections/${connectionId}`, { token: admin });
    expect(answer.status).toBe(405);
    expect(answer.body.error.code).toBe('method_not_allowed');
    expect(answer.headers.get('allow')).toBe('GET, DELETE, HEAD');
    const resolve = await api.call('GET', '/v1/connections/resolve', { token: admin });
    expect([resolve.status, resolve.headers.get('allow')]).toEqual([405, 'POST']);
  });
});

describe('the string builders', () => {
  it('count code points, so a name of 200 emoji fits text(200)', () => {
    expect(text(200).safeParse('😀'.repeat(200)).success).toBe(true);
    expect(text(200).safeParse('😀'.repeat(201)).success).toBe(false);
  });

  it('take only visible ASCII as a credential', () => {
    const schema = credential(100);
    expect(schema.safeParse('sk_live_AbC-123.~').success).toBe(true);
    for (const bad of ['', 'a b', 'a\tb', 'a\nb', 'é', `a${NUL}`])
      expect(schema.safeParse(bad).success).toBe(false);
  });

  it('take only URLs the URL parser accepts', () => {
    const schema = url({ schemes: ['https', 'http'] });
    const accepted = [
      'https://api.acme.example',
      'https://api.acme.example:8443/v1/x?y=1&z=%20#frag',
      'http://127.0.0.1:4000/token',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]',
      'https://[2001:db8::8a2e:370:7334]:443/',
    ];
    for (const value of accepted) {
      expect([value, schema.safeParse(value).success]).toEqual([value, true]);
      expect(() => new URL(value)).not.toThrow();
    }
    const refused = [
      'ftp://acme.example',
      'https://user:pass@acme.example',
      'https://xn--a.example',
      'https://acme.example:99999',
      'https://[1::2::3]',
      'https://a.0x1f',
      'https://999',
      'https://acme.example/<script>',
      'https://acme.example/%zz',
      `https://acme.example/${NUL}`,
    ];
    for (const value of refused) expect([value, schema.safeParse(value).success]).toEqual([value, false]);
  });

  it('publish in the document exactly the expression they check', () => {
    const json = z.toJSONSchema(text(10)) as { pattern: string; maxLength: number; minLength: number };
    expect(json).toMatchObject({ minLength: 1, maxLength: 10 });
    expect(new RegExp(json.pattern, 'u').test('name')).toBe(true);
    expect(new RegExp(json.pattern, 'u').test(`na${NUL}me`)).toBe(false);
  });
});
