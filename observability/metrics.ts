// Prometheus metrics, one registry per process: connections by status (counted from Postgres when the API
// starts and when its change listener resyncs, then moved by each transition notice, so a scrape never
// queries), lifecycle transitions and refresh outcomes (counted where they happen:
// the worker's activities), and API request latency by route. Labels are enum words and route patterns
// only: never ids, names or anything secret.
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logging/logger.js';
import type { ConnectionChange } from '../connections/connection-changes.js';
import { connectionStore } from '../connections/connection-store.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const transitionsTotal = new Counter({
  name: 'connection_transitions_total',
  help: 'Connection lifecycle transitions recorded, by from and to status.',
  labelNames: ['from', 'to'] as const,
  registers: [registry],
});

export const refreshesTotal = new Counter({
  name: 'connection_refreshes_total',
  help: 'Token refreshes by outcome: refreshed, rejected (invalid_grant), retried (provider unavailable), failed.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const requestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'API request latency by method, route pattern and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const connectionsByStatus = new Gauge({
  name: 'connections',
  help: 'Connections by status.',
  labelNames: ['status'] as const,
  registers: [registry],
});

/** What the gauge needs of the change listener (connections/connection-changes.ts). */
export interface StatusNotices {
  on(event: 'change', listener: (change: ConnectionChange) => void): unknown;
  on(event: 'resync', listener: () => void): unknown;
  off(event: 'change', listener: (change: ConnectionChange) => void): unknown;
  off(event: 'resync', listener: () => void): unknown;
}

let following: (() => void) | undefined;

/**
 * Keeps the connections-by-status gauge current: one count now, then each transition notice moves one
 * connection from its `from` status to its `to`; a resync (or a notice without `from`, from a worker older
 * than this) recounts. Without notices the gauge is the count at start. Resolves once the first count is in.
 */
export async function trackConnectionsByStatus(
  db: Knex,
  notices?: StatusNotices,
  logger?: Pick<Logger, 'warn'>,
): Promise<void> {
  following?.();
  let counting: Promise<void> | undefined;
  const recount = () =>
    (counting ??= (async () => {
      try {
        const counts = await connectionStore.countByStatus(db);
        connectionsByStatus.reset();
        for (const [status, count] of counts) connectionsByStatus.set({ status }, count);
      } catch (error) {
        logger?.warn({ err: error }, 'connections could not be counted for the metrics');
      } finally {
        counting = undefined;
      }
    })());
  const onChange = (change: ConnectionChange) => {
    if (change.kind !== 'status' || !change.status) return;
    if (change.from === undefined) {
      void recount();
      return;
    }
    if (change.from !== null) connectionsByStatus.dec({ status: change.from });
    connectionsByStatus.inc({ status: change.status });
  };
  const onResync = () => void recount();
  notices?.on('change', onChange);
  notices?.on('resync', onResync);
  following = () => {
    notices?.off('change', onChange);
    notices?.off('resync', onResync);
  };
  await recount();
}

/** Times every request, labelled with the matched route pattern (or `unmatched`), never the raw path. */
export const timeRequests: RequestHandler = (req, res, next) => {
  const stop = requestDuration.startTimer();
  res.once('finish', () => {
    const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
    stop({ method: req.method, route, status: String(res.statusCode) });
  });
  next();
};

/**
 * The latency series of one route whose pattern is known when it is mounted (the hot routes: api/app.ts),
 * each method and status's series looked up once: an observation allocates no label set.
 */
export function routeTimer(route: string): (method: string, status: number, seconds: number) => void {
  const series = new Map<string, { observe(seconds: number): void }>();
  return (method, status, seconds) => {
    const key = `${method} ${status}`;
    let one = series.get(key);
    if (!one) series.set(key, (one = requestDuration.labels(method, route, String(status))));
    one.observe(seconds);
  };
}
