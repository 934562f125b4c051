// What agent tasks use of a connection without holding it: a short-lived token, and the provider proxy.
// The token route is declared in the registry; the proxy is mounted (by api/app.ts) before the JSON parser,
// since it streams raw bodies, and documented here for /openapi.json.
import type { ApiDependencies } from '../app.js';
import type { RouteRegistry } from '../routes.js';
import { registerTokenRoute } from './token.js';

import { REPLAYABLE_BODY_LIMIT } from './proxy.js';

export { agentProxy } from './proxy.js';

export function registerAgentAccessRoutes(registry: RouteRegistry, deps: ApiDependencies): void {
  if (!deps.service) return;
  registerTokenRoute(registry, deps);
}

const common = {
  tags: ['agents'],
  'x-roles': ['agent', 'owner', 'admin'],
  parameters: [
    { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
    { name: 'path', in: 'path', required: true, schema: { type: 'string' } },
    {
      name: 'X-Task-Id',
      in: 'header',
      required: false,
      description: 'the task the call is made for: recorded with the grant, not forwarded',
      schema: { type: 'string' },
    },
  ],
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

const refusals = {
  '401': { description: 'no or invalid bearer token' },
  '403': { description: 'the role may not use connections' },
  '404': { description: 'no such connection for this caller' },
  '405': { description: 'method_not_allowed: a method the proxy does not carry' },
  '409': { description: 'connection_not_active' },
  '502': {
    description:
      'provider_unavailable: the provider could not be reached, or its host leads to an address that is not public',
  },
};
const anyBody = { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } };
const providerAnswer = { description: "the provider's answer, as it sent it (headers filtered)", ...anyBody };

/** GET and HEAD: no body (Content-Length above 0 or any Transfer-Encoding answers 400). */
const bodyless = {
  ...common,
  summary,
  description: `${description} GET and HEAD carry no body: one is refused with 400.`,
  responses: {
    default: providerAnswer,
    '400': { description: 'invalid id, a target outside the integration API, or a request body' },
    ...refusals,
  },
};

/** DELETE and OPTIONS: a body up to the limit, buffered and sent with its Content-Length. */
const bufferedBody = {
  ...common,
  summary,
  description: `${description} A DELETE or OPTIONS body is buffered (at most ${REPLAYABLE_BODY_LIMIT} bytes, 413 beyond) and sent with its Content-Length.`,
  requestBody: { required: false, ...anyBody },
  responses: {
    default: providerAnswer,
    '400': { description: 'invalid id, or a target outside the integration API' },
    '413': { description: `payload_too_large: a body over ${REPLAYABLE_BODY_LIMIT} bytes` },
    ...refusals,
  },
};

/** POST, PUT, PATCH: small bodies buffered, larger ones streamed with their own framing. */
const streamedBody = {
  ...common,
  summary,
  description: `${description} A body up to ${REPLAYABLE_BODY_LIMIT} bytes (by Content-Length) is buffered; a larger or chunked one streams through with its declared Content-Length, or chunked.`,
  requestBody: { required: false, ...anyBody },
  responses: {
    default: providerAnswer,
    '400': { description: 'invalid id, or a target outside the integration API' },
    ...refusals,
  },
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
