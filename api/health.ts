// Liveness and readiness. /healthz answers while the process lives; /readyz asks each dependency and answers
// 503 while any is down, naming which, without echoing connection strings or errors that might carry them.
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Knex } from 'knex';
import { checkDatabase } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import type { KeyProvider } from '../vault/index.js';

export type DependencyState = { status: 'up' } | { status: 'down'; error: string };

const CHECK_TIMEOUT_MS = 2_000;

async function probe(name: string, check: () => Promise<unknown>, logger: Logger): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'up' };
  } catch (error) {
    logger.warn({ dependency: name, err: error }, 'readiness check failed');
    const message = (error as Error).message.startsWith('no answer')
      ? (error as Error).message
      : 'unreachable';
    return { status: 'down', error: message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
}): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [temporal, database, kms] = await Promise.all([
      probe(
        'temporal',
        () =>
          deps.temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
            deps.temporal.connection.workflowService.getSystemInfo({}),
          ),
        deps.logger,
      ),
      probe('database', () => checkDatabase(deps.db), deps.logger),
      probe('kms', () => deps.keys.check(), deps.logger),
    ]);
    const checks = { temporal, database, kms: { ...kms, provider: deps.keys.name } };
    const ready = [temporal, database, kms].every((state) => state.status === 'up');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  return router;
}
