// Liveness, readiness and metrics, for operators and load balancers: public, so they must stay cheap whoever
// calls them and however often. /healthz answers while the process lives; /readyz answers from the result of
// the last probe of Temporal, the database and KMS, taken at most once per READINESS_CACHE_MS with one probe
// in flight at most, and answers 503 while any is down, naming which, without echoing connection strings or
// errors that might carry them; /metrics serves the registry, whose gauges are kept current elsewhere, so a
// scrape runs no query.
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { z } from 'zod';
import { checkDatabase } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { registry as metricsRegistry } from '../observability/metrics.js';
import type { KeyProvider } from '../vault/index.js';
import type { RouteRegistry } from './routes.js';

const CHECK_TIMEOUT_MS = 2_000;
/** How long one probe's result answers /readyz. */
export const READINESS_CACHE_MS = 2_000;

const dependencyState = z.union([
  z.object({ status: z.literal('up') }),
  z.object({ status: z.literal('down'), error: z.string() }),
]);
export type DependencyState = z.infer<typeof dependencyState>;

const readinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({
    temporal: dependencyState,
    database: dependencyState,
    kms: z.intersection(dependencyState, z.object({ provider: z.string() })),
  }),
});
type Readiness = z.infer<typeof readinessSchema>;

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

export interface HealthDependencies {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
  /** The clock the cache period is measured by (tests hand in their own); Date.now by default. */
  now?: () => number;
}

/** The readiness of the dependencies, probed at most once per READINESS_CACHE_MS, one probe at a time. */
export function cachedReadiness(deps: HealthDependencies): () => Promise<Readiness> {
  const now = deps.now ?? Date.now;
  let last: { at: number; readiness: Readiness } | undefined;
  let inFlight: Promise<Readiness> | undefined;
  const probeAll = async (): Promise<Readiness> => {
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
    const ready = [temporal, database, kms].every((state) => state.status === 'up');
    return {
      status: ready ? 'ready' : 'unavailable',
      checks: { temporal, database, kms: { ...kms, provider: deps.keys.name } },
    };
  };
  return () => {
    if (last && now() - last.at < READINESS_CACHE_MS) return Promise.resolve(last.readiness);
    inFlight ??= probeAll().then((readiness) => {
      last = { at: now(), readiness };
      inFlight = undefined;
      return readiness;
    });
    return inFlight;
  };
}

export function registerHealthRoutes(registry: RouteRegistry, deps: HealthDependencies): void {
  const readiness = cachedReadiness(deps);
  const tags = ['operations'];
  registry.add({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: 200 while the process lives',
    tags,
    roles: 'public',
    response: z.object({ status: z.literal('ok') }),
    handler: () => ({ status: 'ok' as const }),
  });
  registry.add({
    method: 'get',
    path: '/readyz',
    summary: `Readiness of temporal, database and kms (probed at most every ${READINESS_CACHE_MS / 1000} s): 200, or 503 naming the one down`,
    tags,
    roles: 'public',
    response: readinessSchema,
    status: [200, 503],
    async handler({ res }) {
      const answer = await readiness();
      res.status(answer.status === 'ready' ? 200 : 503).json(answer);
    },
  });
  registry.add({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format)',
    tags,
    roles: 'public',
    response: z.string(),
    contentType: metricsRegistry.contentType.split(';')[0]!,
    async handler({ res }) {
      res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
    },
  });
}
