// The provider proxy over the real stack: calls reach the stand-in API with the connection's credential
// (OAuth token or API key, as the provider configuration says) and never with the caller's own bearer
// token or cookies; bodies stream both ways; a 401 from the provider is answered by one refresh through
// the workflow and one retry; targets outside the API base URL are refused with 400 before anything is sent.
import { request } from 'node:http';
import { integrationStore } from '../../stores/integration-store.js';
import type { OAuthProviderConfig } from '../../providers/provider-config.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

/** A request with its path sent exactly as written (fetch would normalise dot segments away). */
function rawRequest(base: string, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('/v1/connections/:id/proxy/*', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let admin: string;
  let agent: string;
  let oauthId: string;
  let keyId: string;

  beforeAll(async () => {
    api = await startApiHarness();
    provider = await startStandInApi();
    provider.validKeys.add('key-good-1');
    const oidc = (await integrationStore.get(api.db, api.workspaceId, api.integration))!;
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: api.integration,
      provider: { ...(oidc.provider as OAuthProviderConfig), apiBaseUrl: provider.baseUrl },
      clientId: oidc.clientId,
    });
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: 'stand-in',
      provider: {
        authType: 'api_key',
        apiBaseUrl: `${provider.baseUrl}/echo/v2`,
        injection: { in: 'header', name: 'X-Api-Key', prefix: '' },
      },
    });
    admin = await api.token({ role: 'admin' });
    agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });

    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    const callback = await authorizeInBrowser(created.body.authorizationUrl);
    expect((await api.call('GET', `/v1/oauth/callback${callback.search}`)).status).toBe(200);
    oauthId = created.body.connection.id;
    const keyed = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'stand-in', scope: 'workspace', apiKey: 'key-good-1' },
    });
    expect(keyed.status).toBe(201);
    keyId = keyed.body.connection.id;
  });
  afterAll(async () => {
    await api?.stop();
    await provider?.stop();
  });

  const currentToken = async () => {
    const answer = await api.call('POST', `/v1/connections/${oauthId}/token`, { token: admin });
    api.addSecret(answer.body.accessToken);
    return answer.body.accessToken as string;
  };

  it("forwards with the connection's token, never the caller's own credentials", async () => {
    const accessToken = await currentToken();
    provider.received.length = 0;
    const answer = await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/items?page=2&q=a%20b`, {
      token: agent,
      headers: { cookie: 'session=abc', 'x-task-id': 'task-9', accept: 'application/json' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ method: 'GET', url: '/echo/items?page=2&q=a%20b', body: '' });
    expect(answer.body.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(answer.body.headers.accept).toBe('application/json');
    expect(answer.body.headers.cookie).toBeUndefined();
    expect(answer.body.headers['x-task-id']).toBeUndefined();
    expect(provider.received).toHaveLength(1);
    expect(JSON.stringify(provider.received)).not.toContain(agent);

    await api.flushGrants();
    const grant = await api
      .db('credential_grants')
      .where({ connection_id: oauthId, kind: 'proxy' })
      .orderBy('id', 'desc')
      .first();
    expect(grant).toMatchObject({
      caller: 'agent-1',
      role: 'agent',
      on_behalf_of: 'member-1',
      task_id: 'task-9',
      grant_count: 1,
    });
    const shown = await api.call('GET', `/v1/connections/${oauthId}`, { token: admin });
    expect(shown.body.connection.lastUsedAt).toBe(grant.last_granted_at.toISOString());
  });

  it('passes request and response bodies, methods and statuses through', async () => {
    const posted = await api.call('POST', `/v1/connections/${oauthId}/proxy/echo/things`, {
      token: agent,
      body: { name: 'a thing', n: 1 },
    });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ method: 'POST', url: '/echo/things' });
    expect(JSON.parse(posted.body.body)).toEqual({ name: 'a thing', n: 1 });
    expect(posted.body.headers['content-type']).toBe('application/json');

    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const answer = await api.call(method, `/v1/connections/${oauthId}/proxy/echo/x`, { token: agent });
      expect([method, answer.status, answer.body.method]).toEqual([method, 200, method]);
    }
    const missing = await api.call('GET', `/v1/connections/${oauthId}/proxy/nothing-here`, { token: agent });
    expect(missing.status).toBe(404);
  });

  it('streams a large request body up and a slow response body down', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const chunks = 32; // 2 MiB, far beyond the JSON parser's 64 kB
    let sent = 0;
    const upload = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === chunks) controller.close();
        else controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const uploaded = await fetch(`${api.url}/v1/connections/${oauthId}/proxy/echo/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/octet-stream' },
      body: upload,
      duplex: 'half',
    } as RequestInit);
    expect(uploaded.status).toBe(200);
    const echoed = (await uploaded.json()) as { body: string };
    expect(echoed.body.length).toBe(chunk.length * chunks);

    const started = Date.now();
    const download = await fetch(`${api.url}/v1/connections/${oauthId}/proxy/stream?count=3&delay=300`, {
      headers: { authorization: `Bearer ${agent}` },
    });
    expect(download.status).toBe(200);
    const reader = download.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    expect(new TextDecoder().decode(first.value)).toContain('chunk 0');
    let rest = '';
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      rest += new TextDecoder().decode(part.value);
    }
    expect(rest).toContain('chunk 2');
    // The first chunk arrived before the provider had finished (it takes at least 900 ms).
    expect(firstAt).toBeLessThan(Date.now() - started - 300);
  });

  it('refreshes once through the workflow and retries after a 401', async () => {
    const before = await currentToken();
    const refreshes = api.oidc.tokenRequests('refresh_token');
    provider.requests.length = 0;
    provider.injectFault(401, 1);
    const answer = await api.call('POST', `/v1/connections/${oauthId}/proxy/echo/retried`, {
      token: agent,
      body: { again: true },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.body)).toEqual({ again: true });
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes + 1);
    const after = await currentToken();
    expect(after).not.toBe(before);
    expect(provider.requests.map((r) => r.authorization)).toEqual([`Bearer ${before}`, `Bearer ${after}`]);

    // A second 401 in a row is the provider's answer: passed back, with one refresh only.
    provider.injectFault(401, 2);
    const refused = await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/x`, { token: agent });
    expect(refused.status).toBe(401);
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes + 2);
  });

  it('injects an API key where the provider configuration says, under its base path', async () => {
    const answer = await api.call('GET', `/v1/connections/${keyId}/proxy/accounts?x=1`, {
      token: agent,
      headers: { 'x-api-key': 'caller-supplied' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.url).toBe('/echo/v2/accounts?x=1');
    expect(answer.body.headers['x-api-key']).toBe('key-good-1');
    expect(answer.body.headers.authorization).toBeUndefined();
  });

  it('refuses targets outside the base URL before anything is sent', async () => {
    provider.requests.length = 0;
    for (const path of [
      '/../v1/me',
      '/%2e%2e/v1/me',
      '/accounts/%2E%2E/%2e%2e/%2e%2e/v1/me',
      '/%252e%252e/v1/me',
      '/a%2f..%2fb',
      '/a%5c..',
      '/http://evil.example/x',
      '//evil.example/x',
      '/./accounts',
    ]) {
      const answer = await rawRequest(api.url, `/v1/connections/${keyId}/proxy${path}`, agent);
      expect([path, answer.status, JSON.parse(answer.body).error.code]).toEqual([
        path,
        400,
        'invalid_request',
      ]);
    }
    expect(provider.requests).toEqual([]);
  });

  it('answers like the token route for callers and connections it may not use', async () => {
    const member = await api.token({ role: 'member' });
    expect((await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/x`)).status).toBe(401);
    expect((await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/x`, { token: member })).status).toBe(
      403,
    );
    const foreign = await api.token({ role: 'agent', workspace: 'ws-other', on_behalf_of: 'member-1' });
    expect(
      (await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/x`, { token: foreign })).status,
    ).toBe(404);
    expect((await api.call('GET', `/v1/connections/not-a-uuid/proxy/echo/x`, { token: agent })).status).toBe(
      400,
    );
    expect((await api.call('POST', `/v1/connections/${keyId}/deactivate`, { token: admin })).status).toBe(
      200,
    );
    const inactive = await api.call('GET', `/v1/connections/${keyId}/proxy/x`, { token: agent });
    expect(inactive.status).toBe(409);
    expect(inactive.body.error).toMatchObject({
      code: 'connection_not_active',
      details: { status: 'inactive' },
    });
  });
});
