// POST /v1/connections with an Idempotency-Key, over the real stack, as a client that retries would see it:
// the same key and request give the same connection, however often and however concurrently it is sent,
// with one workflow, one credential and one verification at the provider; the same key with another
// request is refused; keys belong to their caller; a malformed key changes nothing. Without a key every
// request is a new connection, as before.
import { randomUUID } from 'node:crypto';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { eventually } from '../support/lifecycle.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startStandInApi, type StandInApi, configureStandInIntegration } from '../support/stand-in-api.js';

describe('POST /v1/connections with an Idempotency-Key', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let admin: string;
  let admin2: string;

  beforeAll(async () => {
    api = await startApiHarness();
    provider = await startStandInApi();
    provider.validKeys.add('key-good-1');
    await configureStandInIntegration(api, provider);
    admin = await api.token({ role: 'admin' });
    admin2 = await api.token({ role: 'admin', sub: 'admin-2' });
  });
  afterAll(async () => {
    await api?.stop();
    await provider?.stop();
  });

  const create = (token: string, body: Record<string, unknown>, key?: string) =>
    api.call('POST', '/v1/connections', {
      token,
      body,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });
  const apiKeyBody = (apiKey = 'key-good-1', name = 'Stand-in') => ({
    integration: 'stand-in',
    scope: 'workspace',
    name,
    apiKey,
  });
  const verifications = () => provider.requests.filter((r) => r.path === '/v1/me').length;
  const rows = async (table: string, where: Record<string, unknown> = {}) =>
    Number(
      (
        await api
          .db(table)
          .where({ workspace_id: api.workspaceId, ...where })
          .count({ n: '*' })
      )[0]!.n,
    );
  /** Every run of the connection's workflow that Temporal knows of. */
  const runsOf = async (connectionId: string) => {
    const runs: string[] = [];
    for await (const execution of api.client.workflow.list({
      query: `WorkflowId="connection-${connectionId}"`,
    }))
      runs.push(execution.runId);
    return runs;
  };
  const workflowsInWorkspace = async () => {
    let count = 0;
    for await (const _ of api.client.workflow.list({
      query: `WorkspaceId="${api.workspaceId}" AND WorkflowType="connectionLifecycle"`,
    }))
      count++;
    return count;
  };
  const newKey = () => `create-${randomUUID()}`;

  it('answers a sequential retry with the same connection: one row, one credential, one workflow, one verification', async () => {
    const key = newKey();
    const before = { verifications: verifications(), connections: await rows('connections') };
    const first = await create(admin, apiKeyBody(), key);
    expect(first.status).toBe(201);
    expect(first.body.connection).toMatchObject({ status: 'active', authType: 'api_key' });
    const id: string = first.body.connection.id;

    const second = await create(admin, apiKeyBody(), key);
    expect(second.status).toBe(201);
    expect(second.body.connection.id).toBe(id);
    expect(second.body.connection.status).toBe('active');

    expect(verifications() - before.verifications).toBe(1);
    expect((await rows('connections')) - before.connections).toBe(1);
    expect(await rows('credentials', { connection_id: id })).toBe(1);
    expect(
      await eventually(
        () => runsOf(id),
        (runs) => runs.length > 0,
      ),
    ).toHaveLength(1);
    const events = await api.db('connection_events').where({ connection_id: id }).orderBy('sequence');
    expect(events.map((e) => e.to_status)).toEqual(['pending', 'active']);
    // Neither the key nor the API key is stored in clear.
    const [request] = await api.db('connection_create_requests').where({ connection_id: id });
    expect(request).toMatchObject({ workspace_id: api.workspaceId, caller: 'admin-1' });
    expect(JSON.stringify(request)).not.toContain(key);
    expect(JSON.stringify(request)).not.toContain('key-good-1');
  });

  it('answers five concurrent requests with one key with one connection and one verification', async () => {
    const key = newKey();
    const before = {
      verifications: verifications(),
      connections: await rows('connections'),
      workflows: await workflowsInWorkspace(),
    };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => create(admin, apiKeyBody('key-good-1', 'Concurrent'), key)),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    const ids = new Set(answers.map((a) => a.body.connection.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as string[];

    expect(verifications() - before.verifications).toBe(1);
    expect((await rows('connections')) - before.connections).toBe(1);
    expect(await rows('credentials', { connection_id: id })).toBe(1);
    expect(
      await eventually(
        () => runsOf(id!),
        (runs) => runs.length > 0,
      ),
    ).toHaveLength(1);
    expect(await eventually(workflowsInWorkspace, (count) => count >= before.workflows + 1)).toBe(
      before.workflows + 1,
    );
  });

  it('refuses the same key with another request with 422 idempotency_key_reused, creating nothing', async () => {
    const key = newKey();
    const first = await create(admin, apiKeyBody('key-good-1', 'First'), key);
    expect(first.status).toBe(201);
    const before = { verifications: verifications(), connections: await rows('connections') };

    for (const body of [
      apiKeyBody('key-good-1', 'Another name'),
      apiKeyBody('key-other-2', 'First'),
      { integration: api.integration, scope: 'workspace', name: 'First' },
    ]) {
      const reused = await create(admin, body, key);
      expect(reused.status).toBe(422);
      expect(reused.body).toEqual({
        error: { code: 'idempotency_key_reused', message: expect.any(String) },
      });
    }
    expect(verifications()).toBe(before.verifications);
    expect(await rows('connections')).toBe(before.connections);
    expect(await rows('credentials', { connection_id: first.body.connection.id })).toBe(1);
  });

  it('keeps keys per caller: another caller with the same key gets a connection of its own', async () => {
    const key = newKey();
    const mine = await create(admin, apiKeyBody('key-good-1', 'Per caller'), key);
    const theirs = await create(admin2, apiKeyBody('key-good-1', 'Per caller'), key);
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.connection.id).not.toBe(mine.body.connection.id);
    const again = await create(admin2, apiKeyBody('key-good-1', 'Per caller'), key);
    expect(again.body.connection.id).toBe(theirs.body.connection.id);
  });

  it('answers a retried OAuth create with the same connection and authorization, which still completes', async () => {
    const key = newKey();
    const body = { integration: api.integration, scope: 'workspace', name: 'OAuth once', returnTo: '/done' };
    const before = await workflowsInWorkspace();
    const first = await create(admin, body, key);
    expect(first.status).toBe(201);
    expect(first.body.connection.status).toBe('pending');
    const id: string = first.body.connection.id;
    const retries = await Promise.all([create(admin, body, key), create(admin, body, key)]);
    for (const retry of retries) {
      expect(retry.status).toBe(201);
      expect(retry.body.connection.id).toBe(id);
      expect(retry.body.authorizationUrl).toBe(first.body.authorizationUrl);
    }
    expect(
      await eventually(
        () => runsOf(id),
        (runs) => runs.length > 0,
      ),
    ).toHaveLength(1);
    expect(await eventually(workflowsInWorkspace, (count) => count >= before + 1)).toBe(before + 1);
    expect(await api.db('oauth_states').where({ connection_id: id })).toHaveLength(1);

    const callback = await authorizeInBrowser(first.body.authorizationUrl);
    const landed = await api.call('GET', `/v1/oauth/callback${callback.search}`);
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe(`http://127.0.0.1:9/done?connection=${id}&status=active`);

    // Once the setup has ended, a retry answers the connection as it stands, and starts nothing.
    const late = await create(admin, body, key);
    expect(late.status).toBe(201);
    expect(late.body.connection).toMatchObject({ id, status: 'active' });
    expect(late.body.authorizationUrl).toBeUndefined();
    expect(await runsOf(id)).toHaveLength(1);
  });

  it('answers a retry of a rejected API key with the same 422, verifying it once, without a new workflow run', async () => {
    const key = newKey();
    const before = verifications();
    const first = await create(admin, apiKeyBody('key-bad-1', 'Rejected'), key);
    expect(first.status).toBe(422);
    expect(first.body.error.code).toBe('provider_rejected');
    const id: string = first.body.error.details.connectionId;
    // The failed setup closes the workflow; a retry must not start it again.
    await eventually(
      () => api.client.workflow.getHandle(`connection-${id}`).describe(),
      (d) => d.status.name !== 'RUNNING',
    );
    const retry = await create(admin, apiKeyBody('key-bad-1', 'Rejected'), key);
    expect(retry.status).toBe(422);
    expect(retry.body.error).toMatchObject({
      code: 'provider_rejected',
      details: { connectionId: id, status: 'failed', reason: 'provider_rejected' },
    });
    expect(verifications() - before).toBe(1);
    expect(await runsOf(id)).toHaveLength(1);
    expect(await rows('credentials', { connection_id: id })).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['not ASCII', 'clé-1'],
    ['a control character', 'key\twith-tab'],
  ])('refuses a malformed key (%s) with 400, creating nothing', async (_, key) => {
    const before = {
      verifications: verifications(),
      connections: await rows('connections'),
      requests: await rows('connection_create_requests'),
    };
    const answer = await create(admin, apiKeyBody(), key);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: {
        code: 'invalid_request',
        message: 'invalid header',
        details: [{ path: 'header.Idempotency-Key', message: expect.any(String) }],
      },
    });
    expect(verifications()).toBe(before.verifications);
    expect(await rows('connections')).toBe(before.connections);
    expect(await rows('connection_create_requests')).toBe(before.requests);
  });

  it('accepts a key of 255 printable characters', async () => {
    const key = `${'~ '.repeat(127)}!`;
    const first = await create(admin, apiKeyBody('key-good-1', 'Longest key'), key);
    const second = await create(admin, apiKeyBody('key-good-1', 'Longest key'), key);
    expect(first.status).toBe(201);
    expect(second.body.connection.id).toBe(first.body.connection.id);
  });

  it('without a key, creates a new connection for every request, as before', async () => {
    const first = await create(admin, apiKeyBody('key-good-1', 'No key'));
    const second = await create(admin, apiKeyBody('key-good-1', 'No key'));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.connection.id).not.toBe(first.body.connection.id);
  });
});
