// The MCP server over the real stack, through the SDK's own client over HTTP: an agent lists the tools and
// its connections, is handed a connect link (and, by a client that supports it, a URL-mode elicitation) for
// the personal connection its user has not made, and once the member has connected calls the stand-in API
// through call_integration, which receives the provider's token, never the agent's, while the tool result
// has the token redacted. A read-only policy (set through the policy route) refuses a POST (recorded with
// the grants, via mcp); callers without a token, with another role, from another workspace or for another
// user see nothing of it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { integrationStore } from '../../integrations/integration-store.js';
import type { OAuthProviderConfig } from '../../providers/provider-config.js';
import { connectThroughApi, startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
/** The API's one error shape, as an answer carries it. */
const errorOf = async (answer: Response) =>
  ((await answer.json()) as { error: { code: string; message: string } }).error;
const mcpHeaders = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

describe('/mcp', () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let admin: string;
  let member: string;
  let agent: string;
  let connectionId: string;
  const clients: Client[] = [];

  async function connect(
    token: string,
    options: { onElicit?: (url: string) => void } = {},
  ): Promise<Connected> {
    const client = new Client(
      { name: 'test-agent', version: '1' },
      options.onElicit ? { capabilities: { elicitation: { url: {} } } } : {},
    );
    if (options.onElicit) {
      const onElicit = options.onElicit;
      client.setRequestHandler(ElicitRequestSchema, (request) => {
        if (request.params.mode === 'url') onElicit(request.params.url);
        return { action: 'accept' };
      });
    }
    const transport = new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  /** A tool's structured answer, or its error's `{code, message, details}`. */
  async function call(client: Client, name: string, args: Record<string, unknown>) {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
    if (result.isError) return { error: JSON.parse(text).error, text };
    return { answer: result.structuredContent as any, text }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  const providerToken = async () => {
    const answer = await api.call('POST', `/v1/connections/${connectionId}/token`, { token: admin });
    expect(answer.status).toBe(200);
    api.addSecret(answer.body.accessToken);
    return answer.body.accessToken as string;
  };

  beforeAll(async () => {
    api = await startApiHarness();
    provider = await startStandInApi();
    const oidc = (await integrationStore.get(api.db, api.workspaceId, api.integration))!;
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: api.integration,
      provider: { ...(oidc.provider as OAuthProviderConfig), apiBaseUrl: provider.baseUrl },
      clientId: oidc.clientId,
    });
    admin = await api.token({ role: 'admin' });
    member = await api.token({ role: 'member', sub: 'member-1' });
    agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
    // Each user's own connection, for agents acting for them.
    const scoped = await api.call('PUT', `/v1/integrations/${api.integration}/agent-scope`, {
      token: admin,
      body: { scope: 'user' },
    });
    expect(scoped.status).toBe(200);
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await api?.stop();
    await provider?.stop();
  });

  it('lists its tools with input schemas and annotations', async () => {
    const { client } = await connect(agent);
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    expect(Object.keys(byName).sort()).toEqual([
      'call_integration',
      'connection_status',
      'list_connections',
      'wait_until_ready',
    ]);
    const callTool = byName.call_integration!;
    expect(Object.keys(callTool.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['connection', 'integration', 'method', 'path', 'query', 'headers', 'body']),
    );
    expect(callTool.inputSchema.required).toEqual(expect.arrayContaining(['method', 'path']));
    expect(callTool.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
    expect(byName.list_connections!.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(byName.wait_until_ready!.inputSchema.properties).toHaveProperty('timeoutSeconds');
    for (const tool of tools) {
      expect([tool.name, typeof tool.title, typeof tool.description, tool.outputSchema?.type]).toEqual([
        tool.name,
        'string',
        'string',
        'object',
      ]);
    }
  });

  it('answers a connect link for a missing personal connection, then reaches the stand-in API once the member connected', async () => {
    const { client } = await connect(agent);
    const before = await call(client, 'list_connections', {});
    expect(before.answer.connections).toEqual([]);
    expect(before.answer.notConnected).toEqual([
      expect.objectContaining({ integration: api.integration, scope: 'user' }),
    ]);

    const status = await call(client, 'connection_status', { integration: api.integration });
    expect(status.answer).toMatchObject({
      status: 'connection_required',
      integration: api.integration,
      scope: 'user',
      connectUrl: expect.stringMatching(/\/connect\//),
    });
    expect(status.answer.elicitation).toBeUndefined();
    api.addSecret(new URL(status.answer.connectUrl).pathname.split('/').pop()!);
    const missing = await call(client, 'call_integration', {
      integration: api.integration,
      method: 'GET',
      path: '/echo/items',
    });
    expect(missing.error).toMatchObject({
      code: 'connection_required',
      details: { integration: api.integration, scope: 'user', connectUrl: expect.any(String) },
    });

    connectionId = await connectThroughApi(api, member, 'user');
    const listed = await call(client, 'list_connections', {});
    expect(listed.answer.connections).toEqual([
      {
        id: connectionId,
        integration: api.integration,
        scope: 'user',
        status: 'active',
        reason: 'authorized',
      },
    ]);
    expect(listed.answer.notConnected).toEqual([]);
    const ready = await call(client, 'wait_until_ready', { connection: connectionId, timeoutSeconds: 0 });
    expect(ready.answer).toEqual({ ready: true, status: 'active', connection: connectionId });

    const accessToken = await providerToken();
    provider.received.length = 0;
    const called = await call(client, 'call_integration', {
      integration: api.integration,
      method: 'GET',
      path: '/echo/items',
      query: { page: '2', q: 'a b' },
      headers: { accept: 'application/json', authorization: `Bearer ${agent}` },
    });
    expect(called.answer).toMatchObject({
      status: 200,
      headers: { 'content-type': expect.stringMatching(/^application\/json/) },
      body: { method: 'GET', url: '/echo/items?page=2&q=a%20b' },
    });
    // The stand-in echoes the Authorization header it received: the provider's token, redacted here.
    expect(called.answer.body.headers.authorization).toBe('Bearer [redacted]');
    expect(called.text).not.toContain(accessToken);
    expect(called.text).not.toContain(agent);
    expect(api.logLines.filter((line) => line.includes(accessToken) || line.includes(agent))).toEqual([]);
    expect(provider.received.map((request) => request.headers.authorization)).toEqual([
      `Bearer ${accessToken}`,
    ]);
    expect(JSON.stringify(provider.received)).not.toContain(agent);

    // A body past 1 MiB is cut there, and says so.
    const long = await call(client, 'call_integration', {
      connection: connectionId,
      method: 'GET',
      path: '/stream',
      query: { count: '120000' },
    });
    expect(long.answer).toMatchObject({ status: 200, truncated: true });
    expect(long.answer.body).toMatch(/^chunk 0\nchunk 1\n/);
    expect(Buffer.byteLength(long.answer.body as string)).toBe(1024 * 1024);

    // A 401 from the provider: one refresh through the workflow, one retry; neither token in the answer.
    const refreshes = api.oidc.tokenRequests('refresh_token');
    provider.injectFault(401, 1);
    const retried = await call(client, 'call_integration', {
      connection: connectionId,
      method: 'POST',
      path: '/echo/retried',
      body: { again: true },
    });
    expect(retried.answer).toMatchObject({ status: 200, body: { method: 'POST', body: '{"again":true}' } });
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshes + 1);
    const refreshed = await providerToken();
    expect(refreshed).not.toBe(accessToken);
    expect(retried.answer.body.headers.authorization).toBe('Bearer [redacted]');
    expect(retried.text).not.toContain(refreshed);

    await api.flushGrants();
    const grant = await api
      .db('credential_grants')
      .where({ connection_id: connectionId, via: 'mcp', outcome: 'allowed', path: '/echo/items' })
      .first();
    expect(grant).toMatchObject({ caller: 'agent-1', method: 'GET', path: '/echo/items' });
  });

  it('refuses a POST under a read-only policy with policy_denied naming the method, recorded with the grants', async () => {
    // Through the API's own route, so that its policy cache drops what it held for the agent.
    const put = (integrations: Record<string, unknown>) =>
      api.call('PUT', '/v1/agents/agent-1/policy', { token: admin, body: { integrations } });
    expect((await put({ [api.integration]: { methods: 'read_only' } })).status).toBe(201);
    try {
      const { client } = await connect(agent);
      provider.received.length = 0;
      const refused = await call(client, 'call_integration', {
        connection: connectionId,
        method: 'POST',
        path: '/echo/things',
        body: { name: 'a thing' },
      });
      expect(refused.error).toMatchObject({
        code: 'policy_denied',
        details: { rule: 'method', integration: api.integration, method: 'POST', path: '/echo/things' },
      });
      expect(provider.received).toEqual([]);
      const read = await call(client, 'call_integration', {
        connection: connectionId,
        method: 'GET',
        path: '/echo/still-allowed',
      });
      expect(read.answer.status).toBe(200);

      await api.flushGrants();
      const grant = await api
        .db('credential_grants')
        .where({ connection_id: connectionId, outcome: 'refused' })
        .first();
      expect(grant).toMatchObject({
        via: 'mcp',
        refused_rule: 'method',
        method: 'POST',
        path: '/echo/things',
        caller: 'agent-1',
      });

      // A policy that does not name the integration: the agent is not offered it, nor told its status.
      expect((await put({})).status).toBe(200);
      const listed = await call(client, 'list_connections', {});
      expect(listed.answer).toEqual({ connections: [], notConnected: [] });
      const status = await call(client, 'connection_status', { connection: connectionId });
      expect(status.error).toMatchObject({
        code: 'policy_denied',
        details: { rule: 'integration', integration: api.integration },
      });
    } finally {
      expect((await api.call('DELETE', '/v1/agents/agent-1/policy', { token: admin })).status).toBe(204);
    }
  });

  it('offers the connect link as a URL-mode elicitation to a client that supports it', async () => {
    const asked: string[] = [];
    const other = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-3' });
    const { client } = await connect(other, { onElicit: (url) => asked.push(url) });
    const status = await call(client, 'connection_status', { integration: api.integration });
    expect(status.answer).toMatchObject({ status: 'connection_required', elicitation: 'accept' });
    expect(asked).toEqual([status.answer.connectUrl]);
    api.addSecret(new URL(status.answer.connectUrl).pathname.split('/').pop()!);
  });

  it('answers 401 with the resource metadata without a token, and the metadata names the issuer', async () => {
    const anonymous = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: mcpHeaders,
      body: JSON.stringify(initialize),
    });
    expect(anonymous.status).toBe(401);
    const metadataUrl = 'http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp';
    expect(anonymous.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
    expect((await errorOf(anonymous)).code).toBe('unauthorized');
    const invalid = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: 'Bearer not-a-token' },
      body: JSON.stringify(initialize),
    });
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get('www-authenticate')).toContain(`resource_metadata="${metadataUrl}"`);

    const withIssuer = await listen(api.appWith({ authIssuer: 'https://issuer.example' }));
    try {
      for (const path of [
        '/.well-known/oauth-protected-resource',
        '/.well-known/oauth-protected-resource/mcp',
      ]) {
        const metadata = await fetch(`${withIssuer.url}${path}`);
        expect([path, metadata.status]).toEqual([path, 200]);
        expect(await metadata.json()).toMatchObject({
          resource: 'http://127.0.0.1:9/mcp',
          authorization_servers: ['https://issuer.example'],
          bearer_methods_supported: ['header'],
        });
      }
    } finally {
      await withIssuer.close();
    }
  });

  it('refuses a member token with 403', async () => {
    const answer = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${member}` },
      body: JSON.stringify(initialize),
    });
    expect(answer.status).toBe(403);
    expect((await errorOf(answer)).code).toBe('forbidden');
  });

  it("shows another workspace's agent and an agent for another user nothing of the member's connection", async () => {
    const outsiders = [
      await api.token({ role: 'agent', sub: 'agent-1', workspace: 'ws-other', on_behalf_of: 'member-1' }),
      await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-2' }),
    ];
    const accessToken = await providerToken();
    for (const token of outsiders) {
      const { client } = await connect(token);
      const listed = await call(client, 'list_connections', {});
      expect(listed.answer.connections).toEqual([]);
      const status = await call(client, 'connection_status', { connection: connectionId });
      expect(status.error.code).toBe('not_found');
      const called = await call(client, 'call_integration', {
        connection: connectionId,
        method: 'GET',
        path: '/echo/x',
      });
      expect(called.error.code).toBe('not_found');
      const waited = await call(client, 'wait_until_ready', { connection: connectionId, timeoutSeconds: 0 });
      expect(waited.error.code).toBe('not_found');
      for (const text of [listed.text, status.text, called.text, waited.text]) {
        expect(text).not.toContain(accessToken);
      }
    }
  });

  it("answers 404 to a caller naming another caller's session", async () => {
    const { transport } = await connect(agent);
    const sessionId = transport.sessionId!;
    expect(sessionId).toBeDefined();
    const other = await api.token({ role: 'agent', sub: 'agent-2', on_behalf_of: 'member-1' });
    const answer = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${other}`, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(answer.status).toBe(404);
    expect((await errorOf(answer)).code).toBe('not_found');
  });
});
