// Idle fleet: 10,000 `active` OAuth connections asleep on their refresh timers (quick: 1,000), against 10,000
// workflows asleep on a timer (bench/baseline/workflows.ts `sleeper`), each side on a worker whose cache is
// fixed (WORKER_MAX_CACHED_WORKFLOWS: 2,000; quick: 500, because at 250 the steps in which V8 grows its heap
// are as large as what the cache holds). Both fleets are made once; then, alternating, a fresh worker process
// of one side is started and every workflow of its fleet is queried (a query makes the worker replay the
// workflow into its cache) while the worker's resident memory is sampled. Memory per cached workflow =
// (RSS when the cache first became full − RSS before the first query) ÷ cache size, and also from the first
// eighth of the cache on (the one-off costs of the first activations left out); the memory is flat when the
// RSS at the end of the fleet is within 10% of the RSS when the cache became full.
//
// Sizes for development: IDLE_FLEET_SIZE and IDLE_FLEET_CACHE override the fleet and the cache. The full run
// makes 10,000 connections through the API and replays 10,000 connection workflows per repetition: on two
// busy cores that is close to an hour.
// Longer than the house's ~350 lines: one scenario's fleets, sampling and report read best in one place;
// issue 16 (performance) reworks it.
import { Client } from '@temporalio/client';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionWorkflowId } from '../../workflows/messages.js';
import { BASELINE_TASK_QUEUE } from '../baseline/task-queue.js';
import { connectOAuth, inParallel } from '../fleet.js';
import type { Check, Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { BENCH_NAMESPACE, type BenchProcess } from '../stack.js';
import { configureOAuthIntegration, startOAuthStandIn } from '../stand-ins.js';
import { alternate, median, summarize } from '../stats.js';

const MiB = 2 ** 20;

interface Sample {
  queries: number;
  /** Resident memory of the worker, bytes. */
  rss: number;
  /** Seconds since the first query. */
  at: number;
}

interface Fill {
  /** RSS once the started worker settled, before the first query. */
  before: number;
  /** RSS when as many workflows as the cache holds had been queried. */
  full: number;
  /** RSS after the last workflow of the fleet was queried. */
  end: number;
  /** The largest RSS sampled from cache-full to the end. */
  peakAfterFull: number;
  perWorkflow: number;
  /**
   * (RSS at cache full − RSS after the first eighth of the cache) ÷ the workflows between: per workflow with
   * the one-off costs of the first activations (the sandbox's first run, compiled code) left out.
   */
  perWorkflowMarginal: number;
  /** (end − full) ÷ full. */
  growthAfterFull: number;
  queriesPerSecond: number;
  failedQueries: number;
  curve: Sample[];
}

/**
 * The worker's RSS once start-up is over: the garbage of bundling the workflows is handed back some 8–12 s
 * after the worker polls (V8's memory reducer), so this waits at least 12 s, then until the RSS has not moved
 * by more than 0.5% for 3 s, 30 s at most.
 */
async function settledRss(worker: BenchProcess): Promise<number> {
  const readings: number[] = [];
  for (let second = 0; second <= 30; second++) {
    readings.push(await worker.rss());
    const last = readings.slice(-4);
    if (second >= 12 && Math.max(...last) - Math.min(...last) <= 0.005 * last[0]!) break;
    await sleep(1000);
  }
  return readings[readings.length - 1]!;
}

/** Lines of a worker's log that report an error (pino level ≥ 50, or the SDK's own ERROR lines). */
async function errorLines(worker: BenchProcess): Promise<string[]> {
  const text = await readFile(worker.logFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => /"level":(50|60)\b|\[temporal ERROR\]|Unhandled|uncaught/i.test(line));
}

export const idleFleet: Scenario = async ({ stack, options, log }) => {
  const size = Number(process.env.IDLE_FLEET_SIZE ?? (options.quick ? 1_000 : 10_000));
  const cache = Number(process.env.IDLE_FLEET_CACHE ?? (options.quick ? 500 : 2_000));
  if (!(cache >= 2 && size > cache))
    throw new Error(`the fleet (${size}) must be larger than the cache (${cache})`);
  /** Queries in flight while loading a worker's cache. */
  const concurrency = 20;
  /** Connections being made at once through the API. */
  const creating = 40;
  const sampleEvery = Math.max(1, Math.round(cache / 8));
  const flatLimit = 0.1;
  const cacheEnv = { WORKER_MAX_CACHED_WORKFLOWS: String(cache) };
  const integration = 'bench-idle';

  const oauth = await startOAuthStandIn();
  // Tokens that live a day: the refresh timers are due in about 23.9 hours, none fires during the run.
  oauth.setLifetime(integration, { seconds: 86_400 });
  // The baseline is Temporal alone: no payload codec.
  const plain = new Client({ connection: stack.temporal.connection, namespace: BENCH_NAMESPACE });
  const workers: BenchProcess[] = [];
  const logErrors: Record<string, string[]> = {};
  const noteErrors = async (worker: BenchProcess) => {
    const lines = await errorLines(worker);
    if (lines.length)
      logErrors[worker.name] = lines.slice(0, 5).concat(lines.length > 5 ? [`… ${lines.length} in all`] : []);
  };
  try {
    // --- the fleets, made once --------------------------------------------------------------------------
    await configureOAuthIntegration(stack, oauth, integration);
    const creator = await stack.startWorker('idle-create-worker');
    workers.push(creator);
    const api = await stack.startApi('idle-api');
    const baselineCreator = await stack.startBaseline(
      'idle-create-baseline',
      'worker.ts',
      {},
      'baseline worker polling',
    );
    workers.push(baselineCreator);
    let connectionIds: string[];
    let sleeperIds: string[];
    const creation: Record<string, number> = {};
    try {
      const admin = await stack.token({ role: 'admin' });
      let started = performance.now();
      let made = 0;
      connectionIds = await inParallel(size, creating, async () => {
        const id = await connectOAuth(api.url!, admin, integration);
        if (++made % 1_000 === 0) log(`${made} connections active`);
        return connectionWorkflowId(id);
      });
      creation.connectionSeconds = (performance.now() - started) / 1000;
      log(`${size} OAuth connections active in ${creation.connectionSeconds.toFixed(0)} s`);

      const run = Date.now().toString(36);
      started = performance.now();
      sleeperIds = await inParallel(size, 50, async (i) => {
        const handle = await plain.workflow.start('sleeper', {
          taskQueue: BASELINE_TASK_QUEUE,
          workflowId: `idle-sleeper-${run}-${i}`,
        });
        // Answered once the first workflow task has run: the workflow is then asleep on its timer.
        await handle.query('__stack_trace');
        return handle.workflowId;
      });
      creation.sleeperSeconds = (performance.now() - started) / 1000;
      log(`${size} sleepers asleep in ${creation.sleeperSeconds.toFixed(0)} s`);
    } finally {
      await api.stop();
      for (const worker of [creator, baselineCreator]) {
        await worker.stop();
        await noteErrors(worker);
      }
    }

    // --- repetitions: a fresh worker, every workflow of its fleet queried into its cache ----------------
    const fill = async (
      worker: BenchProcess,
      ids: string[],
      query: (id: string) => Promise<unknown>,
    ): Promise<Fill> => {
      const before = await settledRss(worker);
      const began = performance.now();
      const curve: Sample[] = [{ queries: 0, rss: before, at: 0 }];
      let done = 0;
      let failed = 0;
      const pending: Array<Promise<void>> = [];
      const sample = (queries: number) =>
        worker.rss().then((rss) => {
          curve.push({ queries, rss, at: (performance.now() - began) / 1000 });
        });
      // First exactly as many workflows as the cache holds, all answered before the cache-full reading; then
      // the rest of the fleet, each one evicting the least recently used.
      const queryRange = (from: number, to: number) =>
        inParallel(to - from, concurrency, async (k) => {
          const id = ids[from + k]!;
          try {
            await query(id);
          } catch (error) {
            if (++failed <= 3) log(`query of ${id} failed: ${(error as Error).message}`);
          }
          const queries = ++done;
          if (queries % sampleEvery === 0 && queries !== cache && queries !== ids.length)
            pending.push(sample(queries));
        });
      await queryRange(0, cache);
      await sample(cache);
      await queryRange(cache, ids.length);
      await Promise.all(pending);
      await sample(ids.length);
      const seconds = (performance.now() - began) / 1000;
      curve.sort((a, b) => a.queries - b.queries);
      const fullAt = curve.findIndex((sample) => sample.queries >= cache);
      const full = curve[fullAt]!.rss;
      const warm = curve.find((sample) => sample.queries > 0)!;
      const end = curve[curve.length - 1]!.rss;
      return {
        before,
        full,
        end,
        peakAfterFull: Math.max(...curve.slice(fullAt).map((sample) => sample.rss)),
        perWorkflow: (full - before) / cache,
        perWorkflowMarginal: (full - warm.rss) / (cache - warm.queries),
        growthAfterFull: (end - full) / full,
        queriesPerSecond: ids.length / seconds,
        failedQueries: failed,
        curve,
      };
    };

    const rep = async (
      start: () => Promise<BenchProcess>,
      ids: string[],
      query: (id: string) => Promise<unknown>,
    ): Promise<Fill> => {
      const worker = await start();
      workers.push(worker);
      try {
        return await fill(worker, ids, query);
      } finally {
        await worker.stop();
        await noteErrors(worker);
      }
    };

    const runs = await alternate(
      options.repetitions,
      (i) =>
        rep(
          () =>
            stack.startBaseline(
              `idle-baseline-worker-${i + 1}`,
              'worker.ts',
              cacheEnv,
              'baseline worker polling',
            ),
          sleeperIds,
          (id) => plain.workflow.getHandle(id).query('__stack_trace'),
        ),
      (i) =>
        rep(
          () => stack.startWorker(`idle-worker-${i + 1}`, cacheEnv),
          connectionIds,
          (id) => stack.temporal.workflow.getHandle(id).query('getConnection'),
        ),
      (i, a, b) =>
        log(
          `#${i + 1}: baseline ${(a.perWorkflow / 1024).toFixed(1)} KiB/workflow, ` +
            `${(a.before / MiB).toFixed(0)}→${(a.full / MiB).toFixed(0)}→${(a.end / MiB).toFixed(0)} MiB, ` +
            `${a.queriesPerSecond.toFixed(0)} queries/s · connections ${(b.perWorkflow / 1024).toFixed(1)} KiB/workflow, ` +
            `${(b.before / MiB).toFixed(0)}→${(b.full / MiB).toFixed(0)}→${(b.end / MiB).toFixed(0)} MiB, ` +
            `${b.queriesPerSecond.toFixed(0)} queries/s`,
        ),
    );

    const pick = (fills: Fill[], key: keyof Omit<Fill, 'curve'>, scale = 1) =>
      summarize(fills.map((f) => f[key] / scale));
    const perWorkflow = figure(
      'memory per cached workflow',
      'KiB',
      pick(runs.measured, 'perWorkflow', 1024),
      pick(runs.baseline, 'perWorkflow', 1024),
    );
    const growth = figure(
      'RSS growth from cache full to the end',
      '%',
      pick(runs.measured, 'growthAfterFull', 0.01),
      pick(runs.baseline, 'growthAfterFull', 0.01),
    );
    const marginal = figure(
      `memory per cached workflow after the first ${sampleEvery} (one-off costs left out)`,
      'KiB',
      pick(runs.measured, 'perWorkflowMarginal', 1024),
      pick(runs.baseline, 'perWorkflowMarginal', 1024),
    );
    const figures = [
      perWorkflow,
      marginal,
      figure(
        'worker RSS before the first query',
        'MiB',
        pick(runs.measured, 'before', MiB),
        pick(runs.baseline, 'before', MiB),
      ),
      figure(
        'worker RSS when the cache became full',
        'MiB',
        pick(runs.measured, 'full', MiB),
        pick(runs.baseline, 'full', MiB),
      ),
      figure(
        'worker RSS at the end of the fleet',
        'MiB',
        pick(runs.measured, 'end', MiB),
        pick(runs.baseline, 'end', MiB),
      ),
      growth,
      figure(
        'queries/s (each a replay into the cache)',
        '/s',
        pick(runs.measured, 'queriesPerSecond'),
        pick(runs.baseline, 'queriesPerSecond'),
      ),
    ];
    const failedQueries = [...runs.measured, ...runs.baseline].reduce((sum, f) => sum + f.failedQueries, 0);
    // The fleet as the service sees it at the end: every connection still active, no token refreshed.
    const { count: stillActive } = (await stack
      .db('connections')
      .where({ workspace_id: stack.workspaceId, integration, status: 'active' })
      .count({ count: '*' })
      .first()) as { count: string | number };
    const refreshes = oauth.requests.filter(
      (r) => r.grant === 'refresh_token' && r.clientId === integration,
    ).length;
    const worstGrowth = Math.max(...runs.measured.map((f) => f.growthAfterFull));
    const checks: Check[] = [
      {
        target: `worker memory flat once the cache is full (RSS at the end of ${size} within ${flatLimit * 100}% of RSS at cache full, median of reps)`,
        value:
          `${growth.measured.median >= 0 ? '+' : ''}${growth.measured.median.toFixed(1)}% (worst rep ${(worstGrowth * 100).toFixed(1)}%; ` +
          `baseline ${growth.baseline!.median >= 0 ? '+' : ''}${growth.baseline!.median.toFixed(1)}%)`,
        met: growth.measured.median / 100 <= flatLimit,
      },
      {
        target: 'memory per cached workflow ≤ 1.2 × baseline',
        value:
          `${perWorkflow.ratio!.toFixed(2)} × (${perWorkflow.measured.median.toFixed(1)} vs ${perWorkflow.baseline!.median.toFixed(1)} KiB); ` +
          `after the first ${sampleEvery}: ${marginal.ratio!.toFixed(2)} ×`,
        met: perWorkflow.ratio! <= 1.2,
      },
      { target: 'no failed queries', value: String(failedQueries), met: failedQueries === 0 },
      {
        target: `all ${size} connections active at the end, no token refreshed (idle)`,
        value: `${stillActive} active, ${refreshes} refreshes`,
        met: Number(stillActive) === size && refreshes === 0,
      },
      {
        target: "no errors in the workers' logs",
        value: Object.keys(logErrors).length ? Object.keys(logErrors).join(', ') : 'none',
        met: Object.keys(logErrors).length === 0,
      },
    ];
    // The curve of the repetition whose memory per workflow is the median, each side.
    const medianCurve = (fills: Fill[]) => {
      const m = median(fills.map((f) => f.perWorkflow));
      const chosen = fills.find((f) => f.perWorkflow === m) ?? fills[0]!;
      return chosen.curve.map((s) => ({
        queries: s.queries,
        rssMiB: +(s.rss / MiB).toFixed(1),
        at: +s.at.toFixed(1),
      }));
    };
    return {
      scenario: 'idle fleet',
      what: `${size} active OAuth connections asleep on refresh timers; fresh worker per repetition, cache ${cache}, every workflow queried (concurrency ${concurrency})`,
      baseline: `${size} workflows asleep on a timer (sleeper), baseline worker, same cache`,
      figures,
      checks,
      details: {
        size,
        cache,
        concurrency,
        sampleEvery,
        creation,
        curves: { baseline: medianCurve(runs.baseline), measured: medianCurve(runs.measured) },
        reps: {
          baseline: runs.baseline.map(({ curve: _curve, ...rest }) => rest),
          measured: runs.measured.map(({ curve: _curve, ...rest }) => rest),
        },
        logErrors,
      },
    };
  } finally {
    for (const worker of workers) await worker.stop().catch(() => undefined);
    await oauth.stop();
  }
};
