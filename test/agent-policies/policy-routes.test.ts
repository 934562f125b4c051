// Agents' access policies through the API, over the real stack: owners and admins set (201, then 200),
// read, list and remove them, stored normalised (`read_only` as GET and HEAD, token off unless allowed);
// members and agents may not; another workspace's policies are invisible; an invalid policy (a token rule
// that limits methods, a path prefix that is not one, an integration the workspace does not have) is a 400
// naming what is wrong, and changes nothing.
import { randomUUID } from 'node:crypto';
import { integrationStore } from '../../integrations/integration-store.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';

describe('/v1/agents/:agentId/policy and /v1/agent-policies', () => {
  let api: ApiHarness;
  let admin: string;
  let owner: string;

  const policyOf = (agentId: string, token = admin) =>
    api.call('GET', `/v1/agents/${agentId}/policy`, { token });
  const put = (agentId: string, body: unknown, token = admin) =>
    api.call('PUT', `/v1/agents/${agentId}/policy`, { token, body });

  beforeAll(async () => {
    api = await startApiHarness();
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: 'stand-in',
      provider: {
        authType: 'api_key',
        apiBaseUrl: 'http://127.0.0.1:9/api',
        injection: { in: 'header', name: 'X-Api-Key', prefix: '' },
      },
    });
    admin = await api.token({ role: 'admin', sub: 'admin-1' });
    owner = await api.token({ role: 'owner', sub: 'owner-1' });
  });
  afterAll(async () => api?.stop());

  it('sets, replaces, reads, lists and removes a policy, and says which applies', async () => {
    expect((await policyOf('agent-a')).body).toEqual({ policy: null, effective: 'none' });
    expect((await api.call('GET', '/v1/agent-policies', { token: admin })).body).toEqual({
      policies: [],
      governed: false,
    });

    const created = await put('agent-a', {
      integrations: {
        'stand-in': { methods: 'read_only', paths: ['/repos/acme', '/repos/acme'] },
        [api.integration]: { token: true },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.policy).toEqual({
      agentId: 'agent-a',
      integrations: {
        'stand-in': { methods: ['GET', 'HEAD'], paths: ['/repos/acme'], token: false },
        [api.integration]: { methods: null, paths: null, token: true },
      },
      updatedBy: 'admin-1',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await policyOf('agent-a')).body).toEqual({ policy: created.body.policy, effective: 'agent' });
    // The workspace is governed now: an agent without a policy gets the default.
    expect((await policyOf('agent-b')).body).toEqual({ policy: null, effective: 'default' });

    const replaced = await put(
      'agent-a',
      { integrations: { 'stand-in': { methods: ['DELETE', 'GET'] } } },
      owner,
    );
    expect(replaced.status).toBe(200);
    expect(replaced.body.policy).toMatchObject({
      integrations: { 'stand-in': { methods: ['GET', 'DELETE'], paths: null, token: false } },
      updatedBy: 'owner-1',
      createdAt: created.body.policy.createdAt,
    });
    expect(Date.parse(replaced.body.policy.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.body.policy.updatedAt),
    );
    expect((await put('agent-b', { integrations: {} })).status).toBe(201);
    const listed = await api.call('GET', '/v1/agent-policies', { token: owner });
    expect(listed.body.governed).toBe(true);
    expect(listed.body.policies.map((p: { agentId: string }) => p.agentId)).toEqual(['agent-a', 'agent-b']);
    expect(listed.body.policies[0]).toEqual(replaced.body.policy);

    expect((await api.call('DELETE', '/v1/agents/agent-a/policy', { token: admin })).status).toBe(204);
    const again = await api.call('DELETE', '/v1/agents/agent-a/policy', { token: admin });
    expect([again.status, again.body.error.code]).toEqual([404, 'not_found']);
    expect((await policyOf('agent-a')).body).toEqual({ policy: null, effective: 'default' });
    expect((await api.call('DELETE', '/v1/agents/agent-b/policy', { token: owner })).status).toBe(204);
    // The last one gone: the workspace is as it was.
    expect((await policyOf('agent-a')).body).toEqual({ policy: null, effective: 'none' });
  });

  it('is for owners and admins only, and shows nothing of another workspace', async () => {
    expect((await put('agent-c', { integrations: { 'stand-in': {} } })).status).toBe(201);
    const member = await api.token({ role: 'member' });
    const agent = await api.token({ role: 'agent', sub: 'agent-c', on_behalf_of: 'member-1' });
    for (const token of [member, agent]) {
      for (const [method, route, body] of [
        ['GET', '/v1/agent-policies'],
        ['GET', '/v1/agents/agent-c/policy'],
        ['PUT', '/v1/agents/agent-c/policy', { integrations: {} }],
        ['DELETE', '/v1/agents/agent-c/policy'],
      ] as const) {
        const answer = await api.call(method, route, { token, body });
        expect([method, route, answer.status, answer.body.error.code]).toEqual([
          method,
          route,
          403,
          'forbidden',
        ]);
      }
    }
    expect((await api.call('GET', '/v1/agents/agent-c/policy')).status).toBe(401);

    const stranger = await api.token({ role: 'admin', workspace: `ws-${randomUUID()}` });
    expect((await policyOf('agent-c', stranger)).body).toEqual({ policy: null, effective: 'none' });
    expect((await api.call('GET', '/v1/agent-policies', { token: stranger })).body).toEqual({
      policies: [],
      governed: false,
    });
    expect((await api.call('DELETE', '/v1/agents/agent-c/policy', { token: stranger })).status).toBe(404);
    // Nor can it set one here: its workspace has no such integration.
    expect((await put('agent-c', { integrations: { 'stand-in': {} } }, stranger)).status).toBe(400);
    expect((await policyOf('agent-c')).body.policy.integrations).toEqual({
      'stand-in': { methods: null, paths: null, token: false },
    });
  });

  it('refuses an invalid policy with 400 naming what is wrong, and changes nothing', async () => {
    const before = (await policyOf('agent-c')).body;
    const refusals: Array<[unknown, string]> = [
      [
        { integrations: { 'stand-in': { token: true, methods: 'read_only' } } },
        'body.integrations.stand-in.token',
      ],
      [{ integrations: { 'stand-in': { token: true, paths: ['/a'] } } }, 'body.integrations.stand-in.token'],
      [{ integrations: { 'stand-in': { paths: ['repos'] } } }, 'body.integrations.stand-in.paths.0'],
      [{ integrations: { 'stand-in': { paths: ['/a/../b'] } } }, 'body.integrations.stand-in.paths.0'],
      [{ integrations: { 'stand-in': { paths: ['/a?b=1'] } } }, 'body.integrations.stand-in.paths.0'],
      [{ integrations: { 'stand-in': { methods: ['TRACE'] } } }, 'body.integrations.stand-in.methods'],
      [{ integrations: { 'stand-in': { methods: [] } } }, 'body.integrations.stand-in.methods'],
      [{ integrations: { 'stand-in': { read: true } } }, 'body.integrations.stand-in'],
      // A misspelt integration would refuse every call to the real one: named instead.
      [{ integrations: { 'stand-inn': {} } }, 'body.integrations.stand-inn'],
      [{ integrations: { 'Not A Key': {} } }, 'body.integrations.Not A Key'],
      [{ integrations: {}, extra: 1 }, 'body'],
      [{}, 'body.integrations'],
    ];
    for (const [body, path] of refusals) {
      const answer = await put('agent-c', body);
      expect([body, answer.status, answer.body.error.code]).toEqual([body, 400, 'invalid_request']);
      expect([body, answer.body.error.details.map((d: { path: string }) => d.path)]).toEqual([
        body,
        expect.arrayContaining([expect.stringContaining(path)]),
      ]);
    }
    for (const agentId of ['agent c', '-agent', 'a'.repeat(201)]) {
      const answer = await put(encodeURIComponent(agentId), { integrations: {} });
      expect([agentId, answer.status]).toEqual([agentId, 400]);
    }
    expect((await policyOf('agent-c')).body).toEqual(before);
    expect(
      (await api.call('GET', '/v1/agent-policies', { token: admin })).body.policies.map(
        (p: { agentId: string }) => p.agentId,
      ),
    ).toEqual(['agent-c']);
  });
});
