// The MCP server's tools: what an agent may use of its workspace's connections, for the user it acts for.
// Each is the API's own path under another name: visibility as connections/access.ts says, the agent's
// access policy (agent-policies/), resolve and the ready long-poll (agent-access/), and the provider proxy's
// core (callProvider) with via 'mcp'. A refusal is an error result carrying the API's error code and
// message; no result ever carries a credential (a provider's echo of it is redacted), and when the user has
// not connected yet the answer carries a connect link (and, to a client that supports it, a URL-mode
// elicitation with that link).
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Claims } from '../api/auth.js';
import { ApiError, apiErrorOf } from '../api/errors.js';
import { callerKey } from '../api/rate-limits.js';
import { idSchema } from '../api/routes.js';
import { decide, type EffectivePolicy } from '../agent-policies/access-policy.js';
import {
  callProvider,
  PROXY_METHODS,
  PROXY_RATE_LIMIT,
  REPLAYABLE_BODY_LIMIT,
} from '../agent-access/proxy.js';
import { awaitReadiness, type ReadyWaits } from '../agent-access/ready.js';
import { resolveConnection, type Resolution } from '../agent-access/resolve.js';
import { taskIdSchema, type AgentAccess } from '../agent-access/token.js';
import type { ConnectLinks } from '../connect/connect-sessions.js';
import { visibilityOf, visibleConnection } from '../connections/access.js';
import type { ConnectionChangeListener } from '../connections/connection-changes.js';
import { connectionStore, type ConnectionMetadata } from '../connections/connection-store.js';
import type { Db } from '../db/database.js';
import { integrationStore } from '../integrations/integration-store.js';
import type { Logger } from '../logging/logger.js';
import { dependencyUnavailable } from '../platform/dependency-errors.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import { connectionStatuses } from '../workflows/messages.js';
import { callerOf } from './mcp-sessions.js';
import { providerAnswerSchema, readProviderAnswer } from './provider-answer.js';

export interface McpToolDependencies {
  access: AgentAccess;
  outbound: OutboundGuard;
  db: Db;
  changes: ConnectionChangeListener;
  /** The ready long-polls' admission, shared with GET /v1/connections/:id/ready. */
  waits: ReadyWaits;
  connectLinks?: ConnectLinks;
  logger: Logger;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** How long a client is given to answer a URL-mode elicitation before the tool answers without it. */
const ELICITATION_TIMEOUT_MS = 60_000;
const WAIT_SECONDS = { min: 0, max: 60, default: 30 } as const;

const target = {
  connection: idSchema.optional().describe('a connection id (from list_connections)'),
  integration: integrationKeySchema
    .optional()
    .describe("an integration key: the connection that applies to it (the workspace's, or your user's own)"),
};

const connectionSummary = z.object({
  id: z.string(),
  integration: z.string(),
  scope: z.enum(['workspace', 'user']),
  status: z.enum(connectionStatuses),
  reason: z.string().nullable(),
});

const connectionRequired = {
  integration: z.string(),
  scope: z.enum(['workspace', 'user']),
  message: z.string(),
  /** The link to send the person who must connect (a bearer link). */
  connectUrl: z.string().optional(),
  connectUrlExpiresAt: z.string().optional(),
  /** What the client answered the URL-mode elicitation with, when one was sent. */
  elicitation: z.enum(['accept', 'decline', 'cancel', 'unanswered']).optional(),
};

const statusAnswer = {
  status: z.enum([...connectionStatuses, 'connection_required']),
  reason: z.string().nullable().optional(),
  connection: connectionSummary.optional(),
  ...connectionRequired,
  message: z.string().optional(),
};

type Required = Extract<Resolution, { kind: 'connection_required' }>;
type Target = { kind: 'connection'; connection: ConnectionMetadata } | { kind: 'required'; need: Required };

const summary = (connection: ConnectionMetadata): z.infer<typeof connectionSummary> => ({
  id: connection.id,
  integration: connection.integration,
  scope: connection.scope,
  status: connection.status,
  reason: connection.statusReason,
});

function result<T extends Record<string, unknown>>(structured: T): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

function refusal(error: ApiError): CallToolResult {
  const body = {
    code: error.code,
    message: error.message,
    ...(error.details ? { details: error.details } : {}),
  };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: body }) }] };
}

/** The MCP server of one session, its tools over the dependencies. */
export function createMcpServer(deps: McpToolDependencies): McpServer {
  const { access, db, logger } = deps;
  const server = new McpServer(
    { name: 'connections', version: '1' },
    {
      instructions:
        'Use the connections of your workspace for the user you act for: list_connections, ' +
        'connection_status (with a connect link when the user must connect first), wait_until_ready, and ' +
        "call_integration to call the integration's API with the connection's credential injected.",
    },
  );

  /** A tool's handler, with every refusal an error result and any other failure logged, never shown. */
  const guarded =
    <A>(handler: (args: A, caller: Claims, extra: Extra) => Promise<CallToolResult>) =>
    async (args: A, extra: Extra): Promise<CallToolResult> => {
      try {
        return await handler(args, callerOf(extra.authInfo), extra);
      } catch (error) {
        const known = apiErrorOf(error);
        if (known) return refusal(known);
        const dependency = dependencyUnavailable(error);
        if (dependency) {
          return refusal(
            new ApiError('service_unavailable', `the ${dependency} is unavailable; try again shortly`),
          );
        }
        logger.error({ err: error }, 'an MCP tool failed');
        return refusal(new ApiError('internal', 'internal error'));
      }
    };

  const effective = (caller: Claims): Promise<EffectivePolicy> =>
    access.policies ? access.policies.effectiveFor(caller) : Promise.resolve({ source: 'none' });

  /** Whether the policy lets the agent use the integration at all (its methods and paths aside). */
  const usesIntegration = (policy: EffectivePolicy, integration: string) => {
    const decision = decide(policy, integration, { kind: 'proxy', method: 'GET', path: '/' });
    return decision.allowed || decision.rule !== 'integration' ? undefined : decision;
  };
  const requireIntegration = async (caller: Claims, integration: string) => {
    const refused = usesIntegration(await effective(caller), integration);
    if (refused) {
      throw new ApiError('policy_denied', refused.message, { rule: refused.rule, integration });
    }
  };

  /** The connection a tool is asked about: by id (visible to the caller), or the one its integration resolves to. */
  const targetOf = async (
    caller: Claims,
    input: { connection?: string; integration?: string },
  ): Promise<Target> => {
    if ((input.connection === undefined) === (input.integration === undefined)) {
      throw new ApiError('invalid_request', 'give either `connection` or `integration`');
    }
    if (input.connection !== undefined) {
      return { kind: 'connection', connection: await visibleConnection(db, caller, input.connection) };
    }
    const resolution = await resolveConnection(db, caller, input.integration!);
    if (resolution.kind === 'resolved') return { kind: 'connection', connection: resolution.connection };
    return { kind: 'required', need: resolution };
  };

  /** What to do when the user has not connected: the connect link, offered as an elicitation too. */
  const connectAnswer = async (caller: Claims, need: Required, extra: Extra) => {
    const who = need.userId ? `user ${need.userId}` : 'an owner or admin';
    const link = await deps.connectLinks?.linkFor(caller, {
      integration: need.integration,
      scope: need.scope,
      userId: need.userId,
      reason: { agentId: caller.sub },
    });
    const message =
      `no usable ${need.scope} connection to ${need.integration}: ${who} must connect it` +
      (link ? ', at connectUrl' : '');
    const answer: z.infer<z.ZodObject<typeof connectionRequired>> = {
      integration: need.integration,
      scope: need.scope,
      message,
      ...(link ? { connectUrl: link.url, connectUrlExpiresAt: link.expiresAt } : {}),
    };
    if (link && server.server.getClientCapabilities()?.elicitation?.url) {
      answer.elicitation = await server.server
        .elicitInput(
          {
            mode: 'url',
            message: `Connect ${need.integration} so that the agent can use it for you.`,
            elicitationId: randomUUID(),
            url: link.url,
          },
          { relatedRequestId: extra.requestId, signal: extra.signal, timeout: ELICITATION_TIMEOUT_MS },
        )
        .then(
          (answered) => answered.action,
          () => 'unanswered' as const,
        );
    }
    return answer;
  };

  server.registerTool(
    'list_connections',
    {
      title: 'List connections',
      description:
        "The connections you may use for your user (the workspace-wide ones and your user's own), each with " +
        'its status and the reason for it; and the configured integrations you may use that have no usable ' +
        'connection yet (call connection_status or call_integration with `integration` for a connect link).',
      inputSchema: { integration: integrationKeySchema.optional().describe('only this integration') },
      outputSchema: {
        connections: z.array(connectionSummary),
        notConnected: z.array(
          z.object({ integration: z.string(), scope: z.enum(['workspace', 'user']), action: z.string() }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guarded(async ({ integration }: { integration?: string }, caller) => {
      const policy = await effective(caller);
      const visible = await connectionStore.list(db, caller.workspace, visibilityOf(caller), {
        ...(integration ? { integration } : {}),
      });
      const connections = visible
        .filter((connection) => connection.status !== 'disconnected')
        .filter((connection) => !usesIntegration(policy, connection.integration))
        .map(summary);
      const notConnected = [];
      for (const configured of await integrationStore.list(db, caller.workspace)) {
        if (!configured.enabled || (integration && configured.key !== integration)) continue;
        if (usesIntegration(policy, configured.key)) continue;
        const resolution = await resolveConnection(db, caller, configured.key).catch((error: unknown) => {
          // A personal integration for an agent acting for no user: nothing it could connect.
          if (error instanceof ApiError) return undefined;
          throw error;
        });
        if (resolution?.kind !== 'connection_required') continue;
        notConnected.push({
          integration: configured.key,
          scope: resolution.scope,
          action:
            resolution.scope === 'user'
              ? 'your user must connect it: call connection_status with this integration for a connect link'
              : 'an owner or admin must connect it: call connection_status with this integration',
        });
      }
      return result({ connections, notConnected });
    }),
  );

  server.registerTool(
    'connection_status',
    {
      title: 'Connection status',
      description:
        'The status of a connection (by `connection` id, or the one that applies to an `integration`) and ' +
        'the reason for it. When the integration has no connection for your user yet: status ' +
        '`connection_required` with a connect link (connectUrl) to hand to the person who must connect, ' +
        'offered to them directly when your client supports URL elicitation.',
      inputSchema: target,
      outputSchema: statusAnswer,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    guarded(async (input: { connection?: string; integration?: string }, caller, extra) => {
      const found = await targetOf(caller, input);
      if (found.kind === 'required') {
        await requireIntegration(caller, found.need.integration);
        return result({ status: 'connection_required', ...(await connectAnswer(caller, found.need, extra)) });
      }
      const { connection } = found;
      await requireIntegration(caller, connection.integration);
      return result({
        status: connection.status,
        reason: connection.statusReason,
        connection: summary(connection),
        integration: connection.integration,
        scope: connection.scope,
      });
    }),
  );

  server.registerTool(
    'wait_until_ready',
    {
      title: 'Wait until a connection is ready',
      description:
        'Waits up to `timeoutSeconds` (0 to 60, default 30) for a connection to become active; answers at once ' +
        'when it is active, failed, expired or disconnected, and with its status (timedOut) when the time is ' +
        'up. Call it again to wait longer.',
      inputSchema: {
        ...target,
        timeoutSeconds: z
          .number()
          .int()
          .min(WAIT_SECONDS.min)
          .max(WAIT_SECONDS.max)
          .default(WAIT_SECONDS.default)
          .describe('how long to wait, in seconds'),
      },
      outputSchema: {
        ready: z.boolean(),
        status: z.enum(connectionStatuses),
        reason: z.string().optional(),
        timedOut: z.literal(true).optional(),
        connection: z.string(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guarded(
      async (input: { connection?: string; integration?: string; timeoutSeconds: number }, caller, extra) => {
        const found = await targetOf(caller, input);
        if (found.kind === 'required') {
          await requireIntegration(caller, found.need.integration);
          throw new ApiError(
            'connection_required',
            `no ${found.need.scope} connection to ${found.need.integration} to wait for: call ` +
              'connection_status for a connect link',
            { integration: found.need.integration, scope: found.need.scope },
          );
        }
        await requireIntegration(caller, found.connection.integration);
        const release = deps.waits.admit(callerKey(caller));
        try {
          const readiness = await awaitReadiness(
            { db, changes: deps.changes },
            caller,
            found.connection.id,
            input.timeoutSeconds * 1000,
            extra.signal,
          );
          if (!readiness) throw new ApiError('invalid_request', 'the wait was cancelled');
          return result({ ...readiness, connection: found.connection.id });
        } finally {
          release();
        }
      },
    ),
  );

  server.registerTool(
    'call_integration',
    {
      title: "Call an integration's API",
      description:
        "Calls the integration's API with the connection's credential injected (you never see it): `method` " +
        'and `path` below its API base URL, optional `query`, `headers` (content negotiation and the like; ' +
        "never credentials) and `body` (JSON, or a string sent as it is). Answers the provider's status, " +
        'selected headers and body (JSON parsed, else text, else base64 with bodyEncoding; at most 1 MiB, ' +
        'truncated beyond). A 401 from the provider refreshes the token once and retries. When your user ' +
        'has not connected the integration yet, the error carries a connect link.',
      inputSchema: {
        ...target,
        method: z.enum(PROXY_METHODS),
        path: z
          .string()
          .min(1)
          .max(2048)
          .startsWith('/')
          .describe('below the API base URL, e.g. /v1/items (the query goes in `query`)'),
        query: z.record(z.string().max(256), z.string().max(4096)).optional(),
        headers: z.record(z.string().max(256), z.string().max(4096)).optional(),
        body: z.unknown().optional(),
        taskId: taskIdSchema.optional().describe('the task the call is made for: recorded with the grant'),
      },
      outputSchema: providerAnswerSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    guarded(
      async (
        input: {
          connection?: string;
          integration?: string;
          method: (typeof PROXY_METHODS)[number];
          path: string;
          query?: Record<string, string>;
          headers?: Record<string, string>;
          body?: unknown;
          taskId?: string;
        },
        caller,
        extra,
      ) => {
        // Spent first, as the proxy spends it: a refused call costs its limit too.
        await access.limits.enforce(PROXY_RATE_LIMIT, callerKey(caller));
        let connectionId = input.connection;
        // By id, the proxy's core is the one read (visibility, policy, credential); by integration, the
        // connection that applies is resolved first.
        if (connectionId === undefined || input.integration !== undefined) {
          const found = await targetOf(caller, input);
          if (found.kind === 'required') {
            await requireIntegration(caller, found.need.integration);
            const answer = await connectAnswer(caller, found.need, extra);
            throw new ApiError('connection_required', answer.message, answer);
          }
          connectionId = found.connection.id;
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
        const body = requestBody(input.method, input.body, headers);
        const { upstream, credentials } = await callProvider({ access, outbound: deps.outbound }, caller, {
          connectionId,
          method: input.method,
          rawPath: encodedPath(input.path),
          rawQuery: encodedQuery(input.query ?? {}),
          headers,
          readBody: () => Promise.resolve(body),
          taskId: input.taskId,
          via: 'mcp',
        });
        const cancel = () => upstream.destroy();
        extra.signal.addEventListener('abort', cancel, { once: true });
        try {
          const secrets = credentials.map((credential) =>
            credential.authType === 'oauth2' ? credential.accessToken : credential.apiKey,
          );
          const answer = await readProviderAnswer(upstream, secrets, { method: input.method }).catch(() => {
            throw new ApiError('provider_unavailable', 'the provider stopped answering');
          });
          return result(answer);
        } finally {
          extra.signal.removeEventListener('abort', cancel);
        }
      },
    ),
  );

  return server;
}

/** The body as the proxy sends a buffered one: a string as it is, anything else as JSON. */
function requestBody(method: string, body: unknown, headers: Record<string, string>) {
  if (body === undefined) return { kind: 'none' as const };
  if (method === 'GET' || method === 'HEAD') {
    throw new ApiError('invalid_request', `a ${method} request must not have a body`);
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  headers['content-type'] ??= typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length > REPLAYABLE_BODY_LIMIT) {
    throw new ApiError(
      'payload_too_large',
      `a request body through call_integration is limited to ${REPLAYABLE_BODY_LIMIT} bytes`,
    );
  }
  return { kind: 'buffered' as const, buffer };
}

/** The path as given, with what a URL path cannot carry as it is percent-encoded (a `%` is kept). */
function encodedPath(path: string): string {
  try {
    return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (character) => encodeURIComponent(character));
  } catch {
    throw new ApiError('invalid_request', 'the path is not well-formed Unicode');
  }
}

function encodedQuery(query: Record<string, string>): string {
  try {
    return Object.entries(query)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      .join('&');
  } catch {
    throw new ApiError('invalid_request', 'the query is not well-formed Unicode');
  }
}
