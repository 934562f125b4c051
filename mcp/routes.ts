// The MCP server at /mcp (Streamable HTTP, stateful sessions: mcp/mcp-sessions.ts) as an OAuth 2.1 resource
// server: every request's bearer token is verified by the API's own verifier, only agents are served (403
// otherwise), and a request without a valid token answers 401 with WWW-Authenticate naming the protected
// resource metadata (RFC 9728), served at both well-known paths. Mounted before the JSON parser: the
// transport reads its own body. Errors of the service's own are the API's one JSON shape; the transport's
// (a malformed JSON-RPC message) are JSON-RPC errors. Documented here for /openapi.json.
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { TokenVerifier } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { errorResponse } from '../api/openapi.js';
import { authenticate, RouteList, type Route } from '../api/routes.js';
import type { StreamingRoute } from '../api/route-definition.js';
import { McpSessions, REQUEST_BODY_LIMIT, type McpSessionLimits } from './mcp-sessions.js';
import { createMcpServer, type McpToolDependencies } from './tools.js';

export interface McpDependencies extends McpToolDependencies {
  verifyToken: TokenVerifier;
  /** PUBLIC_URL: the resource is PUBLIC_URL/mcp. */
  publicUrl: string;
  /** AUTH_JWT_ISSUER: the authorization server the metadata names, when configured. */
  issuer?: string;
  sessions: McpSessionLimits;
}

export const MCP_PATH = '/mcp';
/** JSON-RPC bodies: read here, after the caller is verified (the transport is handed what was parsed). */
const jsonBody = express.json({ limit: REQUEST_BODY_LIMIT });
const readJson = (req: Request, res: Response) =>
  new Promise<unknown>((resolve, reject) =>
    jsonBody(req, res, (error?: unknown) => (error ? reject(error) : resolve(req.body))),
  );
const MCP_METHODS = ['POST', 'GET', 'DELETE'] as const;
const METADATA_PATHS = [
  '/.well-known/oauth-protected-resource',
  `/.well-known/oauth-protected-resource${MCP_PATH}`,
];

const metadataSchema = z.object({
  resource: z.url(),
  authorization_servers: z.array(z.string()).optional(),
  bearer_methods_supported: z.array(z.literal('header')),
  resource_name: z.string(),
});

export function mcpRoutes(deps: McpDependencies): { routes: Route[]; streaming: StreamingRoute } {
  const publicUrl = deps.publicUrl.replace(/\/$/, '');
  const resource = `${publicUrl}${MCP_PATH}`;
  // RFC 9728 3.1 (the well-known prefix before the resource's path), where this app serves it.
  const metadataUrl = `${publicUrl}${METADATA_PATHS[1]}`;
  const sessions = new McpSessions(() => createMcpServer(deps), deps.sessions);
  const challenge = (error?: string) =>
    `Bearer resource_metadata="${metadataUrl}"${error ? `, error="${error}"` : ''}`;

  const handler = async (req: Request, res: Response, next: NextFunction) => {
    // Only /mcp itself: a path below it is no route.
    if (req.path !== '/') return next();
    try {
      const caller = await authenticate(req, deps.verifyToken).catch((error: unknown) => {
        if (!(error instanceof ApiError)) throw error;
        const given = req.headers.authorization !== undefined;
        throw new ApiError('unauthorized', error.message, undefined, {
          'WWW-Authenticate': challenge(given ? 'invalid_token' : undefined),
        });
      });
      if (caller.role !== 'agent') {
        throw new ApiError('forbidden', `the MCP server serves agents, not the ${caller.role} role`);
      }
      const body = req.method === 'POST' ? await readJson(req, res) : undefined;
      await sessions.handle(req, res, caller, body);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      next(error);
    }
  };

  const list = new RouteList();
  for (const path of METADATA_PATHS) {
    list.add({
      method: 'get',
      path,
      summary: 'OAuth 2.0 protected resource metadata of the MCP server (RFC 9728)',
      tags: ['mcp'],
      roles: 'public',
      response: metadataSchema,
      handler: () => ({
        resource,
        ...(deps.issuer ? { authorization_servers: [deps.issuer] } : {}),
        bearer_methods_supported: ['header' as const],
        resource_name: 'Connections MCP server',
      }),
    });
  }
  return {
    routes: list.routes,
    streaming: { path: MCP_PATH, methods: MCP_METHODS, handler, documented: mcpPaths },
  };
}

const refusals = (statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), errorResponse(status)]));
const jsonRpc = { type: 'object', description: 'a JSON-RPC 2.0 message (or a batch of them)' };
const sessionHeader = {
  name: 'Mcp-Session-Id',
  in: 'header',
  description: 'the session, as the initialize answer named it (absent on initialize)',
  schema: { type: 'string', pattern: '^[0-9a-f-]{36}$', maxLength: 36 },
};
const protocolHeader = {
  name: 'MCP-Protocol-Version',
  in: 'header',
  required: false,
  schema: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', maxLength: 10 },
};
const common = {
  tags: ['mcp'],
  'x-roles': ['agent'],
  description:
    'The MCP server (Streamable HTTP). A bearer token of an agent (401 without one, with WWW-Authenticate ' +
    'naming the protected resource metadata; 403 for any other role). A session belongs to the agent and ' +
    'user that opened it: any other caller is answered 404, as for a session that does not exist (or was ' +
    'closed after being idle: initialize a new one). Sessions are bounded per process (503) and per caller.',
};
const streamOrJson = {
  content: {
    'application/json': { schema: jsonRpc },
    'text/event-stream': {
      schema: { type: 'string', description: 'JSON-RPC messages as server-sent events' },
    },
  },
};

const mcpPaths: Record<string, Record<string, unknown>> = {
  [MCP_PATH]: {
    post: {
      ...common,
      summary: 'An MCP message from the client: initialize (opens a session), a request, a notification',
      parameters: [{ ...sessionHeader, required: false }, protocolHeader],
      requestBody: { required: true, content: { 'application/json': { schema: jsonRpc } } },
      responses: {
        '200': { description: 'the answer (JSON, or a stream of events)', ...streamOrJson },
        '202': { description: 'a notification or response accepted' },
        '406': { description: 'the Accept header names neither JSON nor event streams (JSON-RPC error)' },
        '415': { description: 'not a JSON body (JSON-RPC error)' },
        ...refusals([400, 401, 403, 404, 413, 429, 503]),
      },
    },
    get: {
      ...common,
      summary: "The session's stream of server messages (ended after a minute: reopen it)",
      parameters: [{ ...sessionHeader, required: true }, protocolHeader],
      responses: {
        '200': { description: 'server-sent events', content: streamOrJson.content },
        '406': { description: 'the Accept header does not name event streams (JSON-RPC error)' },
        '409': { description: 'the session already has its stream open (JSON-RPC error)' },
        ...refusals([400, 401, 403, 404]),
      },
    },
    delete: {
      ...common,
      summary: 'Closes the session',
      parameters: [{ ...sessionHeader, required: true }, protocolHeader],
      responses: { '200': { description: 'closed' }, ...refusals([400, 401, 403, 404]) },
    },
  },
};
