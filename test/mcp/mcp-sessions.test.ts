// The MCP server's sessions over the real stack: bounded per caller (the caller's least recently used one
// gives way) and per process (503), closed when idle or deleted (then 404, and the client initializes
// anew); a wait_until_ready the client cancels ends at once, giving its long-poll place back; and each
// call_integration spends the caller's `proxy` rate limit, as a proxied call does.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ApiParts } from '../../platform/composition.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';
import { eventually } from '../support/lifecycle.js';

const mcpHeaders = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const protocolVersion = '2025-06-18';

describe('/mcp sessions and limits', () => {
  let api: ApiHarness;
  const servers: Array<{ close(): Promise<void> }> = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    api = await startApiHarness();
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    for (const server of servers) await server.close();
    await api?.stop();
  });

  async function serve(overrides: Partial<ApiParts>): Promise<string> {
    const server = await listen(api.appWith(overrides));
    servers.push(server);
    return server.url;
  }

  /** Opens a session with a bare initialize (no stream kept open), answering its id. */
  async function open(url: string, token: string): Promise<Response> {
    const answer = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    await answer.text();
    return answer;
  }

  async function sessionOf(url: string, token: string): Promise<string> {
    const answer = await open(url, token);
    expect(answer.status).toBe(200);
    return answer.headers.get('mcp-session-id')!;
  }

  /** The status a request in the session answers: 200 while it is open. */
  async function use(url: string, token: string, sessionId: string): Promise<number> {
    const answer = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        ...mcpHeaders,
        authorization: `Bearer ${token}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': protocolVersion,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    await answer.text();
    return answer.status;
  }

  it("closes the caller's least recently used session past its bound, and answers 503 past the process's", async () => {
    const url = await serve({ mcpSessions: { max: 3, perCaller: 2 } });
    const first = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
    const s1 = await sessionOf(url, first);
    const s2 = await sessionOf(url, first);
    expect(await use(url, first, s1)).toBe(200);
    // s2 is now the least recently used: the third session takes its place.
    const s3 = await sessionOf(url, first);
    expect([await use(url, first, s1), await use(url, first, s2), await use(url, first, s3)]).toEqual([
      200, 404, 200,
    ]);

    const second = await api.token({ role: 'agent', sub: 'agent-2', on_behalf_of: 'member-1' });
    await sessionOf(url, second);
    const third = await api.token({ role: 'agent', sub: 'agent-3', on_behalf_of: 'member-1' });
    const refused = await open(url, third);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
  });

  it('closes a session left idle, and one its client deletes', async () => {
    const url = await serve({ mcpSessions: { idleMs: 50 } });
    const agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
    const idle = await sessionOf(url, agent);
    // Each read is a request (which keeps the session open); the session closes in the pause between two.
    expect(
      await eventually(
        () => use(url, agent, idle),
        (status) => status === 404,
        { intervalMs: 300 },
      ),
    ).toBe(404);

    // Deleted by its client, on a server whose sessions do not expire meanwhile (50 ms can pass between the
    // SDK client's initialize and its next message on a busy machine).
    const lasting = await serve({});
    const client = new Client({ name: 'test-agent', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${lasting}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${agent}` } },
    });
    await client.connect(transport);
    clients.push(client);
    const sessionId = transport.sessionId!;
    expect(await use(lasting, agent, sessionId)).toBe(200);
    await transport.terminateSession();
    expect(await use(lasting, agent, sessionId)).toBe(404);
  });

  it('ends a wait_until_ready the client cancels, and gives its long-poll place back', async () => {
    const url = await serve({ readyWaits: { perCaller: 1 } });
    const member = await api.token({ role: 'member', sub: 'member-4' });
    const created = await api.call('POST', '/v1/connections', {
      token: member,
      body: { integration: api.integration, scope: 'user' },
    });
    expect(created.status).toBe(201);
    const id = created.body.connection.id as string;
    const agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-4' });
    const client = new Client({ name: 'test-agent', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${agent}` } },
      }),
    );
    clients.push(client);

    const cancel = new AbortController();
    const waiting = client.callTool(
      { name: 'wait_until_ready', arguments: { connection: id, timeoutSeconds: 60 } },
      undefined,
      { signal: cancel.signal },
    );
    const ready = (timeout: number) =>
      fetch(`${url}/v1/connections/${id}/ready?timeout=${timeout}`, {
        headers: { authorization: `Bearer ${agent}` },
      }).then((answer) => answer.status);
    // While the tool waits, it holds the caller's one place: the route is refused.
    expect(
      await eventually(
        () => ready(0),
        (status) => status === 429,
      ),
    ).toBe(429);
    cancel.abort();
    await expect(waiting).rejects.toThrow();
    expect(
      await eventually(
        () => ready(0),
        (status) => status === 200,
      ),
    ).toBe(200);
  });

  it("spends the caller's proxy rate limit on every call_integration", async () => {
    const url = await serve({ rateLimits: { proxy: 1 } });
    const agent = await api.token({ role: 'agent', sub: 'agent-5', on_behalf_of: 'member-5' });
    const client = new Client({ name: 'test-agent', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${agent}` } },
      }),
    );
    clients.push(client);
    const codes = [];
    for (let i = 0; i < 2; i++) {
      const result = await client.callTool({
        name: 'call_integration',
        arguments: { connection: '00000000-0000-4000-8000-000000000000', method: 'GET', path: '/x' },
      });
      const [part] = result.content as Array<{ type: string; text: string }>;
      codes.push([result.isError, JSON.parse(part!.text).error.code]);
    }
    expect(codes).toEqual([
      [true, 'not_found'],
      [true, 'rate_limited'],
    ]);
  });
});
