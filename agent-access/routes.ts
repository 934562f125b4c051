// What agent tasks use of a connection without holding it, as one feature: a short-lived token, the
// provider proxy, which connection applies (resolve) and whether it is ready, and the audit of those uses
// (the grants). The proxy is handed to the app as a streaming route (mounted before the JSON parser, since
// it streams raw bodies) and documented here for /openapi.json; the rest are registry routes. Built from its
// dependencies alone (platform/composition.ts).
import { z } from 'zod';
import type { StreamingRoute } from '../api/route-definition.js';
import type { TokenVerifier } from '../api/auth.js';
import { errorResponse } from '../api/openapi.js';
import { idSchema, RouteList, type Route } from '../api/routes.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import { registerGrantRoutes } from './grant-routes.js';
import { agentProxy, PROXY_METHODS, PROXY_RATE_LIMIT, REPLAYABLE_BODY_LIMIT } from './proxy.js';
import { registerAgentRoutes, type ResolveDependencies } from './resolve-routes.js';
import { registerTokenRoute, taskIdSchema, type AgentAccess } from './token.js';

export interface AgentAccessDependencies extends ResolveDependencies {
  /** The credential read path shared by the token route and the proxy (one credential cache). */
  access: AgentAccess;
  verifyToken: TokenVerifier;
  outbound: OutboundGuard;
}

export function agentAccessRoutes(deps: AgentAccessDependencies): {
  routes: Route[];
  proxy: StreamingRoute;
} {
  const list = new RouteList();
  registerTokenRoute(list, deps.access);
  registerAgentRoutes(list, deps);
  registerGrantRoutes(list, deps);
  return {
    routes: list.routes,
    proxy: {
      path: '/v1/connections/:id/proxy',
      methods: PROXY_METHODS,
      handler: agentProxy(deps),
      documented: proxyPaths,
    },
  };
}

const common = {
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
    {
      name: 'X-Task-Id',
      in: 'header',
      required: false,
      description: 'the task the call is made for: recorded with the grant, not forwarded',
      schema: z.toJSONSchema(taskIdSchema),
    },
  ],
  'x-rate-limit': PROXY_RATE_LIMIT,
};

const summary = "Forward to the integration's API with the connection's credential injected";
const description =
  'On a 401 the token is refreshed once and the call retried (bodyless or small bodies only). Only GET, HEAD, POST, PUT, PATCH, ' +
  'DELETE and OPTIONS are carried: any other method answers 405 method_not_allowed with Allow. Request ' +
  'headers forwarded: content negotiation (Accept, Accept-Encoding, Accept-Language), conditional requests ' +
  '(If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range), Range, Cache-Control, ' +
  'Content-Type/-Encoding/-Language/-Disposition/-Range, Prefer, Idempotency-Key, User-Agent, X-Request-Id, ' +
  "and the names the provider's configuration declares (proxy.requestHeaders); never the caller's " +
  'Authorization or Cookie, Forwarded, X-Forwarded-*, X-Original-URL, X-Rewrite-URL, X-HTTP-Method-Override ' +
  'or hop-by-hop headers. Response headers passed back: Content-Type/-Length/-Encoding/-Language/' +
  '-Disposition/-Range, Accept-Ranges, Age, Cache-Control, ETag, Expires, Last-Modified, Vary, Link, ' +
  'Location, Retry-After, Deprecation, Sunset, RateLimit and X-RateLimit-* headers, Request-Id, ' +
  "X-Request-Id, X-Correlation-Id, and the provider's declared ones (proxy.responseHeaders); never " +
  'Set-Cookie, authentication challenges, CORS, CSP, HSTS or hop-by-hop headers.';

// invalid id or target (or a body where none is allowed); no or invalid token; a role that may not; unknown
// connection; not active; over the proxy (or, on a 401, the refresh) limit; the provider unreachable.
const refusals = (statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), errorResponse(status)]));
const anyBody = { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } };
const providerAnswer = { description: "the provider's answer, as it sent it (headers filtered)", ...anyBody };

/** GET and HEAD: no body (Content-Length above 0 or any Transfer-Encoding answers 400). */
const bodyless = {
  ...common,
  summary,
  description: `${description} GET and HEAD carry no body: one is refused with 400.`,
  responses: { default: providerAnswer, ...refusals([400, 401, 403, 404, 409, 429, 502, 503]) },
};

/** DELETE and OPTIONS: a body up to the limit, buffered and sent with its Content-Length. */
const bufferedBody = {
  ...common,
  summary,
  description: `${description} A DELETE or OPTIONS body is buffered (at most ${REPLAYABLE_BODY_LIMIT} bytes, 413 beyond) and sent with its Content-Length.`,
  requestBody: { required: false, ...anyBody },
  responses: { default: providerAnswer, ...refusals([400, 401, 403, 404, 409, 413, 429, 502, 503]) },
};

/** POST, PUT, PATCH: small bodies buffered, larger ones streamed with their own framing. */
const streamedBody = {
  ...common,
  summary,
  description: `${description} A body up to ${REPLAYABLE_BODY_LIMIT} bytes (by Content-Length) is buffered; a larger or chunked one streams through with its declared Content-Length, or chunked.`,
  // No limit of the service's: a larger body streams through to the provider.
  requestBody: { required: false, 'x-streamed': true, ...anyBody },
  responses: { default: providerAnswer, ...refusals([400, 401, 403, 404, 409, 429, 502, 503]) },
};

/** The proxy in /openapi.json, method by method. */
const proxyPaths: Record<string, Record<string, unknown>> = {
  '/v1/connections/{id}/proxy/{path}': {
    get: bodyless,
    head: bodyless,
    delete: bufferedBody,
    options: bufferedBody,
    post: streamedBody,
    put: streamedBody,
    patch: streamedBody,
  },
};
