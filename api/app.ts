// The Express application: each feature's routes (declared once, in its own folder, by the factory the
// composition root calls: platform/composition.ts) mounted on one registry (api/routes.ts), the operations
// routes, and errors mapped in one place. It builds no feature and looks nothing up: what it serves is handed in.
import express from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import type { Logger } from '../logging/logger.js';
import type { TokenVerifier } from './auth.js';
import { codecServerRoutes, type CodecServerDependencies } from './codec-server.js';
import { errorHandler, notFound } from './errors.js';
import { routeTimer, timeRequests } from '../observability/metrics.js';
import { registerHealthRoutes, type HealthDependencies } from './health.js';
import type { RateLimits } from './rate-limits.js';
import { errorResponse, openApiDocument } from './openapi.js';
import type { StreamingRoute } from './route-definition.js';
import { methodsServed, RouteRegistry, type Route } from './routes.js';

export interface ApiDependencies {
  logger: Logger;
  /**
   * TRUST_PROXY, as Express's `trust proxy`: which proxies' X-Forwarded-For is believed for the client
   * address that public routes are rate limited by. Nothing is trusted when absent.
   */
  trustProxy?: boolean | number | string[];
  /** Every success body checked against its route's declared schema (api/routes.ts): tests only. */
  checkResponses?: boolean;
  /** What /readyz probes. */
  health: Omit<HealthDependencies, 'logger'>;
  verifyToken: TokenVerifier;
  /** The counters every rate-limited route spends (shared with the features that limit on their own). */
  limits: RateLimits;
  /** The features' routes. */
  routes: readonly Route[];
  streaming: readonly StreamingRoute[];
  /** The payload codec, served to operators (Temporal UI, `temporal --codec-endpoint`) at /codec. */
  codec?: CodecServerDependencies;
}

export function createApp(deps: ApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETags: answers are per caller and mostly `no-store` (tokens), and hashing every body costs each request.
  app.disable('etag');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(securityHeaders);
  const registry = new RouteRegistry(deps.verifyToken, deps.limits, { checkResponses: deps.checkResponses });
  registerHealthRoutes(registry, { ...deps.health, logger: deps.logger });
  registry.add({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tags: ['operations'],
    roles: 'public',
    response: z.record(z.string(), z.unknown()),
    // The document is generated below, once every route is declared, and served as it is.
    handler: () => openApi as Record<string, unknown>,
  });
  registry.addAll(deps.routes);
  const openApi: object = openApiDocument(
    registry.routes,
    { title: 'Connections', version: '1' },
    Object.assign({}, deps.codec ? codecPaths : {}, ...deps.streaming.map((route) => route.documented)),
  );

  // The agents' hot path first (the token, the ready long-poll, the proxy, MCP): each is timed and logged by
  // its own pattern, known here, and met before the other routes' path checks and the general middleware.
  const observe = (pattern: string) => observeRoute(pattern, deps.logger);
  const hot = (route: Route) => route.hot === true;
  app.use(registry.router({ select: hot, observe: (route) => observe(route.path) }));
  for (const route of deps.streaming) {
    // The methods the route is documented with, and no other (405 with Allow).
    app.use(route.path, observe(`${route.path}/*`), methodsServed(route.methods), route.handler);
  }

  app.use(timeRequests);
  app.use(requestLog(deps.logger));
  // Before the registry's routes: the codec routes parse their own, larger, bodies.
  if (deps.codec) {
    app.all(Object.keys(codecPaths), methodsServed(['POST', 'OPTIONS']));
    app.use(codecServerRoutes(deps.codec));
  }
  app.use(registry.router({ select: (route) => !hot(route) }));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}

/**
 * Helmet's default headers, worked out once: the same for every answer, so each request sets a ready list
 * rather than running helmet's middleware (routes that need another policy, the pages, set their own after).
 */
const securityHeaderList: ReadonlyArray<readonly [string, string]> = (() => {
  const headers: Array<[string, string]> = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  helmet()({} as express.Request, recorder as unknown as express.Response, () => undefined);
  return headers;
})();

const securityHeaders: express.RequestHandler = (_req, res, next) => {
  for (const [name, value] of securityHeaderList) res.setHeader(name, value);
  next();
};

/** A hot route's request line and latency, by the pattern it was mounted with. */
function observeRoute(pattern: string, logger: Logger): express.RequestHandler {
  const time = routeTimer(pattern);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      time(req.method, res.statusCode, seconds);
      // A route may lower its own line (the ready long-polls one transition answers together).
      const level = res.locals.logLevel === 'debug' ? 'debug' : 'info';
      logger[level](
        { method: req.method, route: pattern, status: res.statusCode, ms: seconds * 1e3 },
        'request',
      );
    });
    next();
  };
}

/** One line per request: method, route pattern, status, duration. Never headers, bodies or query strings. */
function requestLog(logger: Logger): express.RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      logger.info(
        {
          method: req.method,
          route: req.route?.path ? `${req.baseUrl}${req.route.path}` : undefined,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  };
}

/** Standard base64, as zod's z.base64() checks it (padded, a multiple of four characters), within the body. */
const base64 = {
  type: 'string',
  maxLength: 4 * 1024 * 1024,
  pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
};
const codecPayloads = {
  type: 'object',
  properties: {
    payloads: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          metadata: { type: ['object', 'null'], additionalProperties: base64 },
          data: { anyOf: [base64, { type: 'null' }] },
        },
      },
    },
  },
};

/** The codec server's routes (api/codec-server.ts), served outside the registry and documented with it. */
const codecPaths: Record<string, Record<string, unknown>> = Object.fromEntries(
  (['encode', 'decode'] as const).map((direction) => [
    `/codec/${direction}`,
    {
      post: {
        summary: `Payload codec server (Temporal's protocol, proto3 JSON), operators only: ${direction}`,
        description:
          'For operators only: a bearer operator token (`npm run token -- --operator`), or, from the ' +
          "Temporal UI's origin only (CORS with credentials), the browser's operator console session " +
          'cookie (`connections_operator`). A workspace token or console session is refused (401), before ' +
          'the body is read.',
        tags: ['operations'],
        parameters: [{ name: 'X-Namespace', in: 'header', required: false, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: codecPayloads } } },
        responses: {
          '200': { description: 'the payloads', content: { 'application/json': { schema: codecPayloads } } },
          ...Object.fromEntries([400, 401, 413].map((status) => [String(status), errorResponse(status)])),
        },
      },
    },
  ]),
);
