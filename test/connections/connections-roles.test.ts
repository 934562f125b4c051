// Every connection route for every role: owners and admins act on everything of their workspace; members
// see shared connections and their own, and change only their own; agents only read (and register
// dependents); no token is 401; another workspace's ids answer 404 exactly like unknown ones.
// Longer than ~350 lines on purpose: the whole role matrix over one harness (started once, it costs seconds),
// so that a route's answers for every role are read side by side.
import { randomUUID } from 'node:crypto';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startApiHarness, type ApiHarness, connectThroughApi } from '../support/api.js';
import { listen } from '../support/http.js';
import { eventually } from '../support/lifecycle.js';
import { startStandInApi, type StandInApi, configureStandInIntegration } from '../support/stand-in-api.js';

describe('connections API, by role', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  const tokens: Record<'owner' | 'admin' | 'member' | 'member2' | 'agent' | 'agent2' | 'foreign', string> =
    {} as never;
  // A shared connection, member-1's own and member-2's own, all active.
  let shared: string;
  let mine: string;
  let theirs: string;

  const connect = (token: string, scope: 'workspace' | 'user') => connectThroughApi(api, token, scope);

  beforeAll(async () => {
    api = await startApiHarness();
    provider = await startStandInApi();
    provider.validKeys.add('key-good-1');
    provider.validKeys.add('key-good-2');
    await configureStandInIntegration(api, provider);
    tokens.owner = await api.token({ role: 'owner' });
    tokens.admin = await api.token({ role: 'admin' });
    tokens.member = await api.token({ role: 'member' });
    tokens.member2 = await api.token({ role: 'member', sub: 'member-2' });
    tokens.agent = await api.token({ role: 'agent', on_behalf_of: 'member-1' });
    tokens.agent2 = await api.token({ role: 'agent', sub: 'agent-2', on_behalf_of: 'member-2' });
    tokens.foreign = await api.token({ role: 'owner', workspace: `ws-${randomUUID()}` });
    shared = await connect(tokens.admin, 'workspace');
    mine = await connect(tokens.member, 'user');
    theirs = await connect(tokens.member2, 'user');
  });
  afterAll(async () => {
    await api?.stop();
    await provider?.stop();
  });

  const status = async (method: string, route: string, token?: string, body?: unknown) =>
    (await api.call(method, route, { token, body })).status;

  it('creates connections: members only their own user connections, agents none, no token 401', async () => {
    const body = { integration: api.integration, scope: 'workspace' };
    expect(await status('POST', '/v1/connections', tokens.owner, body)).toBe(201);
    expect(await status('POST', '/v1/connections', tokens.admin, body)).toBe(201);
    expect(await status('POST', '/v1/connections', tokens.member, body)).toBe(403);
    expect(await status('POST', '/v1/connections', tokens.agent, body)).toBe(403);
    expect(await status('POST', '/v1/connections', undefined, body)).toBe(401);
    const own = await api.call('POST', '/v1/connections', {
      token: tokens.member,
      body: { integration: api.integration, scope: 'user', name: 'mine' },
    });
    expect(own.status).toBe(201);
    expect(own.body.connection).toMatchObject({ scope: 'user', ownerUserId: 'member-1', status: 'pending' });

    const before = await api.db('connections').count({ n: '*' }).first();
    for (const bad of [
      { integration: api.integration, scope: 'workspace', unknown: 1 },
      { integration: api.integration, scope: 'team' },
      { integration: 'not-configured', scope: 'workspace' },
      { integration: api.integration, scope: 'workspace', apiKey: 'k', returnTo: '/x' },
      { integration: 'stand-in', scope: 'workspace' },
      { integration: api.integration, scope: 'workspace', apiKey: 'key-good-1' },
    ]) {
      const answer = await api.call('POST', '/v1/connections', { token: tokens.admin, body: bad });
      expect([bad, answer.status, answer.body.error.code]).toEqual([bad, 400, 'invalid_request']);
    }
    // The other workspace has no such integration configured: nothing of this workspace is used.
    expect(await status('POST', '/v1/connections', tokens.foreign, body)).toBe(400);
    expect(await api.db('connections').count({ n: '*' }).first()).toEqual(before);
  });

  it('creates API-key connections (201 active, 422 when rejected) and rotates keys', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: tokens.member,
      body: { integration: 'stand-in', scope: 'user', apiKey: 'key-good-1' },
    });
    expect(created.status).toBe(201);
    expect(created.body.connection).toMatchObject({
      status: 'active',
      authType: 'api_key',
      keyUnused: false,
    });
    expect(created.body.connection.keyCreatedAt).not.toBeNull();
    expect(JSON.stringify(created.body)).not.toContain('key-good-1');
    const id = created.body.connection.id;

    const rejected = await api.call('POST', '/v1/connections', {
      token: tokens.admin,
      body: { integration: 'stand-in', scope: 'workspace', apiKey: 'key-bad' },
    });
    expect(rejected.status).toBe(422);
    expect(rejected.body.error.code).toBe('provider_rejected');

    const rotate = (token: string, connection: string, apiKey: string) =>
      status('PUT', `/v1/connections/${connection}/api-key`, token, { apiKey });
    expect(await rotate(tokens.member2, id, 'key-good-2')).toBe(404);
    expect(await rotate(tokens.agent, id, 'key-good-2')).toBe(403);
    expect(await rotate(tokens.foreign, id, 'key-good-2')).toBe(404);
    expect(await rotate(tokens.member, id, 'key-bad')).toBe(422);
    expect(await rotate(tokens.member, id, 'key-good-2')).toBe(200);
    expect(await rotate(tokens.admin, id, 'key-good-1')).toBe(200);
    expect(await rotate(tokens.admin, shared, 'key-good-1')).toBe(400);
    expect(await status('PUT', `/v1/connections/${id}/api-key`, tokens.admin, {})).toBe(400);
    expect(await status('PUT', `/v1/connections/${id}/api-key`, undefined, { apiKey: 'x' })).toBe(401);
  });

  it('flags a key the workflow found unused (no grant for API_KEY_UNUSED_DAYS, 1.5 s here) until it is used', async () => {
    // An app whose workflows probe every second and count a key unused after 1.5 s without a grant.
    const aging = await listen(
      api.appWith({
        commands: await api.commandsWith({ apiKeyProbeIntervalMs: 1_000, keyUnusedMs: 1_500 }),
      }),
    );
    try {
      const created = await fetch(`${aging.url}/v1/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.member}`, 'content-type': 'application/json' },
        body: JSON.stringify({ integration: 'stand-in', scope: 'user', apiKey: 'key-good-1' }),
      });
      expect(created.status).toBe(201);
      const { connection } = (await created.json()) as { connection: { id: string } };
      expect(connection).toMatchObject({ status: 'active', keyUnused: false, lastUsedAt: null });
      const shown = async () =>
        (await api.call('GET', `/v1/connections/${connection.id}`, { token: tokens.member })).body.connection;
      const notices = async () =>
        (await api.db('connection_events').where({ connection_id: connection.id, reason: 'key_unused' }))
          .length;

      // Never used: the workflow notes it once, and the connection shows it.
      expect(await eventually(notices, (n) => n === 1)).toBe(1);
      expect(await shown()).toMatchObject({ keyUnused: true, lastUsedAt: null });

      // Used (a token handed out, its grant written): no longer unused, from the grant's time on.
      expect(
        (await api.call('POST', `/v1/connections/${connection.id}/token`, { token: tokens.admin })).status,
      ).toBe(200);
      await api.flushGrants();
      const [grant] = await api.db('credential_grants').where({ connection_id: connection.id });
      expect(await shown()).toMatchObject({
        keyUnused: false,
        lastUsedAt: grant.last_granted_at.toISOString(),
      });
      expect(await notices()).toBe(1);
    } finally {
      await aging.close();
    }
  });

  it('answers 502 provider_unavailable when the provider cannot verify a key (503s injected), and a rotation keeps the old key', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: tokens.admin,
      body: { integration: 'stand-in', scope: 'workspace', apiKey: 'key-good-1' },
    });
    expect(created.status).toBe(201);
    provider.injectFault(503, 1_000);
    try {
      const down = await api.call('POST', '/v1/connections', {
        token: tokens.admin,
        body: { integration: 'stand-in', scope: 'workspace', apiKey: 'key-good-2' },
      });
      expect(down.status).toBe(502);
      expect(down.body.error).toMatchObject({
        code: 'provider_unavailable',
        details: { status: 'failed', reason: 'provider_unavailable' },
      });
      const rotated = await api.call('PUT', `/v1/connections/${created.body.connection.id}/api-key`, {
        token: tokens.admin,
        body: { apiKey: 'key-good-2' },
      });
      expect([rotated.status, rotated.body.error.code]).toEqual([502, 'provider_unavailable']);
    } finally {
      provider.clearFaults();
    }
    const token = await api.call('POST', `/v1/connections/${created.body.connection.id}/token`, {
      token: tokens.admin,
    });
    expect(token.body.apiKey).toBe('key-good-1');
  });

  it('lists what each caller may see, with filters', async () => {
    const ids = async (token: string, query = '') => {
      const answer = await api.call('GET', `/v1/connections${query}`, { token });
      expect(answer.status).toBe(200);
      return answer.body.connections.map((c: { id: string }) => c.id);
    };
    for (const token of [tokens.owner, tokens.admin]) {
      expect(await ids(token)).toEqual(expect.arrayContaining([shared, mine, theirs]));
    }
    const member = await ids(tokens.member);
    expect(member).toEqual(expect.arrayContaining([shared, mine]));
    expect(member).not.toContain(theirs);
    const agent2 = await ids(tokens.agent2);
    expect(agent2).toEqual(expect.arrayContaining([shared, theirs]));
    expect(agent2).not.toContain(mine);
    expect(await ids(tokens.foreign)).toEqual([]);

    const users = await ids(tokens.admin, '?scope=user&status=active');
    expect(users).toEqual(expect.arrayContaining([mine, theirs]));
    expect(users).not.toContain(shared);
    expect(await ids(tokens.admin, '?integration=stand-in')).not.toContain(shared);
    expect(await ids(tokens.admin, '?status=disconnected')).not.toContain(shared);
    expect(await status('GET', '/v1/connections?status=broken', tokens.admin)).toBe(400);
    expect(await status('GET', '/v1/connections?owner=me', tokens.admin)).toBe(400);
    expect(await status('GET', '/v1/connections')).toBe(401);
  });

  it('reads a connection and its events: 404 for what the caller may not see, 400 for a malformed id', async () => {
    const expectations: Array<[keyof typeof tokens, string, number]> = [
      ['owner', theirs, 200],
      ['admin', mine, 200],
      ['member', shared, 200],
      ['member', mine, 200],
      ['member', theirs, 404],
      ['agent', shared, 200],
      ['agent', mine, 200],
      ['agent', theirs, 404],
      ['foreign', shared, 404],
      ['foreign', mine, 404],
      ['admin', randomUUID(), 404],
    ];
    for (const [caller, id, expected] of expectations) {
      for (const route of [`/v1/connections/${id}`, `/v1/connections/${id}/events`]) {
        const answer = await api.call('GET', route, { token: tokens[caller] });
        expect([caller, route, answer.status]).toEqual([caller, route, expected]);
        if (expected === 404) expect(answer.body.error.code).toBe('not_found');
      }
    }
    const foreign = await api.call('GET', `/v1/connections/${shared}`, { token: tokens.foreign });
    const unknown = await api.call('GET', `/v1/connections/${randomUUID()}`, { token: tokens.foreign });
    expect(foreign.body.error.code).toBe(unknown.body.error.code);
    expect(await status('GET', '/v1/connections/not-a-uuid', tokens.admin)).toBe(400);
    expect(await status('GET', `/v1/connections/not-a-uuid/events`, tokens.admin)).toBe(400);
    expect(await status('GET', `/v1/connections/${shared}`)).toBe(401);
  });

  it('lets owners, admins and the owning member re-authorize, refresh, deactivate and activate', async () => {
    const act = (token: string, id: string, action: string) =>
      status('POST', `/v1/connections/${id}/${action}`, token, action === 'reauthorize' ? {} : undefined);
    for (const action of ['reauthorize', 'refresh', 'deactivate', 'activate']) {
      expect([action, await act(tokens.member, shared, action)]).toEqual([action, 403]);
      expect([action, await act(tokens.member, theirs, action)]).toEqual([action, 404]);
      expect([action, await act(tokens.agent, shared, action)]).toEqual([action, 403]);
      expect([action, await act(tokens.foreign, shared, action)]).toEqual([action, 404]);
      expect([action, await status('POST', `/v1/connections/${shared}/${action}`)]).toEqual([action, 401]);
      expect([action, await act(tokens.admin, 'nope', action)]).toEqual([action, 400]);
    }
    const reauthorized = await api.call('POST', `/v1/connections/${mine}/reauthorize`, {
      token: tokens.member,
      body: { returnTo: '/back' },
    });
    expect(reauthorized.status).toBe(200);
    expect(reauthorized.body.connection).toMatchObject({ id: mine, status: 'active' });
    expect(new URL(reauthorized.body.authorizationUrl).searchParams.get('state')).toBeTruthy();
    expect(
      await status('POST', `/v1/connections/${mine}/reauthorize`, tokens.member, {
        returnTo: 'https://x.example',
      }),
    ).toBe(400);
    // The re-authorization completes through the callback and returns where it was asked to.
    const callback = await authorizeInBrowser(reauthorized.body.authorizationUrl);
    const landed = await api.call('GET', `/v1/oauth/callback${callback.search}`);
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe(`http://127.0.0.1:9/back?connection=${mine}&status=active`);

    for (const [token, id] of [
      [tokens.member, mine],
      [tokens.owner, shared],
      [tokens.admin, theirs],
    ] as const) {
      const refreshed = await api.call('POST', `/v1/connections/${id}/refresh`, { token });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.connection.status).toBe('active');
      const deactivated = await api.call('POST', `/v1/connections/${id}/deactivate`, { token });
      expect(deactivated.body.connection.status).toBe('inactive');
      const activated = await api.call('POST', `/v1/connections/${id}/activate`, { token });
      expect(activated.body.connection.status).toBe('active');
    }
    expect(await act(tokens.admin, mine, 'activate')).toBe(409);
  });

  it('registers, lists and removes dependents: reads by all, writes by all but members', async () => {
    const route = (id: string, kind = 'task', dependent = 'task-1') =>
      `/v1/connections/${id}/dependents/${kind}/${dependent}`;
    expect(await status('PUT', route(shared), tokens.member, {})).toBe(403);
    expect(await status('PUT', route(shared), undefined, {})).toBe(401);
    expect(await status('PUT', route(shared), tokens.foreign, {})).toBe(404);
    expect(await status('PUT', route(theirs), tokens.agent, {})).toBe(404);
    expect(await status('PUT', route(shared, 'robot'), tokens.admin, {})).toBe(400);
    expect(await status('PUT', route(shared, 'task', 'bad id'), tokens.admin, {})).toBe(400);
    expect(await status('PUT', route(shared), tokens.admin, { callbackUrl: 'ftp://x' })).toBe(400);
    expect(await status('PUT', route(shared), tokens.admin, { other: 1 })).toBe(400);
    expect(await status('PUT', route(shared), tokens.agent, { name: 'Nightly sync' })).toBe(201);
    expect(await status('PUT', route(shared), tokens.owner, { name: 'Nightly sync, renamed' })).toBe(200);
    expect(await status('PUT', route(shared, 'automation', 'auto-1'), tokens.admin)).toBe(201);

    for (const caller of ['owner', 'admin', 'member', 'agent'] as const) {
      const listed = await api.call('GET', `/v1/connections/${shared}/dependents`, { token: tokens[caller] });
      expect(listed.status).toBe(200);
      expect(listed.body.dependents).toMatchObject([
        { kind: 'task', id: 'task-1', name: 'Nightly sync, renamed', registeredBy: 'agent-1' },
        { kind: 'automation', id: 'auto-1', name: null },
      ]);
    }
    expect(await status('GET', `/v1/connections/${shared}/dependents`, tokens.foreign)).toBe(404);
    expect(await status('GET', `/v1/connections/${theirs}/dependents`, tokens.member)).toBe(404);
    expect(await status('GET', `/v1/connections/${shared}/dependents`)).toBe(401);

    expect(await status('DELETE', route(shared), tokens.member)).toBe(403);
    expect(await status('DELETE', route(shared), tokens.foreign)).toBe(404);
    expect(await status('DELETE', route(shared), tokens.agent)).toBe(204);
    expect(await status('DELETE', route(shared), tokens.agent)).toBe(404);
    expect(await status('DELETE', route(shared, 'automation', 'auto-1'), tokens.admin)).toBe(204);
  });

  it('deletes: 409 while dependents remain, force for owners and admins only, 404 across workspaces', async () => {
    const victim = await connect(tokens.member, 'user');
    await api.call('PUT', `/v1/connections/${victim}/dependents/project_setup/setup-9`, {
      token: tokens.admin,
    });
    expect(await status('DELETE', `/v1/connections/${victim}`)).toBe(401);
    expect(await status('DELETE', `/v1/connections/${victim}`, tokens.agent)).toBe(403);
    expect(await status('DELETE', `/v1/connections/${victim}`, tokens.member2)).toBe(404);
    expect(await status('DELETE', `/v1/connections/${victim}`, tokens.foreign)).toBe(404);
    expect(await status('DELETE', `/v1/connections/${victim}?force=yes`, tokens.admin)).toBe(400);
    expect(await status('DELETE', `/v1/connections/${shared}`, tokens.member)).toBe(403);
    const conflict = await api.call('DELETE', `/v1/connections/${victim}`, { token: tokens.member });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({
      code: 'has_dependents',
      details: { dependents: [{ kind: 'project_setup', id: 'setup-9' }] },
    });
    expect(await status('DELETE', `/v1/connections/${victim}?force=true`, tokens.member)).toBe(403);
    expect((await api.db('connections').where({ id: victim }).first()).status).toBe('active');

    await api.call('DELETE', `/v1/connections/${victim}/dependents/project_setup/setup-9`, {
      token: tokens.admin,
    });
    const removed = await api.call('DELETE', `/v1/connections/${victim}`, { token: tokens.member });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ connection: { status: 'disconnected' }, notified: [] });
    // Deleting again is harmless; registering a dependent on it is refused.
    expect(await status('DELETE', `/v1/connections/${victim}`, tokens.owner)).toBe(200);
    expect(await status('PUT', `/v1/connections/${victim}/dependents/task/t-1`, tokens.admin, {})).toBe(409);

    const forced = await connect(tokens.admin, 'workspace');
    await api.call('PUT', `/v1/connections/${forced}/dependents/task/t-2`, { token: tokens.agent });
    const gone = await api.call('DELETE', `/v1/connections/${forced}?force=true`, { token: tokens.owner });
    expect(gone.status).toBe(200);
    expect(gone.body.notified).toEqual([
      { kind: 'task', dependentId: 't-2', event: 'connection_disconnected' },
    ]);
  });

  it('documents every connection route in the OpenAPI document', async () => {
    const { body } = await api.call('GET', '/openapi.json');
    const routes: Array<[string, string]> = [
      ['post', '/v1/connections'],
      ['get', '/v1/connections'],
      ['get', '/v1/oauth/callback'],
      ['get', '/v1/connections/{id}'],
      ['delete', '/v1/connections/{id}'],
      ['get', '/v1/connections/{id}/events'],
      ['post', '/v1/connections/{id}/reauthorize'],
      ['post', '/v1/connections/{id}/refresh'],
      ['post', '/v1/connections/{id}/deactivate'],
      ['post', '/v1/connections/{id}/activate'],
      ['put', '/v1/connections/{id}/api-key'],
      ['get', '/v1/connections/{id}/dependents'],
      ['put', '/v1/connections/{id}/dependents/{kind}/{dependentId}'],
      ['delete', '/v1/connections/{id}/dependents/{kind}/{dependentId}'],
    ];
    for (const [method, path] of routes)
      expect([method, path, !!body.paths[path]?.[method]]).toEqual([method, path, true]);
  });
});
