// Refresh storm: N OAuth connections (1,000; quick 200) whose access tokens all expire in the same second, so
// that with REFRESH_JITTER_SECONDS=0 (the worst case) every refresh comes due at once, against N workflows
// (bench/baseline/workflows.ts timerThenNoop) whose timers fire together and then run one no-op activity,
// alternating A B A B … after one warm-up storm. Each storm's tokens are issued (by the stand-in) to expire
// together at the next storm's time, so one set of connections storms again and again. REFRESH_MARGIN_SECONDS
// is 60: a drain of 1,000 takes some 40 s on two cores, and a refresh must land before its token expires.
//
// The due instants of one storm spread over about a second (the provider's expires_in is whole seconds, so
// each token's expiry rounds differently), and each baseline repetition's timers are spread the same way:
// timer k fires at fireAt + (due_k − first due) of the storm it is paired with. So both sides see the same
// arrivals and differ only in the work each arrival brings.
//
// Drain, measured side: from the earliest refresh due instant of the storm (the connections' next_refresh_at
// in Postgres, as the workflows scheduled it) to the last refreshed token stored (credentials.updated_at, the
// Postgres clock of the write that makes the new token readable). Drain, baseline: from the first timer's
// fireAt to the last workflow close (Temporal's closeTime). Both clocks are this machine's.
// Longer than the house's ~350 lines: one scenario's storms, stand-in and report read best in one place;
// issue 16 (performance) re-aims it.
import { Client } from '@temporalio/client';
import { configureOAuthIntegration, startOAuthStandIn, type TokenRequest } from '../stand-ins.js';
import { connectOAuth, inParallel } from '../fleet.js';
import type { Check, Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { BENCH_NAMESPACE } from '../stack.js';
import { summarize } from '../stats.js';
import type { timerThenNoop } from '../baseline/workflows.js';
import { BASELINE_TASK_QUEUE } from '../baseline/task-queue.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const seconds = (ms: number) => ms / 1000;

interface BaselineRun {
  /** When the first timer fires (epoch ms). */
  fireAt: number;
  /** Seconds from the first fireAt to the last workflow closed. */
  drain: number;
  /** Seconds it took to start all N workflows (before fireAt, or flagged). */
  start: number;
  /** Seconds the whole repetition took, starts included. */
  total: number;
  startedAfterFireAt: boolean;
}

interface StormRun {
  label: string;
  measured: boolean;
  /** The instant the tokens expire less the margin: where the due instants centre (epoch ms). */
  nominalDue: number;
  /** Earliest and latest refresh due instants (epoch ms) the workflows scheduled. */
  firstDue: number;
  lastDue: number;
  /** Seconds from firstDue to the last refreshed token stored. */
  drain: number;
  /** Seconds from firstDue until every connection had its next refresh recorded (polled every 100 ms). */
  scheduledDrain: number;
  stored: number;
  complete: boolean;
  kmsCallsPerRefresh: number;
}

export const refreshStorm: Scenario = async ({ stack, options, log }) => {
  const connections = Number(process.env.BENCH_REFRESH_STORM_CONNECTIONS ?? (options.quick ? 200 : 1_000));
  const marginSeconds = 60;
  const integration = 'bench-storm';
  const oauth = await startOAuthStandIn();
  const serviceEnv = { REFRESH_MARGIN_SECONDS: String(marginSeconds), REFRESH_JITTER_SECONDS: '0' };
  const worker = await stack.startWorker('storm-worker', serviceEnv);
  const api = await stack.startApi('storm-api', serviceEnv);
  const baselineWorker = await stack.startBaseline(
    'storm-baseline',
    'worker.ts',
    {},
    'baseline worker polling',
  );
  // The baseline worker has no payload codec: its workflows are started by a client without one.
  const plain = new Client({ connection: stack.temporal.connection, namespace: BENCH_NAMESPACE });
  const ids: string[] = [];
  try {
    await configureOAuthIntegration(stack, oauth, integration);
    const admin = await stack.token({ role: 'admin' });

    // --- the baseline: N timers due at one instant, then one no-op activity each -------------------------
    let startRate = 100; // workflows started per second, learnt from each baseline run
    const runBaseline = async (label: string, offsets: number[]): Promise<BaselineRun> => {
      const began = Date.now();
      const fireAt = began + Math.ceil((connections / startRate) * 1.5 * 1000) + 1000;
      await inParallel(connections, 50, (i) =>
        plain.workflow.start<typeof timerThenNoop>('timerThenNoop', {
          taskQueue: BASELINE_TASK_QUEUE,
          workflowId: `storm-baseline-${label}-${i}`,
          args: [fireAt + offsets[i]!],
        }),
      );
      const startedAll = Date.now();
      startRate = connections / seconds(startedAll - began);
      const query = `WorkflowType="timerThenNoop" AND StartTime >= "${new Date(began - 1000).toISOString()}"`;
      const deadline = fireAt + 180_000;
      await sleep(fireAt - Date.now());
      while ((await plain.workflow.count(`${query} AND ExecutionStatus="Completed"`)).count < connections) {
        if (Date.now() > deadline) throw new Error(`baseline ${label}: not all workflows completed in time`);
        await sleep(100);
      }
      let lastClose = 0;
      let closed = 0;
      for await (const execution of plain.workflow.list({ query })) {
        closed++;
        lastClose = Math.max(lastClose, execution.closeTime?.getTime() ?? Number.NaN);
      }
      if (closed !== connections || !Number.isFinite(lastClose))
        throw new Error(`baseline ${label}: listed ${closed} workflows, close times ${lastClose}`);
      return {
        fireAt,
        drain: seconds(lastClose - fireAt),
        start: seconds(startedAll - began),
        total: seconds(Date.now() - began),
        startedAfterFireAt: startedAll > fireAt,
      };
    };

    // --- the measured side -----------------------------------------------------------------------------
    /** The coming storm's due instants: the earliest, the latest, and each one's offset from the earliest. */
    const dueInstants = async () => {
      const rows: Array<{ next_refresh_at: Date }> = await stack
        .db('connections')
        .where({ workspace_id: stack.workspaceId, integration, status: 'active' })
        .orderBy('next_refresh_at')
        .select('next_refresh_at');
      if (rows.length !== connections)
        throw new Error(`${rows.length} of ${connections} connections are active`);
      const due = rows.map((row) => new Date(row.next_refresh_at).getTime());
      return { first: due[0]!, last: due.at(-1)!, offsets: due.map((at) => at - due[0]!) };
    };

    const runStorm = async (label: string, measured: boolean, nominalDue: number): Promise<StormRun> => {
      const { first, last } = await dueInstants();
      await sleep(first - Date.now() - 200);
      stack.kms.reset();
      const deadline = last + marginSeconds * 1000 + 30_000;
      let scheduledAt = Number.NaN;
      let progress = { stored: 0, scheduled: 0, lastStored: Number.NaN };
      for (;;) {
        const { rows } = await stack.db.raw(
          `select count(*) filter (where cr.updated_at >= ?)::int as stored,
                  count(*) filter (where c.next_refresh_at > ?)::int as scheduled,
                  max(cr.updated_at) as last_stored
             from connections c
             join credentials cr on cr.connection_id = c.id and cr.purpose = 'oauth_tokens'
            where c.workspace_id = ? and c.integration = ?`,
          [new Date(first - 1000), new Date(last + 1000), stack.workspaceId, integration],
        );
        const row = rows[0];
        progress = {
          stored: row.stored,
          scheduled: row.scheduled,
          lastStored: new Date(row.last_stored).getTime(),
        };
        if (progress.scheduled === connections && Number.isNaN(scheduledAt)) scheduledAt = Date.now();
        if (progress.stored === connections && progress.scheduled === connections) break;
        if (Date.now() > deadline) break;
        await sleep(100);
      }
      return {
        label,
        measured,
        nominalDue,
        firstDue: first,
        lastDue: last,
        drain: seconds(progress.lastStored - first),
        scheduledDrain: seconds(scheduledAt - first),
        stored: progress.stored,
        complete: progress.stored === connections && progress.scheduled === connections,
        kmsCallsPerRefresh: stack.kms.total() / connections,
      };
    };

    // A warm-up baseline run: warms the baseline worker and tells how long a baseline repetition takes.
    const warmup = await runBaseline('warmup', new Array<number>(connections).fill(0));
    log(
      `baseline warm-up: ${connections} workflows started in ${warmup.start.toFixed(1)} s, ` +
        `drained in ${warmup.drain.toFixed(2)} s`,
    );
    // How long the next baseline repetition and the next storm may take: the longest seen so far, and some.
    const baselineTotals = [warmup.total];
    const stormDrains = [warmup.drain * 3];
    const baselineEstimate = () => Math.max(...baselineTotals) * 1200 + 1000;
    const stormEstimate = () => Math.max(...stormDrains) * 1250 + 1000;

    // The first storm (a warm-up of the service's side, not counted) comes once the connections are made. The
    // lifetime applies to every token issued from then on, the first ones too, so while the connections are
    // being made the aim is moved on (at the rate seen so far) whenever the storm would otherwise come before
    // they are all made; connections made before a move refresh once then, and join the next storm.
    const aim = (remaining: number, rate: number) =>
      Date.now() + (remaining / rate) * 1500 + marginSeconds * 1000 + 3000;
    let expiry = aim(connections, 10);
    oauth.setLifetime(integration, { until: expiry });
    const creationBegan = Date.now();
    let made = 0;
    let creating = true;
    let moves = 0;
    const aiming = (async () => {
      while (creating) {
        if (Date.now() >= expiry - marginSeconds * 1000 - 3000) {
          expiry = aim(connections - made, Math.max(1, made) / seconds(Date.now() - creationBegan));
          oauth.setLifetime(integration, { until: expiry });
          moves++;
          log(`${made} connections made so far: the first storm moved on`);
        }
        await sleep(200);
      }
    })();
    try {
      ids.push(
        ...(await inParallel(connections, 20, async () => {
          const id = await connectOAuth(api.url!, admin, integration);
          made++;
          return id;
        })),
      );
    } finally {
      creating = false;
      await aiming;
    }
    const creationSeconds = seconds(Date.now() - creationBegan);
    log(`${connections} connections active in ${creationSeconds.toFixed(1)} s`);

    const baselines: BaselineRun[] = [];
    const storms: StormRun[] = [];
    const measuredCount = () => storms.filter((s) => s.measured).length;
    for (let round = 0; measuredCount() < options.repetitions; round++) {
      // A: the baseline, when it fits before the storm; a storm without its baseline before it is not counted.
      const { first, offsets } = await dueInstants();
      let paired = false;
      if (round === 0) {
        log('storm 0: warm-up, not counted');
      } else if (first - Date.now() > baselineEstimate()) {
        const run = await runBaseline(String(round), offsets);
        baselines.push(run);
        baselineTotals.push(run.total);
        paired = true;
      } else {
        log(`storm ${round}: no room for the baseline before it; this storm is not counted`);
        baselineTotals.push(Math.max(...baselineTotals) * 1.5);
      }
      // The tokens this storm issues expire together at the next storm's time (or in a day, after the last).
      const last = paired && measuredCount() + 1 === options.repetitions;
      const nextExpiry = last
        ? Date.now() + 86_400_000
        : expiry + 1000 + stormEstimate() + baselineEstimate() + 2000;
      oauth.setLifetime(integration, { until: nextExpiry });
      // B: the storm.
      const storm = await runStorm(String(round), paired, expiry - marginSeconds * 1000);
      storms.push(storm);
      expiry = nextExpiry;
      if (round === 0) stormDrains.length = 0;
      stormDrains.push(storm.scheduledDrain);
      const b = paired ? baselines.at(-1)! : undefined;
      log(
        `#${round}: ${b ? `baseline drain ${b.drain.toFixed(2)} s · ` : ''}storm drain ${storm.drain.toFixed(2)} s ` +
          `(due spread ${seconds(storm.lastDue - storm.firstDue).toFixed(2)} s, schedules recorded ` +
          `${storm.scheduledDrain.toFixed(2)} s, ${storm.stored}/${connections} stored)`,
      );
      if (!storm.complete) throw new Error(`storm ${round} did not drain: ${storm.stored} of ${connections}`);
    }

    // Token requests per storm window, from one storm's first due instant to the next one's.
    const refreshes = oauth.requests.filter(
      (r): r is TokenRequest & { replacedExpiresAt: number } =>
        r.grant === 'refresh_token' && r.clientId === integration,
    );
    const windows = storms.map((storm, i) => {
      const from = storm.firstDue - 1000;
      const to = storms[i + 1] ? storms[i + 1]!.firstDue - 1000 : Number.POSITIVE_INFINITY;
      const inWindow = refreshes.filter((r) => r.at >= from && r.at < to);
      const lastAt = Math.max(...inWindow.map((r) => r.at));
      return {
        storm,
        requests: inWindow.length,
        sessions: new Set(inWindow.map((r) => r.session)).size,
        late: inWindow.filter((r) => r.at >= r.replacedExpiresAt).length,
        // Requests per second at the provider, from the first due instant to the last request.
        perSecond: inWindow.length / seconds(lastAt - storm.firstDue),
        minLeft: Math.min(...inWindow.map((r) => seconds(r.replacedExpiresAt - r.at))),
      };
    });
    // Refreshes while the connections were being made (after a move of the first storm) are not a storm's.
    const beforeStorms = refreshes.filter((r) => r.at < storms[0]!.firstDue - 1000).length;
    const outside = refreshes.length - beforeStorms - windows.reduce((sum, w) => sum + w.requests, 0);
    const counted = windows.filter((w) => w.storm.measured);
    const late = refreshes.filter((r) => r.at >= r.replacedExpiresAt).length;
    const stillActive = Number(
      (
        await stack
          .db('connections')
          .where({ workspace_id: stack.workspaceId, integration, status: 'active' })
          .count({ n: '*' })
          .first()
      )?.n ?? 0,
    );

    const drain = figure(
      'drain time',
      's',
      summarize(counted.map((w) => w.storm.drain)),
      summarize(baselines.map((b) => b.drain)),
    );
    const figures = [
      drain,
      figure(
        'completed per second during the drain',
        '/s',
        summarize(counted.map((w) => connections / w.storm.drain)),
        summarize(baselines.map((b) => connections / b.drain)),
      ),
      figure('refresh requests/s at the provider', '/s', summarize(counted.map((w) => w.perSecond))),
      figure('least time left on a replaced token', 's', summarize(counted.map((w) => w.minLeft))),
    ];
    const exact = counted.every((w) => w.requests === connections && w.sessions === connections);
    const checks: Check[] = [
      {
        target: 'every token refreshed before it expires',
        value: `${late} late of ${refreshes.length} refreshes (${storms.length} storms)`,
        met: late === 0 && stillActive === connections,
      },
      {
        target: `exactly ${connections} token requests per storm`,
        value:
          counted.map((w) => w.requests).join(', ') +
          (outside ? `; ${outside} outside any storm` : '') +
          (counted.some((w) => w.sessions !== w.requests) ? '; some connection refreshed twice' : ''),
        met: exact && outside === 0,
      },
      {
        target: 'drain time ≤ 1.5 × baseline',
        value: `${drain.ratio!.toFixed(2)} ×`,
        met: drain.ratio! <= 1.5,
      },
    ];
    return {
      scenario: 'refresh storm',
      what: `${connections} OAuth connections whose tokens expire in the same second (margin ${marginSeconds} s, no jitter); drain from first due to last token stored`,
      baseline: `${connections} workflows whose timers fire as the storm's refreshes come due (within a second), then one no-op activity; drain from first fireAt to last close`,
      figures,
      checks,
      details: {
        connections,
        refreshMarginSeconds: marginSeconds,
        refreshJitterSeconds: 0,
        creationSeconds,
        firstStormMoves: moves,
        refreshesWhileConnecting: beforeStorms,
        connectionsStillActive: stillActive,
        drainMeasuredFrom: 'earliest next_refresh_at of the storm (Postgres) to max credentials.updated_at',
        baselineDrainMeasuredFrom:
          "first fireAt to max Temporal closeTime; timers spread as the paired storm's due instants",
        baselineWarmup: warmup,
        baselines,
        storms: windows.map((w) => ({
          ...w.storm,
          dueSpread: seconds(w.storm.lastDue - w.storm.firstDue),
          drainFromNominalDue: seconds(w.storm.firstDue + w.storm.drain * 1000 - w.storm.nominalDue),
          requests: w.requests,
          sessions: w.sessions,
          late: w.late,
          requestsPerSecond: w.perSecond,
          leastSecondsLeft: w.minLeft,
        })),
        refreshRequestsOutsideStorms: outside,
      },
    };
  } finally {
    // Left alone, the connections would refresh again once a later scenario's worker polls `connections`.
    await inParallel(ids.length, 20, (i) =>
      stack.temporal.workflow
        .getHandle(`connection-${ids[i]}`)
        .terminate('refresh-storm benchmark over')
        .catch(() => undefined),
    );
    await baselineWorker.stop();
    await api.stop();
    await worker.stop();
    await oauth.stop();
  }
};
