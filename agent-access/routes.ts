// What agent tasks use of a connection without holding it: a short-lived token, and the provider proxy.
// The token route is declared in the registry; the proxy is mounted (by api/app.ts) before the JSON parser,
// since it streams raw bodies, and documented here for /openapi.json.
import { z } from 'zod';
import type { ApiDependencies } from '../api/app.js';
import { errorResponse, idSchema, type RouteRegistry } from '../api/routes.js';
import { REPLAYABLE_BODY_LIMIT } from './proxy.js';

/** The methods the proxy forwards (one list: the proxy's own). */
export { PROXY_METHODS as proxyMethods } from './proxy.js';
import { registerTokenRoute, taskIdSchema } from './token.js';

export { agentProxy } from './proxy.js';

export function registerAgentAccessRoutes(registry: RouteRegistry, deps: ApiDependencies): void {
  if (!deps.service) return;
  registerTokenRoute(registry, deps);
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
  'x-rate-limit': 'proxy',
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
export const agentAccessPaths: Record<string, Record<string, unknown>> = {
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
