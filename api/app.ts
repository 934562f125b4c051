// The Express application: routes are mounted here, errors mapped in one place.
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import express from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { KeyProvider } from '../vault/index.js';
import type { TokenVerifier } from './auth.js';
import { codecServerRoutes } from './codec-server.js';
import { errorHandler, notFound } from './errors.js';
import { healthRoutes } from './health.js';

export interface ApiDependencies {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
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
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
