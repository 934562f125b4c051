// Connect sessions over the real stack: who may mint a connect link for whom (owners and admins for anyone
// of their workspace and the workspace itself, a member for themselves, an agent for the user it acts for),
// what a link may name (configured, enabled integrations; this workspace's connections only; a bounded
// lifetime), that the table holds the token's hash and never the token, and the links that resolve's
// connection_required and the token route's connection_not_active carry.
import { createHash, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { connectSessionStore } from '../../connect/connect-session-store.js';
import { catalogueEntry, catalogueProvider } from '../../catalogue/providers.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { pointAt, tenantEntry } from '../support/catalogue.js';
import { startApiHarness, connectThroughApi, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';
import { eventually } from '../support/lifecycle.js';

const linkPattern = /^http:\/\/127\.0\.0\.1:9\/connect\/([A-Za-z0-9_-]{43})$/;

describe('POST /v1/connect-sessions', () => {
  let api: ApiHarness;
  const tokens = {} as Record<
    'owner' | 'admin' | 'member' | 'member2' | 'agent' | 'agentAlone' | 'foreignAdmin',
    string
  >;

  beforeAll(async () => {
    let origin = '';
    api = await startApiHarness({
      catalogue: (key) => (key === tenantEntry.key ? pointAt(tenantEntry, origin) : catalogueEntry(key)),
    });
    origin = new URL(api.oidc.issuer).origin;
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: tenantEntry.key,
      provider: catalogueProvider(tenantEntry),
      clientId: api.oidc.clientId,
      clientSecret: api.oidc.clientSecret,
    });
    tokens.owner = await api.token({ role: 'owner', sub: 'owner-1' });
    tokens.admin = await api.token({ role: 'admin', sub: 'admin-1' });
    tokens.member = await api.token({ role: 'member', sub: 'member-1' });
    tokens.member2 = await api.token({ role: 'member', sub: 'member-2' });
    tokens.agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
    tokens.agentAlone = await api.token({ role: 'agent', sub: 'agent-2' });
    tokens.foreignAdmin = await api.token({ role: 'admin', sub: 'admin-9', workspace: 'ws-other' });
  });
  afterAll(async () => api?.stop());

  const create = (token: string, body: unknown) => api.call('POST', '/v1/connect-sessions', { token, body });

  /** The link's token, checked for its form, and registered as a secret the logs must not hold. */
  function tokenOf(url: string): string {
    const match = linkPattern.exec(url);
    expect(match).not.toBeNull();
    api.addSecret(match![1]!);
    return match![1]!;
  }

  /** Every stored value of every connect_sessions row, as text. */
  async function storedText(): Promise<string> {
    return JSON.stringify(await api.db('connect_sessions').select('*'));
  }

  it('gives an admin a workspace link, stored as the hash of its token only', async () => {
    const before = Date.now();
    const answer = await create(tokens.admin, {
      integration: api.integration,
      scope: 'workspace',
      reason: { text: 'The weekly report needs the shared account' },
      returnTo: '/done',
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(answer.body).sort()).toEqual(['expiresAt', 'id', 'url']);
    const token = tokenOf(answer.body.url);
    // The default lifetime: 30 minutes.
    const expiresAt = Date.parse(answer.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 1_800_000 - 1_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 1_800_000 + 1_000);

    const row = await api.db('connect_sessions').where({ id: answer.body.id }).first();
    expect(row).toMatchObject({
      token_hash: createHash('sha256').update(token).digest('hex'),
      workspace_id: api.workspaceId,
      user_id: null,
      scope: 'workspace',
      integrations: [api.integration],
      connection_id: null,
      reason: { text: 'The weekly report needs the shared account' },
      return_to: '/done',
      created_by: 'admin-1',
      browser_hash: null,
      spent_at: null,
    });
    // The token itself is nowhere in the table, nor in any log line.
    expect(await storedText()).not.toContain(token);
    expect(api.logLines.some((line) => line.includes(token))).toBe(false);

    const found = await connectSessionStore.findByToken(api.db, token);
    expect(found).toMatchObject({ id: answer.body.id, scope: 'workspace', userId: null });
    expect(found!.expiresAt.toISOString()).toBe(answer.body.expiresAt);
  });

  it('gives owners and admins links for any user of their workspace, and a member for themselves only', async () => {
    const forMember = await create(tokens.owner, {
      integration: api.integration,
      scope: 'user',
      userId: 'member-2',
    });
    expect(forMember.status).toBe(201);
    tokenOf(forMember.body.url);
    expect(await connectSessionStore.get(api.db, forMember.body.id)).toMatchObject({
      userId: 'member-2',
      scope: 'user',
      createdBy: 'owner-1',
    });

    const own = await create(tokens.member, { integration: api.integration, scope: 'user' });
    expect(own.status).toBe(201);
    tokenOf(own.body.url);
    expect(await connectSessionStore.get(api.db, own.body.id)).toMatchObject({ userId: 'member-1' });
    const named = await create(tokens.member, {
      integration: api.integration,
      scope: 'user',
      userId: 'member-1',
    });
    expect(named.status).toBe(201);
    tokenOf(named.body.url);

    const rows = await api.db('connect_sessions').count({ n: '*' }).first();
    const forAnother = await create(tokens.member, {
      integration: api.integration,
      scope: 'user',
      userId: 'member-2',
    });
    expect(forAnother.status).toBe(403);
    expect(forAnother.body.error.code).toBe('forbidden');
    const workspace = await create(tokens.member, { integration: api.integration, scope: 'workspace' });
    expect(workspace.status).toBe(403);
    // A refused request leaves nothing behind.
    expect(await api.db('connect_sessions').count({ n: '*' }).first()).toEqual(rows);
  });

  it('gives an agent user links for the user it acts for only', async () => {
    const own = await create(tokens.agent, {
      integration: api.integration,
      scope: 'user',
      reason: { agentId: 'agent-1', taskId: 'task-7', text: 'Reads your calendar' },
    });
    expect(own.status).toBe(201);
    tokenOf(own.body.url);
    expect(await connectSessionStore.get(api.db, own.body.id)).toMatchObject({
      userId: 'member-1',
      scope: 'user',
      reason: { agentId: 'agent-1', taskId: 'task-7', text: 'Reads your calendar' },
      createdBy: 'agent-1',
    });

    const workspace = await create(tokens.agent, { integration: api.integration, scope: 'workspace' });
    expect(workspace.status).toBe(403);
    const other = await create(tokens.agent, {
      integration: api.integration,
      scope: 'user',
      userId: 'member-2',
    });
    expect(other.status).toBe(403);
    // An agent acting for no one has no user to mint for.
    const alone = await create(tokens.agentAlone, { integration: api.integration, scope: 'user' });
    expect(alone.status).toBe(403);
  });

  it('refuses integrations that are not enabled here, naming them, and malformed requests', async () => {
    const unknown = await create(tokens.admin, {
      allowedIntegrations: [api.integration, 'no-such-integration'],
      scope: 'workspace',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_request');
    expect(unknown.body.error.message).toContain('no-such-integration');
    expect(unknown.body.error.message).not.toContain(api.integration);

    await api.db('integrations').where({ workspace_id: api.workspaceId, key: api.integration }).update({
      enabled: false,
    });
    try {
      const disabled = await create(tokens.admin, { integration: api.integration, scope: 'workspace' });
      expect(disabled.status).toBe(400);
      expect(disabled.body.error.message).toContain(api.integration);
    } finally {
      await api.db('integrations').where({ workspace_id: api.workspaceId, key: api.integration }).update({
        enabled: true,
      });
    }

    const rows = await api.db('connect_sessions').count({ n: '*' }).first();
    const refused = [
      { integration: api.integration, allowedIntegrations: [api.integration], scope: 'workspace' },
      { scope: 'workspace' },
      { integration: api.integration, scope: 'workspace', userId: 'member-1' },
      { integration: api.integration, scope: 'everyone' },
      { integration: api.integration, scope: 'workspace', returnTo: 'https://elsewhere.example/' },
      { integration: api.integration, scope: 'workspace', params: { tenant: 'acme' } },
      { integration: api.integration, scope: 'workspace', reason: { text: 'x'.repeat(501) } },
      { integration: api.integration, scope: 'workspace', reason: { other: 'field' } },
      { integration: api.integration, scope: 'workspace', allowedIntegrations: [] },
    ];
    for (const body of refused) {
      const answer = await create(tokens.admin, body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(answer.body.error.code).toBe('invalid_request');
    }
    expect(await api.db('connect_sessions').count({ n: '*' }).first()).toEqual(rows);
  });

  it("checks a new connection's parameters like POST /v1/connections, naming each refused one", async () => {
    const made = await create(tokens.admin, {
      integration: tenantEntry.key,
      scope: 'workspace',
      params: { tenant: 'contoso' },
    });
    expect(made.status).toBe(201);
    tokenOf(made.body.url);
    expect(await connectSessionStore.get(api.db, made.body.id)).toMatchObject({
      integrations: [tenantEntry.key],
      params: { tenant: 'contoso' },
    });
    const rows = await api.db('connect_sessions').count({ n: '*' }).first();
    for (const [params, name] of [
      [undefined, 'tenant'],
      [{ region: 'us' }, 'tenant'],
      [{ tenant: 'contoso', region: 'mars' }, 'region'],
      [{ tenant: 'contoso', colour: 'blue' }, 'colour'],
    ] as const) {
      const refused = await create(tokens.admin, {
        integration: tenantEntry.key,
        scope: 'workspace',
        params,
      });
      expect({ params, status: refused.status }).toEqual({ params, status: 400 });
      expect(refused.body.error.details).toEqual([expect.objectContaining({ path: `body.params.${name}` })]);
    }
    expect(await api.db('connect_sessions').count({ n: '*' }).first()).toEqual(rows);
  });

  it('lets a link live from 60 seconds to a day, as asked', async () => {
    for (const ttl of [59, 86_401, 1.5]) {
      const answer = await create(tokens.admin, { integration: api.integration, scope: 'workspace', ttl });
      expect({ ttl, status: answer.status }).toEqual({ ttl, status: 400 });
    }
    for (const ttl of [60, 86_400]) {
      const before = Date.now();
      const answer = await create(tokens.admin, { integration: api.integration, scope: 'workspace', ttl });
      expect(answer.status).toBe(201);
      tokenOf(answer.body.url);
      const expiresAt = Date.parse(answer.body.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + ttl * 1000 - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + ttl * 1000 + 1_000);
    }
  });

  it('takes its default lifetime from CONNECT_SESSION_TTL_SECONDS', async () => {
    const server = await listen(api.appWith({ connectSessionTtlMs: 120_000 }) as Express);
    try {
      const before = Date.now();
      const response = await fetch(`${server.url}/v1/connect-sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ integration: api.integration, scope: 'workspace' }),
      });
      expect(response.status).toBe(201);
      const body = (await response.json()) as { url: string; expiresAt: string };
      tokenOf(body.url);
      const expiresAt = Date.parse(body.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 120_000 - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 120_000 + 1_000);
    } finally {
      await server.close();
    }
  });

  it('purges sessions that expired more than a day ago, and keeps the rest', async () => {
    const stale = await connectSessionStore.insert(api.db, {
      tokenHash: createHash('sha256').update(randomUUID()).digest('hex'),
      workspaceId: api.workspaceId,
      userId: null,
      scope: 'workspace',
      integrations: [api.integration],
      connectionId: null,
      params: null,
      reason: null,
      returnTo: null,
      createdBy: 'admin-1',
      expiresAt: new Date(Date.now() - 2 * 86_400_000),
    });
    const recent = await connectSessionStore.insert(api.db, {
      tokenHash: createHash('sha256').update(randomUUID()).digest('hex'),
      workspaceId: api.workspaceId,
      userId: null,
      scope: 'workspace',
      integrations: [api.integration],
      connectionId: null,
      params: null,
      reason: null,
      returnTo: null,
      createdBy: 'admin-1',
      expiresAt: new Date(Date.now() - 60_000),
    });
    const answer = await create(tokens.admin, { integration: api.integration, scope: 'workspace' });
    expect(answer.status).toBe(201);
    tokenOf(answer.body.url);
    expect(await connectSessionStore.get(api.db, stale.id)).toBeUndefined();
    expect(await connectSessionStore.get(api.db, recent.id)).toBeDefined();
  });

  describe('reconnect in place (connectionId)', () => {
    let workspaceConnection: string;
    let memberConnection: string;

    beforeAll(async () => {
      workspaceConnection = await connectThroughApi(api, tokens.admin, 'workspace');
      memberConnection = await connectThroughApi(api, tokens.member, 'user');
    });

    it('fixes the integration and the user to the connection', async () => {
      const forMember = await create(tokens.admin, { connectionId: memberConnection, scope: 'user' });
      expect(forMember.status).toBe(201);
      tokenOf(forMember.body.url);
      expect(await connectSessionStore.get(api.db, forMember.body.id)).toMatchObject({
        connectionId: memberConnection,
        integrations: [api.integration],
        userId: 'member-1',
      });
      const byAgent = await create(tokens.agent, {
        connectionId: memberConnection,
        integration: api.integration,
        scope: 'user',
      });
      expect(byAgent.status).toBe(201);
      tokenOf(byAgent.body.url);

      const wrongScope = await create(tokens.admin, { connectionId: memberConnection, scope: 'workspace' });
      expect(wrongScope.status).toBe(400);
      const wrongUser = await create(tokens.admin, {
        connectionId: memberConnection,
        scope: 'user',
        userId: 'member-2',
      });
      expect(wrongUser.status).toBe(400);
      const wrongIntegration = await create(tokens.admin, {
        connectionId: workspaceConnection,
        integration: 'another-integration',
        scope: 'workspace',
      });
      expect(wrongIntegration.status).toBe(400);
    });

    it("answers 404 for another workspace's connection, another user's, and an unknown id", async () => {
      const foreign = await create(tokens.foreignAdmin, {
        connectionId: workspaceConnection,
        scope: 'workspace',
      });
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe('not_found');
      const othersOwn = await create(tokens.member2, { connectionId: memberConnection, scope: 'user' });
      expect(othersOwn.status).toBe(404);
      const unknown = await create(tokens.admin, { connectionId: randomUUID(), scope: 'workspace' });
      expect(unknown.status).toBe(404);
    });
  });

  describe('the links of resolve and of the token route', () => {
    const resolve = (token: string, agentId?: string, taskId?: string, integration = api.integration) =>
      api.call('POST', '/v1/connections/resolve', {
        token,
        body: { integration, ...(agentId ? { agentId } : {}) },
        headers: taskId ? { 'X-Task-Id': taskId } : {},
      });
    const setScope = (scope: 'workspace' | 'user' | null) =>
      api.call('PUT', `/v1/integrations/${api.integration}/agent-scope`, {
        token: tokens.admin,
        body: { scope },
      });

    it("answers connection_required with a link for the agent's user, naming the agent and its task", async () => {
      expect((await setScope('user')).status).toBe(200);
      try {
        const agentFor3 = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-3' });
        const answer = await resolve(agentFor3, 'calendar-agent', 'task-42');
        expect(answer.status).toBe(409);
        expect(answer.body.error).toMatchObject({
          code: 'connection_required',
          details: { integration: api.integration, scope: 'user', userId: 'member-3' },
        });
        const { connectUrl, connectUrlExpiresAt } = answer.body.error.details;
        const token = tokenOf(connectUrl);
        expect(Date.parse(connectUrlExpiresAt)).toBeGreaterThan(Date.now());
        expect(await connectSessionStore.findByToken(api.db, token)).toMatchObject({
          workspaceId: api.workspaceId,
          userId: 'member-3',
          scope: 'user',
          integrations: [api.integration],
          connectionId: null,
          reason: { agentId: 'calendar-agent', taskId: 'task-42' },
          createdBy: 'agent-1',
        });
        expect(await storedText()).not.toContain(token);

        // A member is given a link for themselves.
        const member3 = await api.token({ role: 'member', sub: 'member-3' });
        const own = await resolve(member3);
        expect(own.status).toBe(409);
        const ownToken = tokenOf(own.body.error.details.connectUrl);
        expect(await connectSessionStore.findByToken(api.db, ownToken)).toMatchObject({
          userId: 'member-3',
          reason: null,
        });
        // An invalid task id is refused like any invalid input.
        expect((await resolve(agentFor3, undefined, 'not a task id')).status).toBe(400);
      } finally {
        expect((await setScope(null)).status).toBe(200);
      }
    });

    it('gives a workspace link to owners and admins only', async () => {
      // An integration of its own, with no connection yet (a shared one: its agent scope is the workspace's).
      const shared = 'test-oidc-shared';
      await integrationStore.configure(api.db, api.vault, {
        workspaceId: api.workspaceId,
        key: shared,
        provider: {
          authType: 'oauth2',
          issuer: api.oidc.issuer,
          authorizationEndpoint: api.oidc.authorizationEndpoint,
          tokenEndpoint: api.oidc.tokenEndpoint,
          scopes: ['openid'],
        },
        clientId: api.oidc.clientId,
        clientSecret: api.oidc.clientSecret,
      });
      const agent = await resolve(tokens.agent, 'agent-1', undefined, shared);
      expect(agent.status).toBe(409);
      expect(agent.body.error.details.scope).toBe('workspace');
      expect(agent.body.error.details.connectUrl).toBeUndefined();
      const member = await resolve(tokens.member, undefined, undefined, shared);
      expect(member.status).toBe(409);
      expect(member.body.error.details.connectUrl).toBeUndefined();
      const admin = await resolve(tokens.admin, undefined, undefined, shared);
      expect(admin.status).toBe(409);
      const token = tokenOf(admin.body.error.details.connectUrl);
      expect(await connectSessionStore.findByToken(api.db, token)).toMatchObject({
        integrations: [shared],
        scope: 'workspace',
        userId: null,
      });
    });

    it("answers an expired connection's token request with a reconnect link bound to that connection", async () => {
      const id = await connectThroughApi(api, tokens.member, 'user');
      api.oidc.injectFault({ endpoint: 'token', status: 400, times: 1, body: { error: 'invalid_grant' } });
      await api.call('POST', `/v1/connections/${id}/refresh`, { token: tokens.admin });
      await eventually(
        async () => (await api.db('connections').where({ id }).first()).status,
        (status) => status === 'expired',
      );
      const answer = await api.call('POST', `/v1/connections/${id}/token`, { token: tokens.agent });
      expect(answer.status).toBe(409);
      expect(answer.body.error).toMatchObject({
        code: 'connection_not_active',
        details: { status: 'expired' },
      });
      const token = tokenOf(answer.body.error.details.reconnectUrl);
      expect(Date.parse(answer.body.error.details.reconnectUrlExpiresAt)).toBeGreaterThan(Date.now());
      expect(await connectSessionStore.findByToken(api.db, token)).toMatchObject({
        connectionId: id,
        integrations: [api.integration],
        scope: 'user',
        userId: 'member-1',
        reason: { agentId: 'agent-1' },
      });

      // The proxy answers the same.
      const proxied = await api.call('GET', `/v1/connections/${id}/proxy/userinfo`, { token: tokens.agent });
      expect(proxied.status).toBe(409);
      tokenOf(proxied.body.error.details.reconnectUrl);

      // An agent may not mint a link for a workspace connection: the refusal carries none.
      const shared = await connectThroughApi(api, tokens.admin, 'workspace');
      api.oidc.injectFault({ endpoint: 'token', status: 400, times: 1, body: { error: 'invalid_grant' } });
      await api.call('POST', `/v1/connections/${shared}/refresh`, { token: tokens.admin });
      await eventually(
        async () => (await api.db('connections').where({ id: shared }).first()).status,
        (status) => status === 'expired',
      );
      const byAgent = await api.call('POST', `/v1/connections/${shared}/token`, { token: tokens.agent });
      expect(byAgent.status).toBe(409);
      expect(byAgent.body.error.details).toEqual({ status: 'expired' });
      const byAdmin = await api.call('POST', `/v1/connections/${shared}/token`, { token: tokens.admin });
      expect(byAdmin.status).toBe(409);
      const adminToken = tokenOf(byAdmin.body.error.details.reconnectUrl);
      expect(await connectSessionStore.findByToken(api.db, adminToken)).toMatchObject({
        connectionId: shared,
        scope: 'workspace',
        userId: null,
      });

      // An inactive connection's refusal carries no link: it is activated, not reconnected.
      const inactive = await connectThroughApi(api, tokens.member, 'user');
      const deactivated = await api.call('POST', `/v1/connections/${inactive}/deactivate`, {
        token: tokens.member,
      });
      expect(deactivated.status).toBe(200);
      const refused = await api.call('POST', `/v1/connections/${inactive}/token`, { token: tokens.agent });
      expect(refused.status).toBe(409);
      expect(refused.body.error.details).toEqual({ status: 'inactive' });
    });
  });
});
