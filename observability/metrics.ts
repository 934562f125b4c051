// Prometheus metrics, one registry per process: connections by status (read from Postgres at scrape time, so
// it is right in every deployment), lifecycle transitions and refresh outcomes (counted where they happen:
// the worker's activities), and API request latency by route. Labels are enum words and route patterns
// only: never ids, names or anything secret.
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

let connectionsByStatus: Gauge<'status'> | undefined;
let collectorDb: Knex | undefined;

/** The connections-by-status gauge, collected from the read model on each scrape. */
export function trackConnectionsByStatus(db: Knex): void {
  connectionsByStatus ??= new Gauge({
    name: 'connections',
    help: 'Connections by status.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows: Array<{ status: string; count: string | number }> = await collectorDb!('connections')
        .select('status')
        .count({ count: '*' })
        .groupBy('status');
      this.reset();
      for (const row of rows) this.set({ status: String(row.status) }, Number(row.count));
    },
  });
  collectorDb = db;
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
