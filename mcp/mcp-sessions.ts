// The MCP sessions of one API process (Streamable HTTP, stateful: each keyed by its Mcp-Session-Id). Each
// session is an MCP server of its own over its own transport, bound to the caller that opened it (workspace,
// sub, on_behalf_of): another caller naming its id is told no such session exists (404), as for one that
// never did. Their number is bounded in the process (503 past it) and per caller (its least recently used
// idle session is closed to make room); one idle for the idle time is closed (the client starts anew). A GET
// stream is ended after a while and reopened by the client, so no request holds the server open for long.
// A session answers each request with JSON, unless its client declared URL-mode elicitation when it opened
// it: only an event stream can carry the elicitation a tool sends in the middle of its call, and JSON costs
// client and server about half as much per call.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Claims } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { DEFAULT_MCP_SESSIONS } from '../config/config.js';

export interface McpSessionLimits {
  /** MCP_SESSIONS_MAX: sessions open at once in this process. */
  max: number;
  /** Sessions one caller may hold at once. */
  perCaller: number;
  /** MCP_SESSION_IDLE_SECONDS, in ms: a session without a request for this long is closed. */
  idleMs: number;
}

export const defaultMcpSessionLimits: McpSessionLimits = {
  max: DEFAULT_MCP_SESSIONS.max,
  perCaller: DEFAULT_MCP_SESSIONS.perCaller,
  idleMs: DEFAULT_MCP_SESSIONS.idleSeconds * 1000,
};

/** A GET stream (server-to-client messages outside a request) is ended after this; the client reopens it. */
const GET_STREAM_MAX_MS = 60_000;
/** The largest JSON-RPC request body read (mcp/routes.ts parses it). */
export const REQUEST_BODY_LIMIT = 1024 * 1024;
const RETRY_AFTER_SECONDS = 5;

export const SESSION_HEADER = 'mcp-session-id';

/** The claims a tool handler acts with: the request's verified caller, carried in AuthInfo.extra. */
export function callerOf(authInfo: AuthInfo | undefined): Claims {
  const claims = authInfo?.extra?.claims as Claims | undefined;
  if (!claims) throw new Error('an MCP request reached a tool without its verified caller');
  return claims;
}

interface Session {
  owner: string;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  /** Requests (other than GET streams) being answered: a busy session is never idle. */
  busy: number;
  /** When it was last used, in this process's count of uses (which orders them exactly). */
  lastUsed: number;
  idle?: NodeJS.Timeout;
}

/** Whether an initialize request's client can be sent a URL-mode elicitation. */
function declaresUrlElicitation(body: unknown): boolean {
  const initialize = [body]
    .flat()
    .find(
      (
        message,
      ): message is { method: string; params?: { capabilities?: { elicitation?: { url?: unknown } } } } =>
        typeof message === 'object' &&
        message !== null &&
        (message as { method?: unknown }).method === 'initialize',
    );
  return initialize?.params?.capabilities?.elicitation?.url !== undefined;
}

/** Who a session belongs to: the same agent for the same user in the same workspace. */
function ownerOf(caller: Claims): string {
  return JSON.stringify([caller.workspace, caller.sub, caller.on_behalf_of ?? null]);
}

export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  /** Sessions being opened (an initialize request under way), counted against the process bound. */
  private opening = 0;
  private uses = 0;

  constructor(
    private readonly createServer: () => McpServer,
    readonly limits: McpSessionLimits = defaultMcpSessionLimits,
  ) {}

  /**
   * Serves one request of a verified caller: to its session, or (without a session id) a new one. `body` is
   * the request's JSON, already read (undefined when it was not JSON: the transport refuses it).
   */
  async handle(req: IncomingMessage, res: ServerResponse, caller: Claims, body: unknown): Promise<void> {
    const auth: AuthInfo = { token: '', clientId: caller.sub, scopes: [], extra: { claims: caller } };
    const request = Object.assign(req, { auth });
    const header = req.headers[SESSION_HEADER];
    const id = Array.isArray(header) ? header[0] : header;
    if (id === undefined) {
      if (req.method !== 'POST') {
        throw new ApiError('invalid_request', `a ${req.method} request needs the Mcp-Session-Id header`);
      }
      await this.open(request, res, caller, body);
      return;
    }
    const session = this.sessions.get(id);
    if (!session || session.owner !== ownerOf(caller)) {
      throw new ApiError('not_found', 'no such MCP session: initialize a new one');
    }
    await this.serve(session, request, res, body);
  }

  private async open(
    req: IncomingMessage & { auth: AuthInfo },
    res: ServerResponse,
    caller: Claims,
    body: unknown,
  ): Promise<void> {
    const owner = ownerOf(caller);
    this.makeRoomFor(owner);
    if (this.sessions.size + this.opening >= this.limits.max) {
      throw new ApiError('service_unavailable', 'too many MCP sessions are open', undefined, {
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
    }
    this.opening++;
    const server = this.createServer();
    let session: Session | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      maxRequestBodySize: REQUEST_BODY_LIMIT,
      enableJsonResponse: !declaresUrlElicitation(body),
      onsessioninitialized: (id) => {
        session = { owner, server, transport, busy: 1, lastUsed: ++this.uses };
        this.sessions.set(id, session);
      },
      onsessionclosed: (id) => this.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.forget(transport.sessionId);
    };
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      this.opening--;
      if (session) this.release(session, res);
    }
    // Not an initialize request (the transport answered 400): nothing was opened.
    if (!session) await server.close();
  }

  private async serve(
    session: Session,
    req: IncomingMessage & { auth: AuthInfo },
    res: ServerResponse,
    body: unknown,
  ): Promise<void> {
    clearTimeout(session.idle);
    session.lastUsed = ++this.uses;
    if (req.method === 'GET') {
      const end = setTimeout(() => session.transport.closeStandaloneSSEStream(), GET_STREAM_MAX_MS);
      res.once('close', () => clearTimeout(end));
      await session.transport.handleRequest(req, res);
      this.armIdle(session);
      return;
    }
    session.busy++;
    try {
      await session.transport.handleRequest(req, res, body);
    } finally {
      this.release(session, res);
    }
  }

  /** The request is answered once its response closes (a streamed answer outlives handleRequest). */
  private release(session: Session, res: ServerResponse): void {
    const done = () => {
      session.busy--;
      session.lastUsed = ++this.uses;
      this.armIdle(session);
    };
    if (res.writableEnded || res.destroyed) done();
    else res.once('close', done);
  }

  private armIdle(session: Session): void {
    clearTimeout(session.idle);
    if (session.busy > 0) return;
    session.idle = setTimeout(() => void this.close(session), this.limits.idleMs);
    session.idle.unref();
  }

  /** Past its bound, the caller's least recently used idle session is closed; if all are busy, 429. */
  private makeRoomFor(owner: string): void {
    const own = [...this.sessions.values()].filter((session) => session.owner === owner);
    if (own.length < this.limits.perCaller) return;
    const idle = own.filter((session) => session.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle) {
      throw new ApiError(
        'rate_limited',
        `at most ${this.limits.perCaller} MCP sessions at once per caller, all of them busy`,
        undefined,
        { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      );
    }
    this.remove(idle);
    void idle.server.close();
  }

  private async close(session: Session): Promise<void> {
    this.remove(session);
    await session.server.close();
  }

  private remove(session: Session): void {
    clearTimeout(session.idle);
    for (const [id, held] of this.sessions) if (held === session) this.sessions.delete(id);
  }

  private forget(id: string): void {
    const session = this.sessions.get(id);
    if (session) this.remove(session);
  }
}
