// The token route over the real stack: an agent gets the current access token (or the API key) of a
// connection it may use, and nothing else: another user's personal connection and another workspace's
// answer 404 like an unknown id; inactive and expired ones 409 `connection_not_active`. Every grant is
// recorded, as one row per caller and task per flush with its count, and the last use is read from them;
// repeated reads ask KMS once, and a refresh is seen on the next read.
import { randomUUID } from 'node:crypto';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startApiHarness, type ApiHarness, connectThroughApi } from '../support/api.js';
import { eventually } from '../support/lifecycle.js';
import { startStandInApi, type StandInApi, configureStandInIntegration } from '../support/stand-in-api.js';

describe('POST /v1/connections/:id/token', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let admin: string;
  let member: string;
  let member2: string;
  let agent: string;
  let unwraps = 0;

  const connect = (token: string, scope: 'workspace' | 'user') => connectThroughApi(api, token, scope);
  const token = (id: string, caller: string, body?: unknown) =>
    api.call('POST', `/v1/connections/${id}/token`, { token: caller, body });

  beforeAll(async () => {
    api = await startApiHarness();
    // Every data key KMS unwraps for this harness's vault (the API's read path and the worker alike).
    const keys = api.vault.keys;
    const unwrap = keys.unwrapDataKey.bind(keys);
    keys.unwrapDataKey = (...args) => {
      unwraps++;
      return unwrap(...args);
    };
    provider = await startStandInApi();
    provider.validKeys.add('key-good-1');
    await configureStandInIntegration(api, provider);
    admin = await api.token({ role: 'admin' });
    member = await api.token({ role: 'member' });
    member2 = await api.token({ role: 'member', sub: 'member-2' });
    agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
  });
  afterAll(async () => {
    await api?.stop();
    await provider?.stop();
  });

  it('hands out the current token, opening it with KMS once, and the new one after a refresh', async () => {
    const id = await connect(admin, 'workspace');
    const before = unwraps;
    const first = await token(id, agent, { taskId: 'task-1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(first.body).sort()).toEqual(['accessToken', 'expiresAt', 'tokenType']);
    expect(first.body.tokenType).toBe('Bearer');
    expect(Date.parse(first.body.expiresAt)).toBeGreaterThan(Date.now() + 5 * 60_000);
    api.addSecret(first.body.accessToken);
    for (let i = 0; i < 4; i++) {
      const again = await token(id, agent);
      expect(again.status).toBe(200);
      expect(again.body.accessToken).toBe(first.body.accessToken);
    }
    expect(unwraps - before).toBe(1);

    const refreshes = api.oidc.tokenRequests('refresh_token');
    expect((await api.call('POST', `/v1/connections/${id}/refresh`, { token: admin })).status).toBe(200);
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes + 1);
    const after = await token(id, agent);
    expect(after.status).toBe(200);
    expect(after.body.accessToken).not.toBe(first.body.accessToken);
    api.addSecret(after.body.accessToken);
    const counted = unwraps;
    expect((await token(id, agent)).body.accessToken).toBe(after.body.accessToken);
    expect(unwraps).toBe(counted);

    // Owners and admins may too; members may not.
    expect((await token(id, admin)).status).toBe(200);
    expect((await token(id, member)).status).toBe(403);
    expect((await api.call('POST', `/v1/connections/${id}/token`)).status).toBe(401);
    expect((await token(id, agent, { taskId: 'x', other: 1 })).status).toBe(400);
  });

  it('records every grant as one row per caller and task per flush, and shows the last use', async () => {
    const id = await connect(admin, 'workspace');
    const lastUsed = async () =>
      (await api.call('GET', `/v1/connections/${id}`, { token: admin })).body.connection.lastUsedAt;
    const rows = () => api.db('credential_grants').where({ connection_id: id }).orderBy('id');
    const connectionRow = () => api.db('connections').where({ id }).first();
    const unread = await connectionRow();
    expect(await lastUsed()).toBeNull();

    for (let i = 0; i < 5; i++) expect((await token(id, agent, { taskId: 'task-7' })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await token(id, agent, { taskId: 'task-8' })).status).toBe(200);
    expect((await token(id, agent)).status).toBe(200);
    expect((await token(id, admin)).status).toBe(200);
    // Reads wrote nothing: neither a grant nor the connection's row.
    expect(await rows()).toEqual([]);
    expect(await connectionRow()).toEqual(unread);

    await api.flushGrants();
    const grants = await rows();
    expect(
      grants.map((g) => [g.workspace_id, g.kind, g.caller, g.role, g.on_behalf_of, g.task_id, g.grant_count]),
    ).toEqual([
      [api.workspaceId, 'token', 'agent-1', 'agent', 'member-1', 'task-7', 5],
      [api.workspaceId, 'token', 'agent-1', 'agent', 'member-1', 'task-8', 2],
      [api.workspaceId, 'token', 'agent-1', 'agent', 'member-1', null, 1],
      [api.workspaceId, 'token', 'admin-1', 'admin', null, null, 1],
    ]);
    for (const grant of grants) {
      expect(grant.granted_at).toBeInstanceOf(Date);
      expect(grant.last_granted_at.getTime()).toBeGreaterThanOrEqual(grant.granted_at.getTime());
    }
    const latest = Math.max(...grants.map((g) => g.last_granted_at.getTime()));
    expect(await lastUsed()).toBe(new Date(latest).toISOString());
    // The connection's own row is still untouched: its last use is read from the grants.
    expect(await connectionRow()).toEqual(unread);

    // The next interval's grants are the next rows, and move the last use on.
    for (let i = 0; i < 3; i++) expect((await token(id, agent, { taskId: 'task-7' })).status).toBe(200);
    await api.flushGrants();
    const next = (await rows()).slice(grants.length);
    expect(next.map((g) => [g.task_id, g.grant_count])).toEqual([['task-7', 3]]);
    expect(Date.parse(await lastUsed())).toBe(next[0].last_granted_at.getTime());
    expect(Date.parse(await lastUsed())).toBeGreaterThanOrEqual(latest);
  });

  it("gives agents the acting user's personal connection only, and nothing of another workspace", async () => {
    const mine = await connect(member, 'user');
    const theirs = await connect(member2, 'user');
    const shared = await connect(admin, 'workspace');
    expect((await token(mine, agent)).status).toBe(200);
    await api.flushGrants();
    const grantsBefore = await api.db('credential_grants').count({ n: '*' }).first();

    const other = await token(theirs, agent);
    const unknown = await token(randomUUID(), agent);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
    expect(unknown.status).toBe(404);
    expect(other.body.error.message.replace(theirs, 'ID')).toBe(
      unknown.body.error.message.replace(/[0-9a-f-]{36}/, 'ID'),
    );
    // An agent acting for nobody sees shared connections only.
    const unbound = await api.token({ role: 'agent', sub: 'agent-3' });
    expect((await token(mine, unbound)).status).toBe(404);
    expect((await token(shared, unbound)).status).toBe(200);

    const foreignWorkspace = `ws-${randomUUID()}`;
    for (const caller of [
      await api.token({ role: 'agent', workspace: foreignWorkspace, on_behalf_of: 'member-1' }),
      await api.token({ role: 'owner', workspace: foreignWorkspace }),
    ]) {
      for (const id of [shared, mine]) {
        const answer = await token(id, caller);
        expect([id, answer.status, answer.body.error.code]).toEqual([id, 404, 'not_found']);
      }
    }
    await api.flushGrants();
    expect(await api.db('credential_grants').count({ n: '*' }).first()).toEqual({
      n: String(Number((grantsBefore as { n: string }).n) + 1),
    });
  });

  it('answers 409 connection_not_active for inactive and expired connections', async () => {
    const id = await connect(admin, 'workspace');
    expect((await api.call('POST', `/v1/connections/${id}/deactivate`, { token: admin })).status).toBe(200);
    const inactive = await token(id, agent);
    expect(inactive.status).toBe(409);
    expect(inactive.body.error).toMatchObject({
      code: 'connection_not_active',
      details: { status: 'inactive' },
    });
    expect((await api.call('POST', `/v1/connections/${id}/activate`, { token: admin })).status).toBe(200);
    expect((await token(id, agent)).status).toBe(200);

    api.oidc.injectFault({ endpoint: 'token', status: 400, times: 1, body: { error: 'invalid_grant' } });
    await api.call('POST', `/v1/connections/${id}/refresh`, { token: admin });
    await eventually(
      async () => (await api.db('connections').where({ id }).first()).status,
      (status) => status === 'expired',
    );
    const expired = await token(id, agent);
    expect(expired.status).toBe(409);
    expect(expired.body.error).toMatchObject({
      code: 'connection_not_active',
      details: { status: 'expired' },
    });
    await api.flushGrants();
    expect(await api.db('credential_grants').where({ connection_id: id }).count({ n: '*' }).first()).toEqual({
      n: '1',
    });
  });

  it('hands out the API key of an API-key connection', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'stand-in', scope: 'workspace', apiKey: 'key-good-1' },
    });
    expect(created.status).toBe(201);
    const answer = await token(created.body.connection.id, agent);
    expect(answer.status).toBe(200);
    // With where the provider's API is for this connection: the integration's base URL, filled.
    expect(answer.body).toEqual({
      apiKey: 'key-good-1',
      apiBaseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
    });
  });
});

describe('POST /v1/connections/:id/token, near expiry', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    // Three-second tokens, and a workflow that would only refresh them at expiry (no margin, no jitter): the
    // route's own margin (the default five minutes, capped at half the lifetime: 1.5 s) decides alone.
    api = await startApiHarness({
      oidc: { accessTokenTtlSeconds: 3 },
      settings: { refreshMarginMs: 0, refreshJitterMs: 0 },
    });
  });
  afterAll(async () => api?.stop());

  it('hands out a fresh token as it is, and refreshes through the workflow once it is within its margin', async () => {
    const admin = await api.token({ role: 'admin' });
    const agent = await api.token({ role: 'agent' });
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    const callback = await authorizeInBrowser(created.body.authorizationUrl);
    expect((await api.call('GET', `/v1/oauth/callback${callback.search}`)).status).toBe(200);
    const id: string = created.body.connection.id;
    const read = async () => {
      const answer = await api.call('POST', `/v1/connections/${id}/token`, { token: agent });
      expect(answer.status).toBe(200);
      api.addSecret(answer.body.accessToken);
      return answer.body as { accessToken: string; expiresAt: string };
    };

    const refreshes = api.oidc.tokenRequests('refresh_token');
    // A five-minute margin covers the whole of a three-second token: read at once, it is not refreshed.
    const first = await read();
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes);

    let reads = 1;
    const renewed = await eventually(
      async () => {
        reads++;
        return read();
      },
      (answer) => answer.accessToken !== first.accessToken,
      { attempts: 100, intervalMs: 100 },
    );
    expect(renewed.accessToken).not.toBe(first.accessToken);
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
    // Many reads, one refresh: only the reads within the last half of the lifetime asked for one, and the
    // first of those got it.
    expect(reads).toBeGreaterThan(2);
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes + 1);
  });
});
