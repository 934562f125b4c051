// What agent tasks ask of the service before they use a connection: which one applies (resolve), and
// whether it is ready (a long-poll woken by transitions); plus the per-integration setting that decides
// between the workspace's connection and the acting user's own. Never answers with a credential.
import { z } from 'zod';
import { connectionStatuses } from '../workflows/messages.js';
import type { Db } from '../db/database.js';
import type { ConnectionChangeListener } from '../connections/connection-changes.js';
import type { Role } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { connectionSchema } from '../connections/connection-schemas.js';
import { idSchema, type RouteList } from '../api/routes.js';
import { platformId, queryInteger, text } from '../api/validation.js';
import type { ConnectLinks } from '../connect/connect-sessions.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import { callerKey } from '../api/rate-limits.js';
import { awaitReadiness, sharedBody, type ReadyWaits } from './ready.js';
import { resolveConnection } from './resolve.js';
import { agentScope, agentScopeBody, setAgentScope } from '../integrations/integration-settings.js';

const everyone: Role[] = ['owner', 'admin', 'member', 'agent'];
const tags = ['agents'];

export interface ResolveDependencies {
  db: Db;
  /** Transitions announced by the worker, which wake the ready long-polls. */
  changes: ConnectionChangeListener;
  /** The admission of ready long-polls (READY_WAITS_PER_CALLER, READY_WAITS_PER_PROCESS). */
  waits: ReadyWaits;
  /** Connect links for `connection_required`, when the caller may mint one for the user who must act. */
  connectLinks?: ConnectLinks;
}

export function registerAgentRoutes(
  registry: RouteList,
  { db, changes, waits, connectLinks }: ResolveDependencies,
): void {
  registry.add({
    method: 'post',
    path: '/v1/connections/resolve',
    summary:
      "The connection that applies to an integration for the caller (an agent: the user it acts for): the workspace's, or the user's own; 409 connection_required naming what to create, with a connect link (connectUrl) when the caller may mint one for the user who must act",
    tags,
    roles: everyone,
    body: z.strictObject({
      integration: integrationKeySchema,
      agentId: text(200).optional(),
    }),
    // The task the connect link's page names as asking (with the agent).
    headers: z.object({ 'X-Task-Id': platformId().optional() }),
    response: z.object({ connection: connectionSchema }),
    errors: [404, 409],
    async handler({ body, caller, headers }) {
      const resolution = await resolveConnection(db, caller, body.integration);
      if (resolution.kind === 'resolved') return { connection: resolution.connection };
      const who = resolution.userId ? `user ${resolution.userId}` : 'an owner or admin';
      const taskId = headers['X-Task-Id'] as string | undefined;
      const agentId = body.agentId ?? (caller.role === 'agent' ? caller.sub : undefined);
      const link = await connectLinks?.linkFor(caller, {
        integration: resolution.integration,
        scope: resolution.scope,
        userId: resolution.userId,
        reason: agentId === undefined && taskId === undefined ? undefined : { agentId, taskId },
      });
      throw new ApiError(
        'connection_required',
        `no usable ${resolution.scope} connection to ${resolution.integration}: ${who} must connect it`,
        {
          integration: resolution.integration,
          scope: resolution.scope,
          ...(resolution.userId ? { userId: resolution.userId } : {}),
          ...(resolution.latest ? { latest: resolution.latest } : {}),
          // The link to send the person who must connect it to (a bearer link: only in this answer).
          ...(link ? { connectUrl: link.url, connectUrlExpiresAt: link.expiresAt } : {}),
          // What the person who must connect calls (as themselves) to start the connection.
          create: {
            method: 'POST',
            path: '/v1/connections',
            body: { integration: resolution.integration, scope: resolution.scope },
          },
        },
      );
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections/:id/ready',
    summary:
      'Long-poll: answers as soon as the connection is active, at once when failed, expired or disconnected, or with its status after `timeout` seconds (0 to 60, default 30); long-polls waiting at once are bounded per caller (429) and per process (503)',
    tags,
    hot: true,
    roles: everyone,
    params: z.strictObject({ id: idSchema }),
    query: z.strictObject({ timeout: queryInteger({ min: 0, max: 60, default: 30 }) }),
    response: z.object({
      ready: z.boolean(),
      status: z.enum(connectionStatuses),
      reason: z.string().optional(),
      timedOut: z.literal(true).optional(),
    }),
    errors: [404, 429, 503],
    async handler({ params, query, caller, res }) {
      const release = waits.admit(callerKey(caller));
      const gone = new AbortController();
      const onClose = () => gone.abort();
      res.once('close', onClose);
      try {
        const answer = await awaitReadiness(
          { db, changes },
          caller,
          params.id,
          query.timeout * 1000,
          gone.signal,
        );
        const body = answer && sharedBody(answer);
        if (!body) return answer;
        // Woken by a transition: the body its notice's waiters share, written as it is. Their request lines
        // are at debug level (the metrics count each): one transition does not write a thousand lines.
        res.locals.logLevel = 'debug';
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': body.length,
        });
        res.end(body);
        return undefined;
      } finally {
        res.off('close', onClose);
        release();
      }
    },
  });

  registry.add({
    method: 'put',
    path: '/v1/integrations/:key/agent-scope',
    summary:
      "Which connection shared agents use for this integration: the workspace's, each user's own, or null for the catalogue's default",
    tags: ['integrations'],
    roles: ['owner', 'admin'],
    params: z.strictObject({ key: integrationKeySchema }),
    body: agentScopeBody,
    response: z.object({ integration: z.string(), scope: agentScope.nullable(), effectiveScope: agentScope }),
    errors: [404],
    handler: ({ params, body, caller }) => setAgentScope(db, caller.workspace, params.key, body.scope),
  });
}
