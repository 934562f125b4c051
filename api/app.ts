// The Express application: routes are declared once (api/routes.ts) per feature folder, mounted here, and
// errors mapped in one place.
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import express from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { ConnectionChangeListener } from '../stores/connection-changes.js';
import type { GrantRecorder } from '../stores/grant-recorder.js';
import type { CredentialVault, KeyProvider } from '../vault/index.js';
import type { TokenVerifier } from './auth.js';
import type { OperatorVerifier } from './operator-auth.js';
import { agentAccessPaths, agentProxy, registerAgentAccessRoutes } from './agents/routes.js';
import { registerAgentRoutes } from './agents/resolve-routes.js';
import { codecServerRoutes } from './codec-server.js';
import type { ConnectionCommands } from './connection-commands.js';
import { registerConnectionRoutes } from './connections/routes.js';
import { errorHandler, notFound } from './errors.js';
import {
  registry as metricsRegistry,
  timeRequests,
  trackConnectionsByStatus,
} from '../observability/metrics.js';
import { healthRoutes } from './health.js';
import { rateLimits, type RateLimitSettings } from './rate-limits.js';
import { registerIntegrationRoutes } from './integrations/routes.js';
import { RouteRegistry } from './routes.js';

export interface ApiDependencies {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
  /** Present when the service's own routes are served (everything but /healthz and /readyz). */
  service?: {
    vault: CredentialVault;
    commands: ConnectionCommands;
    verifyToken: TokenVerifier;
    publicUrl: string;
    /** http:// and private-network provider URLs, for development and tests only. */
    allowInsecureProviderUrls: boolean;
    rateLimits?: RateLimitSettings;
    /** Origins besides PUBLIC_URL's that an OAuth callback may return to (RETURN_TO_ORIGINS). */
    returnToOrigins?: string[];
    /** REFRESH_MARGIN_SECONDS: the token route refreshes a token expiring sooner before handing it out. */
    refreshMarginMs?: number;
    /**
     * Where the token route and the proxy record grants (written once GRANT_FLUSH_SECONDS old); whoever
     * creates it stops it, after the server, so that pending grants are written. One with the default
     * interval, never stopped, when absent.
     */
    grants?: GrantRecorder;
    /** Transitions and credential changes announced by the worker (Postgres LISTEN/NOTIFY). */
    changes: ConnectionChangeListener;
  };
  /** The payload codec, served to operators (Temporal UI, `temporal --codec-endpoint`) at /codec. */
  codec?: { codec: PayloadCodec; verifyOperator: OperatorVerifier; allowedOrigins: string[] };
}

export function createApp(deps: ApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETags: answers are per caller and mostly `no-store` (tokens), and hashing every body costs each request.
  app.disable('etag');
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  app.use(timeRequests);
  app.use(requestLog(deps.logger));
  // Before the JSON parser: the codec routes parse their own, larger, bodies.
  if (deps.codec) app.use(codecServerRoutes(deps.codec));
  // Before the JSON parser too: the provider proxy streams raw bodies through.
  if (deps.service) app.use('/v1/connections/:id/proxy', agentProxy(deps));
  app.use(express.json({ limit: '64kb' }));
  app.use(healthRoutes(deps));
  trackConnectionsByStatus(deps.db);
  app.get('/metrics', async (_req, res) => {
    res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
  if (deps.service) {
    for (const [method, path, limit] of rateLimits(deps.service.rateLimits ?? defaultRateLimits)) {
      app[method as 'get' | 'post'](path, limit);
    }
    const registry = new RouteRegistry(deps.service.verifyToken);
    registerIntegrationRoutes(registry, deps);
    registerConnectionRoutes(registry, deps);
    registerAgentAccessRoutes(registry, deps);
    registerAgentRoutes(registry, deps);
    const openApi = registry.openApi(
      { title: 'Connections', version: '1' },
      { ...operationsPaths, ...agentAccessPaths },
    );
    app.get('/openapi.json', (_req, res) => {
      res.json(openApi);
    });
    app.use(registry.router());
  }
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}

const defaultRateLimits: RateLimitSettings = {
  connectPerMinute: 30,
  callbackPerMinute: 60,
  refreshPerMinute: 30,
};

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

/** Routes served outside the registry, documented with it so that /openapi.json lists every route. */
const operationsPaths: Record<string, Record<string, unknown>> = {
  '/healthz': {
    get: { summary: 'Liveness: 200 while the process lives', security: [], tags: ['operations'] },
  },
  '/readyz': {
    get: {
      summary: 'Readiness of temporal, database and kms: 200, or 503 naming the one down',
      security: [],
      tags: ['operations'],
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics', security: [], tags: ['operations'] } },
  '/openapi.json': { get: { summary: 'This document', security: [], tags: ['operations'] } },
  '/codec/encode': {
    post: { summary: 'Payload codec server: encode (an operator token)', tags: ['operations'] },
  },
  '/codec/decode': {
    post: { summary: 'Payload codec server: decode (an operator token)', tags: ['operations'] },
  },
};
