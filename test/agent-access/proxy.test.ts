// The provider proxy over the real stack: calls reach the stand-in API with the connection's credential
// (OAuth token or API key, as the provider configuration says) and never with the caller's own bearer
// token or cookies; bodies stream both ways, always framed (a GET body, which the provider could read as a
// second request, is refused); only allow-listed and declared headers pass, either way; a 401 from the
// provider is answered by one refresh through the workflow and one retry; targets outside the API base URL
// and methods outside the list are refused before anything is sent.
//
// Longer than ~350 lines on purpose: every proxy rule over one stack and one stand-in API, started once.
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { REPLAYABLE_BODY_LIMIT } from '../../agent-access/proxy.js';
import { integrationStore } from '../../integrations/integration-store.js';
import type { OAuthProviderConfig } from '../../providers/provider-config.js';
import { withDeadline } from '../support/deadline.js';
import { eventually } from '../support/lifecycle.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

/**
 * A request sent exactly as written: the path as is (fetch would normalise dot segments away), any method,
 * any headers, and a body written in the given chunks (chunked unless a Content-Length header is given).
 */
function rawRequest(
  base: string,
  path: string,
  token: string,
  options: { method?: string; headers?: Record<string, string>; chunks?: string[] } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: { authorization: `Bearer ${token}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
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
      provider: {
        ...(oidc.provider as OAuthProviderConfig),
        apiBaseUrl: provider.baseUrl,
        proxy: { requestHeaders: ['X-Stand-In-Version'], responseHeaders: ['X-Stand-In-Result'] },
      },
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

  it('refuses an X-Task-Id that is not a task id, as the token route refuses such a taskId, and sends nothing', async () => {
    provider.received.length = 0;
    for (const taskId of ['task 9', 'x'.repeat(201), '-leading-dash']) {
      const answer = await api.call('GET', `/v1/connections/${oauthId}/proxy/echo/items`, {
        token: agent,
        headers: { 'x-task-id': taskId },
      });
      expect([taskId, answer.status, answer.body.error.details[0].path]).toEqual([
        taskId,
        400,
        'header.X-Task-Id',
      ]);
    }
    expect(provider.received).toHaveLength(0);
  });

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

    // The provider sends its first chunk and then waits for the test: a proxy that buffered the response would
    // never hand that chunk on, and the read below would miss its deadline.
    const finish = provider.holdStreamAfterFirstChunk();
    const download = await withDeadline(
      fetch(`${api.url}/v1/connections/${oauthId}/proxy/stream?count=3`, {
        headers: { authorization: `Bearer ${agent}` },
      }),
      'the streamed answer',
    );
    expect(download.status).toBe(200);
    const reader = download.body!.getReader();
    const first = await withDeadline(reader.read(), 'the first chunk, while the provider has not finished');
    expect(new TextDecoder().decode(first.value)).toContain('chunk 0');
    finish();
    let rest = '';
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      rest += new TextDecoder().decode(part.value);
    }
    expect(rest).toContain('chunk 2');
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

  it('refuses a GET or HEAD body, and nothing reaches the provider: no request, no smuggled second one', async () => {
    const smuggled = 'GET /echo/smuggled HTTP/1.1\r\nHost: provider\r\n\r\n';
    provider.received.length = 0;
    for (const method of ['GET', 'HEAD']) {
      const chunked = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/x`, agent, {
        method,
        headers: { 'transfer-encoding': 'chunked' },
        chunks: [smuggled],
      });
      expect([method, chunked.status]).toEqual([method, 400]);
      if (method === 'GET') {
        expect(JSON.parse(chunked.body).error).toEqual({
          code: 'invalid_request',
          message: 'a GET request must not have a body',
        });
      }
      const declared = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/x`, agent, {
        method,
        headers: { 'content-length': String(smuggled.length) },
        chunks: [smuggled],
      });
      expect([method, declared.status]).toEqual([method, 400]);
    }
    // A call that is let through, made afterwards: it is the only one that ever reached the provider.
    const marker = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/marker`, agent, {
      headers: { 'content-length': '0' },
    });
    expect(marker.status).toBe(200);
    expect(provider.received.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /echo/marker']);
  });

  it('sends DELETE and OPTIONS bodies framed with their length, and refuses them past the limit', async () => {
    for (const method of ['DELETE', 'OPTIONS']) {
      const answer = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/gone`, agent, {
        method,
        headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json' },
        chunks: ['{"reason":', '"no longer needed"}'],
      });
      expect([method, answer.status]).toEqual([method, 200]);
      const echoed = JSON.parse(answer.body);
      expect(echoed.method).toBe(method);
      expect(echoed.body).toBe('{"reason":"no longer needed"}');
      expect(echoed.headers['content-length']).toBe(String(echoed.body.length));
      expect(echoed.headers['transfer-encoding']).toBeUndefined();
    }

    provider.received.length = 0;
    const big = 'x'.repeat(REPLAYABLE_BODY_LIMIT + 1);
    const declared = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/gone`, agent, {
      method: 'DELETE',
      headers: { 'content-length': String(big.length) },
      chunks: [big],
    });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('payload_too_large');
    const chunked = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/gone`, agent, {
      method: 'OPTIONS',
      headers: { 'transfer-encoding': 'chunked' },
      chunks: [big.slice(0, 40_000), big.slice(40_000)],
    });
    expect(chunked.status).toBe(413);
    expect(provider.received).toEqual([]);
  });

  it('streams a large POST with its declared length, a chunked one chunked, and an empty one with length 0', async () => {
    const big = 'y'.repeat(REPLAYABLE_BODY_LIMIT * 2);
    const declared = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/upload`, agent, {
      method: 'PUT',
      headers: { 'content-length': String(big.length), 'content-type': 'text/plain' },
      chunks: [big.slice(0, 1000), big.slice(1000)],
    });
    expect(declared.status).toBe(200);
    const declaredEcho = JSON.parse(declared.body);
    expect(declaredEcho.body).toBe(big);
    expect(declaredEcho.headers['content-length']).toBe(String(big.length));
    expect(declaredEcho.headers['transfer-encoding']).toBeUndefined();

    const chunked = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/upload`, agent, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      chunks: ['first,', 'second'],
    });
    const chunkedEcho = JSON.parse(chunked.body);
    expect(chunkedEcho.body).toBe('first,second');
    expect(chunkedEcho.headers['transfer-encoding']).toBe('chunked');
    expect(chunkedEcho.headers['content-length']).toBeUndefined();

    const empty = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/upload`, agent, {
      method: 'POST',
    });
    expect(JSON.parse(empty.body).headers['content-length']).toBe('0');
  });

  it('cancels the provider request of a caller that stops short of its declared length', async () => {
    const declared = REPLAYABLE_BODY_LIMIT * 4;
    const socket = connect(Number(new URL(api.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST /v1/connections/${oauthId}/proxy/echo/cut-short HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${agent}\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    socket.write('z'.repeat(REPLAYABLE_BODY_LIMIT * 2));
    // Once the provider has the request's head, the caller goes away halfway through its body.
    const arrived = await eventually(
      async () => provider.received.some((r) => r.url === '/echo/cut-short'),
      (seen) => seen,
    );
    expect(arrived).toBe(true);
    socket.destroy();
    const cut = await eventually(
      async () => provider.bodies.cutShort.includes('/echo/cut-short'),
      (seen) => seen,
    );
    expect(cut).toBe(true);
    expect(provider.bodies.complete.filter((body) => body.url === '/echo/cut-short')).toEqual([]);
    const head = provider.received.find((r) => r.url === '/echo/cut-short')!;
    expect(head.headers['content-length']).toBe(String(declared));
  });

  it('forwards only allow-listed and declared request headers: never overrides, origins or credentials', async () => {
    const raw = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/headers`, agent, {
      headers: {
        accept: 'application/json',
        'accept-language': 'fr',
        'if-none-match': '"v1"',
        range: 'bytes=0-99',
        'user-agent': 'agent-task/1.0',
        'idempotency-key': 'key-1',
        'x-stand-in-version': '2024-01-01',
        'x-original-url': '/admin',
        'x-rewrite-url': '/admin',
        'x-http-method-override': 'DELETE',
        'x-method-override': 'DELETE',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'internal.example',
        'x-forwarded-proto': 'http',
        forwarded: 'for=10.0.0.1',
        'x-real-ip': '10.0.0.1',
        'proxy-authorization': 'Basic c2VjcmV0',
        cookie: 'session=abc',
        'x-internal-debug': '1',
        'x-api-key': 'caller-supplied',
      },
    });
    const answer = { status: raw.status, body: JSON.parse(raw.body) };
    expect(answer.status).toBe(200);
    const arrived = Object.keys(answer.body.headers).sort();
    expect(arrived).toEqual(
      [
        'accept',
        'accept-language',
        'authorization',
        'connection',
        'host',
        'idempotency-key',
        'if-none-match',
        'range',
        'user-agent',
        'x-stand-in-version',
      ].sort(),
    );
    expect(answer.body.headers['x-stand-in-version']).toBe('2024-01-01');
    expect(answer.body.headers.authorization).toMatch(/^Bearer /);
    expect(answer.body.headers.authorization).not.toContain(agent);
  });

  it('passes back only allow-listed and declared response headers: never cookies, challenges, CORS or CSP', async () => {
    const answer = await api.call('GET', `/v1/connections/${oauthId}/proxy/response-headers`, {
      token: agent,
    });
    expect(answer.status).toBe(200);
    const headers = answer.headers;
    expect(headers.get('etag')).toBe('"v1"');
    expect(headers.get('link')).toBe('<https://provider.example/items?page=2>; rel="next"');
    expect(headers.get('x-ratelimit-remaining')).toBe('41');
    expect(headers.get('retry-after')).toBe('3');
    expect(headers.get('x-request-id')).toBe('req-123');
    expect(headers.get('x-stand-in-result')).toBe('{"ok":true}');
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    for (const name of ['set-cookie', 'www-authenticate', 'access-control-allow-origin', 'server']) {
      expect([name, headers.get(name)]).toEqual([name, null]);
    }
    expect(headers.get('x-internal-debug')).toBeNull();
    // The API's own security headers stay its own.
    expect(headers.get('content-security-policy')).not.toContain('provider-csp');
    expect(headers.get('strict-transport-security')).not.toBe('max-age=1');
    expect(headers.get('x-frame-options')).not.toBe('ALLOWALL');
  });

  it('answers 405 to a method outside the list, with Allow, and sends nothing', async () => {
    provider.received.length = 0;
    for (const method of ['TRACE', 'PROPFIND', 'PURGE', 'LINK']) {
      const answer = await rawRequest(api.url, `/v1/connections/${oauthId}/proxy/echo/x`, agent, { method });
      expect([method, answer.status]).toEqual([method, 405]);
      expect(JSON.parse(answer.body).error.code).toBe('method_not_allowed');
      expect(answer.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    }
    expect(provider.received).toEqual([]);
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
  it('follows a reconfigured integration at the next use (its configuration is cached by version)', async () => {
    const configure = (apiBaseUrl: string) =>
      integrationStore.configure(api.db, api.vault, {
        workspaceId: api.workspaceId,
        key: 'stand-in',
        provider: {
          authType: 'api_key',
          apiBaseUrl,
          injection: { in: 'header', name: 'X-Api-Key', prefix: '' },
        },
      });
    // A connection of its own: the tests before leave theirs in other states.
    const keyed = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'stand-in', scope: 'workspace', apiKey: 'key-good-1' },
    });
    expect(keyed.status).toBe(201);
    const baseUrl = async () => {
      const answer = await api.call('POST', `/v1/connections/${keyed.body.connection.id}/token`, {
        token: admin,
      });
      expect(answer.status).toBe(200);
      return answer.body.apiBaseUrl as string;
    };
    expect(await baseUrl()).toBe(`${provider.baseUrl}/echo/v2`);
    expect(await baseUrl()).toBe(`${provider.baseUrl}/echo/v2`);
    await configure(`${provider.baseUrl}/echo/v3`);
    try {
      expect(await baseUrl()).toBe(`${provider.baseUrl}/echo/v3`);
    } finally {
      await configure(`${provider.baseUrl}/echo/v2`);
    }
    expect(await baseUrl()).toBe(`${provider.baseUrl}/echo/v2`);
  });
});
