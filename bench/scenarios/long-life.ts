// Long life: one OAuth connection through 1,000 refresh cycles (quick: 200) with three-second tokens, on an
// API and worker of its own (REFRESH_MARGIN_SECONDS=2, no jitter; the margin is capped at half the lifetime:
// a refresh 1.5 s after each token arrives, 1.5 s before it expires). Why not shorter: Temporal's timer queue fires no timer sooner than
// history.timerProcessorMaxTimeShift (1 s by default) after it is set, so a refresh timer 0.1 s after a
// one-second token (margin 0.9 s) fires after ~1 s, when that token has already expired. A cycle cannot take
// less than about a second either way; the longer token only leaves room for a slow cycle.
// No baseline (the issue names none). Afterwards every run of the connection's workflow is read back, from
// the latest along its continue-as-new chain: the longest history must stay at or under 4,096 events, and
// that run is replayed with the service's own workflow code and payload codec (bundled once, the replay
// alone timed; each replay includes making the replay worker from the bundle).
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { performance } from 'node:perf_hooks';
import { configureOAuthIntegration, startOAuthStandIn } from '../stand-ins.js';
import { connectOAuth } from '../fleet.js';
import type { Check, Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { quantile, summarize } from '../stats.js';
import { bundlerOptions, defaultWorkflowsPath, installTemporalRuntime } from '../../worker/create-worker.js';
import { failureConverterPath, workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { codecKeyId } from '../../temporal/codec-key.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const HISTORY_LIMIT = 4_096;
const TOKEN_SECONDS = 3;
const MARGIN_SECONDS = 2;

interface RunFacts {
  runId: string;
  events: number;
  refreshes: number;
  /** Activity attempts after the first (retries), of any activity. */
  retries: number;
  continuedAsNew: boolean;
  history: temporal.api.history.v1.IHistory;
}

function factsOf(runId: string, history: temporal.api.history.v1.IHistory): RunFacts & { previous?: string } {
  const events = history.events ?? [];
  const refreshScheduled = new Set<string>();
  let refreshes = 0;
  let retries = 0;
  let previous: string | undefined;
  for (const event of events) {
    const started = event.workflowExecutionStartedEventAttributes;
    if (started?.continuedExecutionRunId) previous = started.continuedExecutionRunId;
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'refreshAccessToken') refreshScheduled.add(String(event.eventId));
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed && refreshScheduled.has(String(completed.scheduledEventId))) refreshes++;
    const attempt = event.activityTaskStartedEventAttributes?.attempt ?? 1;
    if (attempt > 1) retries += attempt - 1;
  }
  return {
    runId,
    events: events.length,
    refreshes,
    retries,
    continuedAsNew: events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes != null,
    history,
    previous,
  };
}

export const longLife: Scenario = async ({ stack, options, log }) => {
  const cycles = Math.max(2, Number(process.env.BENCH_LONG_LIFE_CYCLES ?? (options.quick ? 200 : 1_000)));
  const replays = options.repetitions;
  const integration = 'bench-long-life';
  const oauth = await startOAuthStandIn();
  // A task queue of its own: this scenario runs beside the others, whose workers must not take its tasks
  // (nor its worker theirs).
  const serviceEnv = {
    REFRESH_MARGIN_SECONDS: String(MARGIN_SECONDS),
    REFRESH_JITTER_SECONDS: '0',
    // A refresh every 1.5 s (half the lifetime): under the default floor of 30 s between refreshes.
    REFRESH_MIN_INTERVAL_SECONDS: '0.5',
    TEMPORAL_TASK_QUEUE: 'connections-long-life',
  };
  const worker = await stack.startWorker('long-life-worker', serviceEnv);
  const api = await stack.startApi('long-life-api', serviceEnv);
  let workflowId: string | undefined;
  try {
    await configureOAuthIntegration(stack, oauth, integration);
    oauth.setLifetime(integration, { seconds: TOKEN_SECONDS });
    const admin = await stack.token({ role: 'admin' });
    const id = await connectOAuth(api.url!, admin, integration);
    workflowId = `connection-${id}`;
    const mine = () => oauth.requests.filter((r) => r.clientId === integration);
    const authorizedAt = mine().find((r) => r.grant === 'authorization_code')!.at;

    // Cycle until `cycles` refreshes: the one before the last gets a short token still, the last a day-long
    // one, so the connection rests after exactly `cycles` (a cycle takes at least its one-second timer, far
    // longer than this loop's 5 ms look).
    let count = 0;
    let lastProgress = Date.now();
    let stopped = false;
    for (;;) {
      const now = mine().filter((r) => r.grant === 'refresh_token').length;
      if (now !== count) {
        if (Math.floor(now / 100) !== Math.floor(count / 100)) log(`${now} cycles`);
        count = now;
        lastProgress = Date.now();
      }
      if (!stopped && count >= cycles - 1) {
        oauth.setLifetime(integration, { seconds: 86_400 });
        stopped = true;
      }
      if (count >= cycles) break;
      if (Date.now() - lastProgress > 60_000)
        throw new Error(`no refresh for a minute after ${count} cycles`);
      await sleep(5);
    }
    // Let the last cycle finish (its schedule recorded, the workflow back on its timer).
    for (;;) {
      const row = await stack.db('connections').where({ id }).first('next_refresh_at');
      if (row?.next_refresh_at && new Date(row.next_refresh_at).getTime() > Date.now() + 3_600_000) break;
      if (Date.now() - lastProgress > 60_000) throw new Error('the last refresh was never recorded');
      await sleep(50);
    }
    let length = -1;
    for (;;) {
      await sleep(500);
      const described = await stack.temporal.workflow.getHandle(workflowId).describe();
      if (described.historyLength === length && (described.raw.pendingActivities ?? []).length === 0) break;
      length = described.historyLength;
    }

    const refreshes = mine().filter((r) => r.grant === 'refresh_token');
    const late = refreshes.filter((r) => r.at >= r.replacedExpiresAt!).length;
    const span = (refreshes.at(-1)!.at - authorizedAt) / 1000;
    const intervals = refreshes.map((r, i) => r.at - (i === 0 ? authorizedAt : refreshes[i - 1]!.at));
    log(`${refreshes.length} cycles in ${span.toFixed(1)} s`);

    // Every run, latest first, along the continue-as-new chain; and what visibility lists, for comparison.
    const runs: RunFacts[] = [];
    let runId: string | undefined = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
    while (runId) {
      const history = await stack.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
      const facts = factsOf(runId, history);
      runs.unshift(facts);
      runId = facts.previous;
    }
    let listed = 0;
    for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId="${workflowId}"` })) {
      if (runs.some((run) => run.runId === execution.runId)) listed++;
    }
    const longest = runs.reduce((a, b) => (b.events > a.events ? b : a));
    const recordedRefreshes = runs.reduce((sum, run) => sum + run.refreshes, 0);
    const retries = runs.reduce((sum, run) => sum + run.retries, 0);
    log(`${runs.length} runs, longest ${longest.events} events; replaying it ${replays} times`);

    // Replay: the service's workflows bundled once, as its worker bundles them; each replay timed.
    installTemporalRuntime();
    const { code } = await bundleWorkflowCode({
      workflowsPath: defaultWorkflowsPath,
      failureConverterPath,
      webpackConfigHook: bundlerOptions.webpackConfigHook,
    });
    const codec = new AesGcmPayloadCodec({ id: codecKeyId(stack.codecKey), key: stack.codecKey });
    const replayOptions = { workflowBundle: { code }, dataConverter: workerDataConverter(codec) };
    const replay = async (run: RunFacts) => {
      const began = performance.now();
      await Worker.runReplayHistory(replayOptions, run.history, workflowId);
      return performance.now() - began;
    };
    let replayError: string | undefined;
    const replayMs: number[] = [];
    const shortest = runs.reduce((a, b) => (b.events < a.events ? b : a));
    const shortestMs: number[] = [];
    try {
      await replay(longest); // the first replay also loads the bundle into a fresh isolate: not counted
      for (let i = 0; i < replays; i++) {
        replayMs.push(await replay(longest));
        shortestMs.push(await replay(shortest));
      }
    } catch (error) {
      replayError = (error as Error).message;
      log(`replay failed: ${replayError}`);
    }

    const overLimit = runs.filter((run) => run.events > HISTORY_LIMIT).length;
    const figures = [
      figure('refresh cycles', '', summarize([refreshes.length])),
      figure('cycles per second', '/s', summarize([refreshes.length / span])),
      figure('cycle time p50', 'ms', summarize([quantile(intervals, 0.5)])),
      figure('cycle time p99', 'ms', summarize([quantile(intervals, 0.99)])),
      figure('workflow runs', '', summarize([runs.length])),
      figure('longest run', 'events', summarize([longest.events])),
      figure('replay of the longest run', 'ms', summarize(replayMs)),
    ];
    const checks: Check[] = [
      {
        target: 'no run over 4,096 history events',
        value: `longest ${longest.events} of ${runs.length} runs`,
        met: overLimit === 0,
      },
      {
        target: 'token requests = refresh cycles the workflow recorded',
        value: `${refreshes.length} requests, ${recordedRefreshes} refreshes in history (${cycles} asked)`,
        met: refreshes.length === recordedRefreshes && refreshes.length === cycles,
      },
      {
        target: 'every token refreshed before it expires',
        value: `${late} late of ${refreshes.length}`,
        met: late === 0,
      },
      {
        target: 'the longest run replays (no nondeterminism)',
        value: replayError ?? `median ${quantile(replayMs, 0.5).toFixed(0)} ms over ${replayMs.length}`,
        met: replayError === undefined,
      },
    ];
    return {
      scenario: 'long life',
      what: `one OAuth connection through ${cycles} refresh cycles, ${TOKEN_SECONDS} s tokens, refresh margin ${MARGIN_SECONDS} s, no jitter`,
      baseline: 'none',
      figures,
      checks,
      details: {
        cycles,
        tokenSeconds: TOKEN_SECONDS,
        refreshMarginSeconds: MARGIN_SECONDS,
        seconds: span,
        lateRefreshes: late,
        activityRetries: retries,
        runs: runs.map(({ runId, events, refreshes, retries, continuedAsNew }) => ({
          runId,
          events,
          refreshes,
          retries,
          continuedAsNew,
        })),
        runsListedByVisibility: listed,
        replayMs,
        shortestRun: { events: shortest.events, replayMs: shortestMs },
        replayNote: 'each replay makes a replay worker from the prebuilt bundle, then replays one history',
      },
    };
  } finally {
    if (workflowId) {
      await stack.temporal.workflow
        .getHandle(workflowId)
        .terminate('long-life benchmark over')
        .catch(() => undefined);
    }
    await api.stop();
    await worker.stop();
    await oauth.stop();
  }
};
