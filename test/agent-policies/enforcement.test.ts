// Agents' access policies as the proxy and the token route apply them, over the real stack: a read-only
// policy refuses a POST, a path policy refuses other paths (at segment boundaries), an unlisted integration
// and a raw token are refused unless allowed, each with 403 `policy_denied` naming the rule and before
// anything reaches the provider; agents without a policy in a governed workspace use the proxy only, a
// workspace without any policy works as before, owners and admins are never governed. Every refusal is in
// the connection's grants with its rule, method and path. A change applies to the next call, in this process
// (its cache dropped) and in another (told by Postgres NOTIFY), and a warm cache asks Postgres nothing.
import { randomUUID } from 'node:crypto';
import { ConnectionChangeListener } from '../../connections/connection-changes.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { policyStore } from '../../agent-policies/policy-store.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';
import { eventually } from '../support/lifecycle.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

describe('access policies at the proxy and the token route', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let admin: string;
  let other: { url: string; close(): Promise<void> } | undefined;
  let otherChanges: ConnectionChangeListener | undefined;
  /** Connections of `stand-in` and of `stand-in-b`, both workspace-wide API keys. */
  let keyA: string;
  let keyB: string;
  const apiKeys = ['key-policy-a', 'key-policy-b', 'key-policy-c'];
  const agents: Record<string, string> = {};

  const configure = (workspaceId: string, key: string) =>
    integrationStore.configure(api.db, api.vault, {
      workspaceId,
      key,
      provider: {
        authType: 'api_key',
        apiBaseUrl: `${provider.baseUrl}/echo`,
        injection: { in: 'header', name: 'X-Api-Key', prefix: '' },
      },
    });
  const connect = async (token: string, integration: string, apiKey: string) => {
    const made = await api.call('POST', '/v1/connections', {
      token,
      body: { integration, scope: 'workspace', apiKey },
    });
    expect(made.status).toBe(201);
    return made.body.connection.id as string;
  };
  const setPolicy = async (agentId: string, integrations: unknown, base = api.url) => {
    const response = await fetch(`${base}/v1/agents/${agentId}/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ integrations }),
    });
    expect([200, 201]).toContain(response.status);
  };
  const proxy = (method: string, id: string, path: string, token: string) =>
    api.call(method, `/v1/connections/${id}/proxy${path}`, { token, headers: { 'x-task-id': 'task-p' } });
  const takeToken = (id: string, token: string) =>
    api.call('POST', `/v1/connections/${id}/token`, { token, body: { taskId: 'task-t' } });
  const agentToken = async (sub: string, workspace?: string) =>
    api.token({ role: 'agent', sub, on_behalf_of: 'member-1', ...(workspace && { workspace }) });

  beforeAll(async () => {
    api = await startApiHarness();
    provider = await startStandInApi();
    await configure(api.workspaceId, 'stand-in');
    await configure(api.workspaceId, 'stand-in-b');
    admin = await api.token({ role: 'admin' });
    keyA = await connect(admin, 'stand-in', apiKeys[0]!);
    keyB = await connect(admin, 'stand-in-b', apiKeys[1]!);
    for (const sub of ['reader', 'pathy', 'tokener', 'plain', 'changer', 'far']) {
      agents[sub] = await agentToken(sub);
    }
    await setPolicy('reader', { 'stand-in': { methods: 'read_only' } });
    await setPolicy('pathy', { 'stand-in': { paths: ['/repos/acme'] } });
    await setPolicy('tokener', { 'stand-in': { token: true } });
  });
  afterAll(async () => {
    await other?.close();
    await otherChanges?.stop();
    await api?.stop();
    await provider?.stop();
  });

  /** The answer of a refusal: 403 policy_denied with the rule and what was refused, and no credential. */
  const expectRefused = (
    answer: { status: number; body: any }, // eslint-disable-line @typescript-eslint/no-explicit-any
    details: Record<string, string>,
  ) => {
    expect([answer.status, answer.body.error.code]).toEqual([403, 'policy_denied']);
    expect(answer.body.error.details).toEqual(details);
    const text = JSON.stringify(answer.body);
    for (const secret of [...apiKeys, ...Object.values(agents), admin]) expect(text).not.toContain(secret);
  };

  it('a read-only policy allows GET and HEAD and refuses a POST before it reaches the provider', async () => {
    expect((await proxy('GET', keyA, '/items', agents.reader!)).status).toBe(200);
    expect((await proxy('HEAD', keyA, '/items', agents.reader!)).status).toBe(200);
    const sent = provider.requests.length;
    expectRefused(await proxy('POST', keyA, '/items', agents.reader!), {
      rule: 'method',
      integration: 'stand-in',
      method: 'POST',
      path: '/items',
    });
    expect(provider.requests.length).toBe(sent);
  });

  it('a path policy allows its prefix and below it, and refuses other paths and look-alike prefixes', async () => {
    for (const path of ['/repos/acme', '/repos/acme/issues?state=open', '/repos/%61cme/pulls']) {
      const answer = await proxy('POST', keyA, path, agents.pathy!);
      expect([path, answer.status]).toEqual([path, 200]);
    }
    for (const path of ['/repos/acme-evil', '/repos', '/users/acme']) {
      expectRefused(await proxy('GET', keyA, path, agents.pathy!), {
        rule: 'path',
        integration: 'stand-in',
        method: 'GET',
        path,
      });
    }
  });

  it('refuses an integration the policy does not list, through the proxy and the token route', async () => {
    expectRefused(await proxy('GET', keyB, '/items', agents.reader!), {
      rule: 'integration',
      integration: 'stand-in-b',
      method: 'GET',
      path: '/items',
    });
    expectRefused(await takeToken(keyB, agents.tokener!), { rule: 'integration', integration: 'stand-in-b' });
  });

  it('hands a raw token only to an agent whose policy allows it; others use the proxy only', async () => {
    const granted = await takeToken(keyA, agents.tokener!);
    expect([granted.status, granted.body.apiKey]).toEqual([200, apiKeys[0]]);
    // A policy without `token`, and an agent without a policy in a workspace that has some (the default).
    expectRefused(await takeToken(keyA, agents.reader!), { rule: 'token', integration: 'stand-in' });
    expectRefused(await takeToken(keyB, agents.plain!), { rule: 'token', integration: 'stand-in-b' });
    // The default allows every integration, method and path through the proxy.
    expect((await proxy('DELETE', keyB, '/anything', agents.plain!)).status).toBe(200);
  });

  it('never governs owners and admins', async () => {
    const owner = await api.token({ role: 'owner', sub: 'owner-1' });
    for (const caller of [admin, owner]) {
      expect((await proxy('POST', keyB, '/items', caller)).status).toBe(200);
      expect((await takeToken(keyB, caller)).status).toBe(200);
    }
  });

  it('leaves a workspace without any policy as it was: any method, and the token', async () => {
    const workspace = `ws-${randomUUID()}`;
    await configure(workspace, 'stand-in');
    const theirAdmin = await api.token({ role: 'admin', sub: 'admin-2', workspace });
    const id = await connect(theirAdmin, 'stand-in', apiKeys[2]!);
    // `reader` is read-only in the other workspace: not here.
    const reader = await agentToken('reader', workspace);
    expect((await proxy('POST', id, '/items', reader)).status).toBe(200);
    const granted = await takeToken(id, reader);
    expect([granted.status, granted.body.apiKey]).toEqual([200, apiKeys[2]]);
    const shown = await api.call('GET', '/v1/agents/reader/policy', { token: theirAdmin });
    expect(shown.body).toEqual({ policy: null, effective: 'none' });
  });

  it("records refusals and allowed uses in the connection's grants, with rule, method and path", async () => {
    const audited = await agentToken('audited');
    await setPolicy('audited', { 'stand-in': { methods: ['GET'], paths: ['/ok'] } });
    expect((await proxy('GET', keyA, '/ok/1?secret-looking=query', audited)).status).toBe(200);
    expect((await proxy('PATCH', keyA, '/ok/1', audited)).status).toBe(403);
    expect((await proxy('GET', keyA, '/not-ok', audited)).status).toBe(403);
    expect((await proxy('GET', keyA, '/not-ok', audited)).status).toBe(403);
    expect((await takeToken(keyA, audited)).status).toBe(403);
    await api.flushGrants();

    const answer = await api.call('GET', `/v1/connections/${keyA}/grants?limit=1000`, { token: admin });
    expect(answer.status).toBe(200);
    const mine = answer.body.grants.filter((grant: { caller: string }) => grant.caller === 'audited');
    const common = { role: 'agent', onBehalfOf: 'member-1', via: 'api' };
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ...common,
          kind: 'proxy',
          outcome: 'allowed',
          refusedRule: null,
          method: 'GET',
          path: '/ok/1',
          taskId: 'task-p',
          count: 1,
        }),
        expect.objectContaining({
          ...common,
          kind: 'proxy',
          outcome: 'refused',
          refusedRule: 'method',
          method: 'PATCH',
          path: '/ok/1',
        }),
        expect.objectContaining({
          ...common,
          kind: 'proxy',
          outcome: 'refused',
          refusedRule: 'path',
          method: 'GET',
          path: '/not-ok',
          count: 2,
        }),
        expect.objectContaining({
          ...common,
          kind: 'token',
          outcome: 'refused',
          refusedRule: 'token',
          method: null,
          path: null,
          taskId: 'task-t',
        }),
      ]),
    );
    expect(mine).toHaveLength(4);
    for (const grant of answer.body.grants) {
      expect(Date.parse(grant.lastGrantedAt)).toBeGreaterThanOrEqual(Date.parse(grant.firstGrantedAt));
    }
    const text = JSON.stringify(answer.body);
    // Paths are kept without their query.
    expect(text).not.toContain('secret-looking');
    for (const secret of [...apiKeys, ...Object.values(agents), audited, admin]) {
      expect(text).not.toContain(secret);
    }

    // The newest last; `limit` keeps the newest.
    const newest = await api.call('GET', `/v1/connections/${keyA}/grants?limit=2`, { token: admin });
    expect(newest.body.grants).toEqual(answer.body.grants.slice(-2));
    // Owners and admins only; another workspace's connection and an unknown one are not found.
    const member = await api.token({ role: 'member' });
    const stranger = await api.token({ role: 'admin', workspace: `ws-${randomUUID()}` });
    expect((await api.call('GET', `/v1/connections/${keyA}/grants`, { token: member })).status).toBe(403);
    expect((await api.call('GET', `/v1/connections/${keyA}/grants`, { token: audited })).status).toBe(403);
    expect((await api.call('GET', `/v1/connections/${keyA}/grants`, { token: stranger })).status).toBe(404);
    const unknown = await api.call('GET', `/v1/connections/${randomUUID()}/grants`, { token: admin });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    for (const limit of ['0', '1001', '1e2', '']) {
      const bad = await api.call('GET', `/v1/connections/${keyA}/grants?limit=${limit}`, { token: admin });
      expect([limit, bad.status]).toEqual([limit, 400]);
    }
  });

  it('applies a change to the very next call, and a warm cache asks Postgres nothing', async () => {
    await setPolicy('changer', { 'stand-in': { methods: 'any' } });
    expect((await proxy('POST', keyA, '/items', agents.changer!)).status).toBe(200);

    let policyQueries = 0;
    const count = (query: { sql: string }) => {
      if (query.sql.includes('agent_policies')) policyQueries++;
    };
    api.db.on('query', count);
    try {
      for (let i = 0; i < 5; i++)
        expect((await proxy('POST', keyA, '/items', agents.changer!)).status).toBe(200);
    } finally {
      api.db.off('query', count);
    }
    expect(policyQueries).toBe(0);

    await setPolicy('changer', { 'stand-in': { methods: 'read_only' } });
    expect((await proxy('POST', keyA, '/items', agents.changer!)).status).toBe(403);
    // Removed: the workspace default (any method through the proxy, no token).
    expect((await api.call('DELETE', '/v1/agents/changer/policy', { token: admin })).status).toBe(204);
    expect((await proxy('POST', keyA, '/items', agents.changer!)).status).toBe(200);
    expect((await takeToken(keyA, agents.changer!)).status).toBe(403);
  });

  it("drops another API process's cached policy when a change is announced, not before", async () => {
    // Another process: its own app (its own policy cache) and its own LISTEN connection to Postgres.
    otherChanges = new ConnectionChangeListener(api.databaseUrl);
    await otherChanges.start();
    other = await listen(api.appWith({ changes: otherChanges }));
    const far = agents.far!;
    const callOther = async (method: string) => {
      const response = await fetch(`${other!.url}/v1/connections/${keyA}/proxy/items`, {
        method,
        headers: { authorization: `Bearer ${far}` },
      });
      await response.arrayBuffer();
      return response.status;
    };
    await setPolicy('far', { 'stand-in': { methods: 'any' } });
    expect(await callOther('POST')).toBe(200);

    // Written behind the service's back (no notice): the other process keeps the policy it holds.
    await policyStore.put(
      api.db,
      api.workspaceId,
      'far',
      { 'stand-in': { methods: ['GET'], paths: null, token: false } },
      'test',
    );
    expect(await callOther('POST')).toBe(200);

    // Set through this process: the other hears of it and refuses from then on (well within its 30 s TTL).
    await setPolicy('far', { 'stand-in': { methods: 'read_only' } });
    await eventually(
      () => callOther('POST'),
      (status) => status === 403,
    );
    expect(await callOther('GET')).toBe(200);
  });
});
