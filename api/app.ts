// The Express application: routes are mounted here, errors mapped in one place.
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { KeyProvider } from '../vault/index.js';
import { errorHandler, notFound } from './errors.js';
import { healthRoutes } from './health.js';

export interface ApiDependencies {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
}

export function createApp(deps: ApiDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  app.use(healthRoutes(deps));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
