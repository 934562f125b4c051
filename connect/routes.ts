// The connect feature's API: POST /v1/connect-sessions mints a connect link for one end user (the rules of
// who may, for whom, are ConnectSessions'). The link's URL carries its token, a bearer secret: it is in this
// answer and nowhere else the service writes (the table holds its hash).
import { z } from 'zod';
import type { Role } from '../api/auth.js';
import { idSchema, RouteList, type Route } from '../api/routes.js';
import { text } from '../api/validation.js';
import { CONNECT_SESSION_TTL_BOUNDS_SECONDS } from '../config/config.js';
import { paramsSchema, returnToSchema } from '../connections/connection-schemas.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import type { ConnectSessions } from './connect-sessions.js';

const everyone: Role[] = ['owner', 'admin', 'member', 'agent'];

/** Who asks for the connection and why, shown on the connect page. */
export const connectReasonSchema = z.strictObject({
  agentId: text(200).optional(),
  taskId: text(200).optional(),
  text: text(500).optional(),
});

export function connectRoutes(deps: { sessions: ConnectSessions }): Route[] {
  const registry = new RouteList();
  registry.add({
    method: 'post',
    path: '/v1/connect-sessions',
    summary:
      'A short-lived connect link for one end user: owners and admins for any user of the workspace (or the ' +
      'workspace itself), a member for themselves, an agent for the user it acts for; `integration` or ' +
      '`allowedIntegrations` (one of them), or `connectionId` to reconnect a connection in place',
    tags: ['connect'],
    roles: everyone,
    body: z.strictObject({
      integration: integrationKeySchema.optional(),
      allowedIntegrations: z.array(integrationKeySchema).min(1).max(20).optional(),
      scope: z.enum(['workspace', 'user']),
      /** The end user (owners and admins; a member or agent may name only its own user). */
      userId: text(200).optional(),
      connectionId: idSchema.optional(),
      reason: connectReasonSchema.optional(),
      returnTo: returnToSchema.optional(),
      /** Seconds the link works; CONNECT_SESSION_TTL_SECONDS by default. */
      ttl: z
        .number()
        .int()
        .min(CONNECT_SESSION_TTL_BOUNDS_SECONDS.min)
        .max(CONNECT_SESSION_TTL_BOUNDS_SECONDS.max)
        .optional(),
      params: paramsSchema.optional(),
    }),
    response: z.object({ id: z.uuid(), url: z.url(), expiresAt: z.iso.datetime() }),
    status: 201,
    // 404: a connectionId that is not this workspace's (or not one the caller sees); 409: it is final.
    errors: [403, 404, 409],
    rateLimit: 'connect',
    async handler({ body, caller, res }) {
      res.setHeader('cache-control', 'no-store');
      return deps.sessions.create(caller, body);
    },
  });
  return registry.routes;
}
