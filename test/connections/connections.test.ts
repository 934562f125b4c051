// The connection routes over the real stack, driven as an admin would: create an OAuth connection, sign in
// and consent at the provider (oidc-provider), land on the callback, then the lifecycle actions, dependents
// and the safe delete. Callbacks that must be refused (replayed, another connection's state, wrong iss)
// answer 400 and change nothing.
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';

describe('connections API, end to end', () => {
  let api: ApiHarness;
  let admin: string;
  beforeAll(async () => {
    api = await startApiHarness();
    admin = await api.token({ role: 'admin' });
  });
  afterAll(async () => {
    await api?.stop();
  });

  const callbackRoute = (callback: URL) => `/v1/oauth/callback${callback.search}`;
  const state = async (id: string) => {
    const [row, events, credentials] = await Promise.all([
      api.db('connections').where({ id }).first(),
      api.db('connection_events').where({ connection_id: id }).orderBy('sequence'),
      api.db('credentials').where({ connection_id: id }),
    ]);
    return { row, events, credentials: credentials.map((c) => JSON.stringify(c.envelope)) };
  };

  it('creates, authorizes, refreshes, deactivates, activates, protects and force-deletes a connection', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace', name: 'Shared test account' },
    });
    expect(created.status).toBe(201);
    expect(created.body.connection).toMatchObject({
      integration: api.integration,
      scope: 'workspace',
      ownerUserId: null,
      name: 'Shared test account',
      status: 'pending',
      authType: 'oauth2',
    });
    const id: string = created.body.connection.id;
    const authorizationUrl = new URL(created.body.authorizationUrl);
    expect(authorizationUrl.origin).toBe(new URL(api.oidc.issuer).origin);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:9/v1/oauth/callback');

    const callback = await authorizeInBrowser(created.body.authorizationUrl);
    const landed = await api.call('GET', callbackRoute(callback));
    expect(landed.status).toBe(200);
    expect(landed.headers.get('content-type')).toMatch(/^text\/html/);
    expect(landed.body).toContain('Connected');
    expect(landed.body).not.toContain(callback.searchParams.get('code')!);

    const read = await api.call('GET', `/v1/connections/${id}`, { token: admin });
    expect(read.status).toBe(200);
    expect(read.body.connection).toMatchObject({ id, status: 'active', statusReason: 'authorized' });
    expect(Date.parse(read.body.connection.tokenExpiresAt)).toBeGreaterThan(Date.now());
    expect(Object.keys(read.body.connection).sort()).toEqual(
      [
        'id',
        'integration',
        'scope',
        'ownerUserId',
        'name',
        'authType',
        'status',
        'statusReason',
        'createdAt',
        'updatedAt',
        'tokenExpiresAt',
        'nextRefreshAt',
        'lastUsedAt',
        'keyCreatedAt',
        'keyRotationDueAt',
        'keyUnused',
        'grantedScopes',
        'account',
        'providerData',
        'params',
        'refreshTokenExpiresAt',
        'warnings',
      ].sort(),
    );
    // The test integration describes no identity: no account is known, no provider data kept.
    expect(read.body.connection).toMatchObject({ account: null, providerData: {} });

    const events = await api.call('GET', `/v1/connections/${id}/events`, { token: admin });
    expect(events.status).toBe(200);
    expect(
      events.body.events.map((e: { from: string; to: string; actor: string }) => [e.from, e.to, e.actor]),
    ).toEqual([
      [null, 'pending', 'admin-1'],
      ['pending', 'active', 'provider'],
    ]);

    const refreshes = api.oidc.tokenRequests('refresh_token');
    const refreshed = await api.call('POST', `/v1/connections/${id}/refresh`, { token: admin });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.connection.status).toBe('active');
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes + 1);

    const deactivated = await api.call('POST', `/v1/connections/${id}/deactivate`, { token: admin });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.connection).toMatchObject({ status: 'inactive', statusReason: 'deactivated' });
    const activated = await api.call('POST', `/v1/connections/${id}/activate`, { token: admin });
    expect(activated.status).toBe(200);
    expect(activated.body.connection).toMatchObject({ status: 'active', statusReason: 'activated' });

    const registered = await api.call('PUT', `/v1/connections/${id}/dependents/agent/agent-42`, {
      token: admin,
      body: { name: 'Weekly report agent' },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.dependent).toMatchObject({
      kind: 'agent',
      id: 'agent-42',
      registeredBy: 'admin-1',
    });

    const refused = await api.call('DELETE', `/v1/connections/${id}`, { token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('has_dependents');
    expect(refused.body.error.details.dependents).toMatchObject([{ kind: 'agent', id: 'agent-42' }]);
    expect((await api.call('GET', `/v1/connections/${id}`, { token: admin })).body.connection.status).toBe(
      'active',
    );

    const removed = await api.call('DELETE', `/v1/connections/${id}?force=true`, { token: admin });
    expect(removed.status).toBe(200);
    expect(removed.body.connection.status).toBe('disconnected');
    expect(removed.body.notified).toEqual([
      { kind: 'agent', dependentId: 'agent-42', event: 'connection_disconnected' },
    ]);
    expect(await api.db('dependent_notifications').where({ connection_id: id })).toMatchObject([
      { kind: 'agent', dependent_id: 'agent-42', event: 'connection_disconnected', actor: 'admin-1' },
    ]);
    expect((await state(id)).credentials).toEqual([]);
    const after = await api.call('GET', `/v1/connections/${id}`, { token: admin });
    expect(after.body.connection).toMatchObject({ status: 'disconnected' });
    const finalEvents = await api.call('GET', `/v1/connections/${id}/events`, { token: admin });
    expect(finalEvents.body.events.at(-1)).toMatchObject({
      from: 'active',
      to: 'disconnected',
      reason: 'removed_with_dependents',
      actor: 'admin-1',
    });
  });

  it('redirects to an allowed returnTo with the outcome, and refuses any other target creating nothing', async () => {
    const before = await api.db('connections').count({ n: '*' }).first();
    for (const returnTo of [
      'https://evil.example/done',
      '//evil.example/done',
      '/\\evil.example',
      'http://127.0.0.1:9@evil.example/',
      'javascript:alert(1)',
    ]) {
      const answer = await api.call('POST', '/v1/connections', {
        token: admin,
        body: { integration: api.integration, scope: 'workspace', returnTo },
      });
      expect([returnTo, answer.status, answer.body.error?.code]).toEqual([returnTo, 400, 'invalid_request']);
    }
    expect(await api.db('connections').count({ n: '*' }).first()).toEqual(before);

    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace', returnTo: '/settings/connections?tab=all' },
    });
    expect(created.status).toBe(201);
    const callback = await authorizeInBrowser(created.body.authorizationUrl);
    const landed = await api.call('GET', callbackRoute(callback));
    expect(landed.status).toBe(303);
    const location = new URL(landed.headers.get('location')!);
    expect(location.origin).toBe('http://127.0.0.1:9');
    expect(location.pathname).toBe('/settings/connections');
    expect(Object.fromEntries(location.searchParams)).toEqual({
      tab: 'all',
      connection: created.body.connection.id,
      status: 'active',
    });
  });

  it('shows a clear page when the user denies access, and sanitises the provider error', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    const callback = await authorizeInBrowser(created.body.authorizationUrl, { deny: true });
    const landed = await api.call('GET', callbackRoute(callback));
    expect(landed.status).toBe(200);
    expect(landed.body).toContain('Access denied');
    const read = await api.call('GET', `/v1/connections/${created.body.connection.id}`, { token: admin });
    expect(read.body.connection).toMatchObject({ status: 'failed', statusReason: 'access_denied' });

    const other = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    const state = new URL(other.body.authorizationUrl).searchParams.get('state')!;
    const page = await api.call(
      'GET',
      `/v1/oauth/callback?state=${encodeURIComponent(state)}&error=${encodeURIComponent('<script>x</script>')}`,
    );
    expect(page.body).not.toContain('<script>x');
    expect(page.body).toContain('invalid_error');
  });

  it('answers 400 with a plain page, changing nothing, to a replayed callback, a foreign state and a wrong iss', async () => {
    const first = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    const second = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    const firstCallback = await authorizeInBrowser(first.body.authorizationUrl);
    const secondCallback = await authorizeInBrowser(second.body.authorizationUrl);
    const firstId = first.body.connection.id;
    const secondId = second.body.connection.id;
    const before = [await state(firstId), await state(secondId)];

    const foreign = new URLSearchParams(secondCallback.search);
    foreign.set('code', firstCallback.searchParams.get('code')!);
    const wrongIss = new URLSearchParams(firstCallback.search);
    wrongIss.set('iss', 'https://evil.example');
    const tokenRequests = api.oidc.tokenRequests();
    for (const query of [foreign, wrongIss]) {
      const answer = await api.call('GET', `/v1/oauth/callback?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.body).toContain('Link expired or already used');
    }
    expect([await state(firstId), await state(secondId)]).toEqual(before);

    // Each flow still completes with its own callback; replaying it afterwards is refused.
    expect((await api.call('GET', callbackRoute(firstCallback))).status).toBe(200);
    const done = await state(firstId);
    expect(done.row.status).toBe('active');
    const requestsAfter = api.oidc.tokenRequests();
    expect(requestsAfter).toBeGreaterThan(tokenRequests);
    const replayed = await api.call('GET', callbackRoute(firstCallback));
    expect(replayed.status).toBe(400);
    expect(replayed.body).toContain('Link expired or already used');
    expect(await state(firstId)).toEqual(done);
    expect(api.oidc.tokenRequests()).toBe(requestsAfter);

    for (const route of ['/v1/oauth/callback', '/v1/oauth/callback?state=made-up&code=x']) {
      const answer = await api.call('GET', route);
      expect(answer.status).toBe(400);
      expect(answer.body).toContain('Link expired or already used');
    }
  });
});
