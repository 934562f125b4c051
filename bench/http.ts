// The benchmarks' HTTP side: a closed-loop load generator on undici (fetch's own overhead would make the
// client the bottleneck), and small JSON calls to the API.
import { performance } from 'node:perf_hooks';
import { Agent, Pool, request } from 'undici';
import { latencyFigures, type LatencyFigures } from './stats.js';

/** Unlimited connections per origin: a fan-out of a thousand long-polls needs a thousand sockets. */
export const agent = new Agent({ connections: null, keepAliveTimeout: 60_000, headersTimeout: 0 });

export interface JsonAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export async function call(
  base: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonAnswer> {
  const answer = await request(base + path, {
    dispatcher: agent,
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await answer.body.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // a plain page (the OAuth callback's)
  }
  return { status: answer.statusCode, body, headers: answer.headers };
}

export interface LoadOptions {
  base: string;
  method: 'GET' | 'POST';
  /** The path of the i-th request. */
  path: (i: number) => string;
  headers: Record<string, string>;
  /** The headers of the k-th client's requests, in place of `headers` (one caller per client). */
  clientHeaders?: (client: number) => Record<string, string>;
  body?: string;
  concurrency: number;
  seconds: number;
  /** Requests in this first stretch are sent but not counted. */
  warmupSeconds: number;
}

/** How long a closed loop runs: `seconds` counted, after `warmupSeconds` sent but not counted. */
export interface LoopTiming {
  seconds: number;
  warmupSeconds: number;
}

/**
 * One client per lane, each calling its lane again as soon as the last call answered, for the timing's
 * stretch. A call answers true when it succeeded; false or a throw counts as an error. `i` numbers the
 * calls across lanes.
 */
export async function closedLoopOver(
  lanes: Array<(i: number) => Promise<boolean>>,
  timing: LoopTiming,
): Promise<LatencyFigures> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const countFrom = start + timing.warmupSeconds * 1000;
  const end = countFrom + timing.seconds * 1000;
  const client = async (lane: (i: number) => Promise<boolean>) => {
    for (;;) {
      const before = performance.now();
      if (before >= end) return;
      const i = sent++;
      let ok = false;
      try {
        ok = await lane(i);
      } catch {
        ok = false;
      }
      if (before < countFrom) continue;
      if (ok) latencies.push(performance.now() - before);
      else errors++;
    }
  };
  await Promise.all(lanes.map(client));
  return latencyFigures(latencies, errors, timing.seconds, sent);
}

/** `concurrency` clients, each sending its next request as soon as the last answered, for `seconds`. */
export async function closedLoop(options: LoadOptions): Promise<LatencyFigures> {
  const pool = new Pool(options.base, { connections: options.concurrency, pipelining: 1 });
  const sender = (client: number) => {
    const headers = options.clientHeaders?.(client) ?? options.headers;
    return async (i: number) => {
      const answer = await pool.request({
        method: options.method,
        path: options.path(i),
        headers,
        body: options.body,
      });
      await answer.body.dump();
      return answer.statusCode === 200;
    };
  };
  try {
    return await closedLoopOver(
      Array.from({ length: options.concurrency }, (_, k) => sender(k)),
      options,
    );
  } finally {
    await pool.close();
  }
}
