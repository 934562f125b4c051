// The Express application: routes are declared once (api/routes.ts) per feature folder, mounted here, and
// errors mapped in one place.
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import express from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { CredentialVault, KeyProvider } from '../vault/index.js';
import type { TokenVerifier } from './auth.js';
import { codecServerRoutes } from './codec-server.js';
import type { ConnectionCommands } from './connection-commands.js';
import { registerConnectionRoutes } from './connections/routes.js';
import { errorHandler, notFound } from './errors.js';
import { healthRoutes } from './health.js';
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
  };
  /** The payload codec, served to operators (Temporal UI, `temporal --codec-endpoint`) at /codec. */
  codec?: { codec: PayloadCodec; verifyToken: TokenVerifier; allowedOrigins: string[] };
}

export function createApp(deps: ApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Before the JSON parser: the codec routes parse their own, larger, bodies.
  if (deps.codec) app.use(codecServerRoutes(deps.codec));
  app.use(express.json({ limit: '64kb' }));
  app.use(healthRoutes(deps));
  if (deps.service) {
    const registry = new RouteRegistry(deps.service.verifyToken);
    registerIntegrationRoutes(registry, deps);
    registerConnectionRoutes(registry, deps);
    const openApi = registry.openApi({ title: 'Connections', version: '1' });
    app.get('/openapi.json', (_req, res) => {
      res.json(openApi);
    });
    app.use(registry.router());
  }
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
