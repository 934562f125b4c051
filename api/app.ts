// The Express application: routes are declared once (api/routes.ts) per feature folder, mounted here, and
// errors mapped in one place.
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import express from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import type { ConnectionChangeListener } from '../connections/connection-changes.js';
import type { GrantRecorder } from '../agent-access/grant-recorder.js';
import type { CredentialVault, KeyProvider } from '../vault/index.js';
import type { TokenVerifier } from './auth.js';
import type { OperatorVerifier } from './operator-auth.js';
import {
  agentAccessPaths,
  agentProxy,
  proxyMethods,
  registerAgentAccessRoutes,
} from '../agent-access/routes.js';
import { registerAgentRoutes } from '../agent-access/resolve-routes.js';
import { codecServerRoutes } from './codec-server.js';
import type { ConnectionCommands } from '../connections/connection-commands.js';
import { registerConnectionRoutes } from '../connections/routes.js';
import { errorHandler, notFound } from './errors.js';
import { timeRequests, trackConnectionsByStatus } from '../observability/metrics.js';
import type { ReadyWaitLimits } from '../agent-access/ready.js';
import { registerHealthRoutes } from './health.js';
import { rateLimitsOf, type RateLimitSettings } from './rate-limits.js';
import { registerIntegrationRoutes } from '../integrations/routes.js';
import { errorResponse, methodsServed, RouteRegistry } from './routes.js';

export interface ApiDependencies {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
  /**
   * TRUST_PROXY, as Express's `trust proxy`: which proxies' X-Forwarded-For is believed for the client
   * address that public routes are rate limited by. Nothing is trusted when absent.
   */
  trustProxy?: boolean | number | string[];
  /** Present when the service's own routes are served (everything but the operations routes). */
  service?: {
    vault: CredentialVault;
    commands: ConnectionCommands;
    verifyToken: TokenVerifier;
    publicUrl: string;
    /** http:// and private-network provider URLs, for development and tests only. */
    allowInsecureProviderUrls: boolean;
    /** The way out to providers (the proxy, and the address check of custom providers' URLs). */
    outbound: OutboundGuard;
    /** Requests a minute per caller (per address on public routes), by limit; defaults for those absent. */
    rateLimits?: Partial<RateLimitSettings>;
    /** READY_WAITS_PER_CALLER, READY_WAITS_PER_PROCESS: long-polls waiting at once. */
    readyWaits?: Partial<ReadyWaitLimits>;
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
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(helmet());
  app.use(timeRequests);
  app.use(requestLog(deps.logger));
  // Before the registry's routes: the codec routes parse their own, larger, bodies.
  if (deps.codec) {
    app.all(Object.keys(codecPaths), methodsServed(['POST', 'OPTIONS']));
    app.use(codecServerRoutes(deps.codec));
  }
  // The provider proxy streams raw bodies through, so it is not a registry route.
  if (deps.service) {
    // The methods the proxy is documented with, and no other (405 with Allow).
    app.use('/v1/connections/:id/proxy', methodsServed(proxyMethods), agentProxy(deps));
  }
  void trackConnectionsByStatus(deps.db, deps.service?.changes, deps.logger);
  const registry = new RouteRegistry(
    deps.service?.verifyToken,
    deps.service ? rateLimitsOf(deps.service) : undefined,
  );
  registerHealthRoutes(registry, deps);
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
  if (deps.service) {
    registerIntegrationRoutes(registry, deps);
    registerConnectionRoutes(registry, deps);
    registerAgentAccessRoutes(registry, deps);
    registerAgentRoutes(registry, deps);
  }
  const openApi: object = registry.openApi(
    { title: 'Connections', version: '1' },
    { ...(deps.codec ? codecPaths : {}), ...(deps.service ? agentAccessPaths : {}) },
  );
  app.use(registry.router());
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
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
        summary: `Payload codec server (Temporal's protocol, proto3 JSON), operator token only: ${direction}`,
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
