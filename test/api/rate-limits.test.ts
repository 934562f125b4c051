// Rate limits as an abuser meets them: counted by who the verified caller is (not by how the Authorization
// header is spelled), by client address on the public callback (believing X-Forwarded-For only from the
// proxies TRUST_PROXY names), and on the refreshes the proxy and the token route make on their own, counted
// at the provider's token endpoint. The provider's 401s are injected deliberately (the stand-in API's fault
// injection): a real provider sends them when it no longer accepts a token.
import { integrationStore } from '../../integrations/integration-store.js';
import type { OAuthProviderConfig } from '../../providers/provider-config.js';
import { startApiHarness, connectThroughApi, type ApiHarness } from '../support/api.js';
import { eventually } from '../support/lifecycle.js';
import { listen } from '../support/http.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const LIMIT = 3;
const PROXY_LIMIT = 20;

describe('rate limits', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let oauthId: string;

  beforeAll(async () => {
    api = await startApiHarness({
      rateLimits: { connect: LIMIT, callback: LIMIT, refresh: LIMIT, change: LIMIT, proxy: PROXY_LIMIT },
      trustProxy: ['loopback'],
    });
    provider = await startStandInApi();
    const oidc = (await integrationStore.get(api.db, api.workspaceId, api.integration))!;
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: api.integration,
      provider: { ...(oidc.provider as OAuthProviderConfig), apiBaseUrl: provider.baseUrl },
      clientId: oidc.clientId,
    });
    // Made by an owner, so that the admins' connect budgets below start full.
    oauthId = await connectThroughApi(
      api,
      await api.token({ role: 'owner', sub: 'owner-setup' }),
      'workspace',
    );
  });
  afterAll(async () => {
    await api?.stop();
    await provider?.stop();
  });

  const connect = (authorization: string) =>
    api.call('POST', '/v1/connections', {
      headers: { authorization },
      body: { integration: 'not-configured', scope: 'workspace' },
    });

  it('counts a caller by who it is: a new token or another spelling of "Bearer" gets no new quota', async () => {
    const first = await api.token({ role: 'admin', sub: 'admin-spender' });
    // The same caller with other token strings (other expiries), as a client minting fresh tokens would.
    const second = await api.token({ role: 'admin', sub: 'admin-spender' }, { expiresIn: '2h' });
    const third = await api.token({ role: 'admin', sub: 'admin-spender' }, { expiresIn: '3h' });
    expect(new Set([first, second, third]).size).toBe(3);
    const spent = [];
    for (let i = 0; i < LIMIT; i++) spent.push((await connect(`Bearer ${first}`)).status);
    expect(spent.every((status) => status !== 429)).toBe(true);
    for (const authorization of [
      `bearer ${first}`,
      `BEARER ${first}`,
      `Bearer ${second}`,
      `Bearer ${third}`,
    ]) {
      const limited = await connect(authorization);
      expect([authorization.split(' ')[0], limited.status]).toEqual([authorization.split(' ')[0], 429]);
      expect(limited.body.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('gives two callers separate quotas', async () => {
    const one = await api.token({ role: 'admin', sub: 'admin-one' });
    const two = await api.token({ role: 'admin', sub: 'admin-two' });
    for (let i = 0; i < LIMIT; i++) expect((await connect(`Bearer ${one}`)).status).not.toBe(429);
    expect((await connect(`Bearer ${one}`)).status).toBe(429);
    expect((await connect(`Bearer ${two}`)).status).not.toBe(429);
  });

  const callback = (url: string, forwardedFor?: string) =>
    fetch(`${url}/v1/oauth/callback?state=made-up&code=x`, {
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    }).then((response) => response.status);

  it('counts the public callback by client address, believing X-Forwarded-For from a trusted proxy', async () => {
    for (let i = 0; i < LIMIT; i++) expect(await callback(api.url, '203.0.113.7')).toBe(400);
    expect(await callback(api.url, '203.0.113.7')).toBe(429);
    // Another client behind the same (trusted, loopback) proxy has its own budget.
    expect(await callback(api.url, '203.0.113.8')).toBe(400);
  });

  it('ignores X-Forwarded-For when no proxy is trusted (the default)', async () => {
    const untrusting = await listen(api.appWith({ trustProxy: false, rateLimits: { callback: LIMIT } }));
    try {
      // Each request claims another address; all come from this one loopback client, and count as it.
      const statuses = [];
      for (let i = 0; i <= LIMIT; i++) statuses.push(await callback(untrusting.url, `198.51.100.${i}`));
      expect(statuses).toEqual([...Array(LIMIT).fill(400), 429]);
    } finally {
      await untrusting.close();
    }
  });

  it('refreshes at most the limit when a storm of proxied calls is answered 401 by the provider', async () => {
    const agent = await api.token({ role: 'agent', sub: 'agent-storm', on_behalf_of: 'member-1' });
    const refreshes = api.oidc.tokenRequests('refresh_token');
    const calls = 12;
    // Deliberate fault: the provider refuses every request of the storm, retries included (a call within
    // the limit is sent twice, one past it once).
    provider.injectFault(401, LIMIT * 2 + (calls - LIMIT));
    const statuses: number[] = [];
    for (let i = 0; i < calls; i++) {
      const answer = await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/storm`, { token: agent });
      statuses.push(answer.status);
      if (answer.status === 429) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(api.oidc.tokenRequests('refresh_token') - refreshes).toBe(LIMIT);
    // Within the limit the provider's second 401 is passed back; past it, no refresh is asked: 429.
    expect(statuses).toEqual([...Array(LIMIT).fill(401), ...Array(calls - LIMIT).fill(429)]);
  });

  it('counts proxied calls per caller', async () => {
    const one = await api.token({ role: 'agent', sub: 'agent-a', on_behalf_of: 'member-1' });
    const two = await api.token({ role: 'agent', sub: 'agent-b', on_behalf_of: 'member-1' });
    const unknown = '00000000-0000-4000-8000-000000000000';
    const proxied = async (token: string) =>
      (await api.call('GET', `/v1/connections/${unknown}/proxy/x`, { token })).status;
    const statuses = [];
    for (let i = 0; i <= PROXY_LIMIT; i++) statuses.push(await proxied(one));
    expect(statuses).toEqual([...Array(PROXY_LIMIT).fill(404), 429]);
    expect(await proxied(two)).toBe(404);
  });
});

describe('the token route near expiry, over the refresh limit', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    // Two-second tokens the workflow would refresh only at expiry, and a floor of ten minutes between its
    // refreshes: once a token is due, every read finds it due and would ask the workflow again.
    api = await startApiHarness({
      rateLimits: { refresh: 2 },
      oidc: { accessTokenTtlSeconds: 2 },
      settings: { refreshMarginMs: 0, refreshJitterMs: 0, refreshFloorMs: 600_000 },
    });
  });
  afterAll(async () => api?.stop());

  it('asks the workflow at most the limit, hands out the current token while it is valid, then answers 429', async () => {
    const admin = await api.token({ role: 'admin' });
    const id = await connectThroughApi(api, admin, 'workspace');
    const agent = await api.token({ role: 'agent', sub: 'agent-margin', on_behalf_of: 'member-1' });
    const refreshes = api.oidc.tokenRequests('refresh_token');
    const answers: Array<{ status: number; body: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    await eventually(
      async () => {
        const answer = await api.call('POST', `/v1/connections/${id}/token`, { token: agent });
        if (answer.status === 200) api.addSecret(answer.body.accessToken);
        answers.push(answer);
        return answer.status;
      },
      (status) => status !== 200,
      { attempts: 100, intervalMs: 100 },
    );
    expect(answers.at(-1)).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    // One refresh reached the provider (the first the route asked for; the floor kept the second from it),
    // and the workflow was asked twice: the limit.
    expect(api.oidc.tokenRequests('refresh_token') - refreshes).toBe(1);
    const history = await api.client.workflow.getHandle(`connection-${id}`).fetchHistory();
    const asked = (history.events ?? []).filter(
      (event) =>
        event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'refresh',
    );
    expect(asked).toHaveLength(2);
    // Meanwhile the reads were answered with the refreshed token, as long as it was valid.
    const tokens = answers.filter((answer) => answer.status === 200).map((answer) => answer.body.accessToken);
    expect(new Set(tokens).size).toBe(2);
  });
});
