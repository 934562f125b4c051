// What agent tasks use of a connection without holding it: a short-lived token, and the provider proxy.
// The token route is declared in the registry; the proxy is mounted (by api/app.ts) before the JSON parser,
// since it streams raw bodies, and documented here for /openapi.json.
import type { ApiDependencies } from '../app.js';
import { z } from 'zod';
import { errorResponse, idSchema, type RouteRegistry } from '../routes.js';
import { registerTokenRoute } from './token.js';

export { agentProxy } from './proxy.js';

export function registerAgentAccessRoutes(registry: RouteRegistry, deps: ApiDependencies): void {
  if (!deps.service) return;
  registerTokenRoute(registry, deps);
}

const proxyOperation = {
  summary:
    "Forward to the integration's API with the connection's credential injected (the caller's own " +
    'Authorization is never forwarded); bodies stream both ways; on a 401 the token is refreshed once ' +
    'and the call retried (bodyless or small bodies only); targets outside the API base URL answer 400. ' +
    'Optional X-Task-Id header: recorded with the grant.',
  tags: ['agents'],
  'x-roles': ['agent', 'owner', 'admin'],
  parameters: [
    { name: 'id', in: 'path', required: true, schema: z.toJSONSchema(idSchema) },
    // One segment as documented (the proxy forwards any depth): what checkPath lets through, without
    // percent-encoding, dot segments or a scheme-like first segment.
    {
      name: 'path',
      in: 'path',
      required: true,
      schema: {
        type: 'string',
        pattern: "^(?!\\.{1,2}$)[A-Za-z0-9._~!$&'()*+,;=@-]{1,1024}$",
        maxLength: 1024,
      },
    },
  ],
  'x-rate-limit': 'proxy',
  responses: {
    default: { description: "the provider's answer, as it sent it" },
    // invalid id or target; no or invalid token; a role that may not; unknown connection; not active;
    // over the proxy (or, on a 401, the refresh) limit; the provider unreachable.
    ...Object.fromEntries(
      [400, 401, 403, 404, 409, 429, 502].map((status) => [String(status), errorResponse(status)]),
    ),
  },
};

/** The methods the proxy forwards. */
export const proxyMethods = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;

/** The proxy in /openapi.json: every method it forwards. */
export const agentAccessPaths: Record<string, Record<string, unknown>> = {
  '/v1/connections/{id}/proxy/{path}': Object.fromEntries(
    proxyMethods.map((method) => [method.toLowerCase(), proxyOperation]),
  ),
};
