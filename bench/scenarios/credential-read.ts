// Credential read: POST /v1/connections/{id}/token at concurrency 10 and 100 over 100 active connections,
// against an Express route doing one knex primary-key SELECT, alternating. Also counted: KMS requests per
// read (at a counter in front of the KMS-API server) and rows written per connection per minute (Postgres'
// own statistics).
import { performance } from 'node:perf_hooks';
import { configureOAuthIntegration, startOAuthStandIn } from '../stand-ins.js';
import { connectOAuth, inParallel } from '../fleet.js';
import { closedLoop } from '../http.js';
import type { Check, Figure, Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { alternate, summarize, type LatencyFigures } from '../stats.js';
import type { Knex } from 'knex';
import { freePort } from '../../platform/process.js';

async function rowsWritten(db: Knex): Promise<number> {
  await db.raw('select pg_stat_clear_snapshot()');
  const { rows } = await db.raw(
    'select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint as n from pg_stat_user_tables',
  );
  return Number(rows[0].n);
}

/** Transactions Postgres has counted in the bench's database (each query outside a transaction is one). */
async function transactions(db: Knex): Promise<number> {
  await db.raw('select pg_stat_clear_snapshot()');
  const { rows } = await db.raw(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()',
  );
  return Number(rows[0].n);
}

export const credentialRead: Scenario = async ({ stack, options, log }) => {
  const connections = 100;
  const seconds = options.quick ? 3 : 10;
  const warmup = 1;
  const oauth = await startOAuthStandIn();
  const worker = await stack.startWorker('read-worker');
  const api = await stack.startApi('read-api');
  const port = await freePort();
  const baseline = await stack.startBaseline(
    'read-baseline',
    'select-api.ts',
    { PORT: String(port) },
    'baseline api listening',
  );
  baseline.url = `http://127.0.0.1:${port}`;
  try {
    await configureOAuthIntegration(stack, oauth, 'bench-read');
    const admin = await stack.token({ role: 'admin' });
    const ids = await inParallel(connections, 10, () => connectOAuth(api.url!, admin, 'bench-read'));
    log(`${connections} connections active`);
    const agentToken = await stack.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'user-1' });
    const headers = {
      authorization: `Bearer ${agentToken}`,
      'content-type': 'application/json',
    };
    const load = (base: string, concurrency: number) =>
      closedLoop({
        base,
        method: 'POST',
        path: (i) => `/v1/connections/${ids[i % connections]}/token`,
        headers,
        body: '{}',
        concurrency,
        seconds,
        warmupSeconds: warmup,
      });

    const figures: Figure[] = [];
    const checks: Check[] = [];
    const details: Record<string, unknown> = { connections, seconds, warmupSeconds: warmup };
    // Postgres sessions report their row counts when a transaction ends, or up to 10 s later when idle:
    // wait that out so the connections just made are not counted against the reads.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    stack.kms.reset();
    const writesBefore = await rowsWritten(stack.db);
    const transactionsBefore = await transactions(stack.db);
    const started = performance.now();
    let reads = 0;
    /** The baseline's reads, one query each, counted in the same database. */
    let baselineReads = 0;
    for (const concurrency of [10, 100]) {
      const runs = await alternate(
        options.repetitions,
        async () => {
          const run = await load(baseline.url!, concurrency);
          baselineReads += run.sent;
          return run;
        },
        async () => {
          const run = await load(api.url!, concurrency);
          reads += run.sent;
          return run;
        },
        (i, a, b) =>
          log(
            `c=${concurrency} #${i + 1}: baseline ${a.perSecond.toFixed(0)}/s p99 ${a.p99.toFixed(2)} ms · ` +
              `token ${b.perSecond.toFixed(0)}/s p99 ${b.p99.toFixed(2)} ms (${b.errors} errors)`,
          ),
      );
      const pick = (runs: LatencyFigures[], key: keyof LatencyFigures) =>
        summarize(runs.map((run) => run[key]));
      const rps = figure(
        `requests/s at concurrency ${concurrency}`,
        '/s',
        pick(runs.measured, 'perSecond'),
        pick(runs.baseline, 'perSecond'),
      );
      const p50 = figure(
        `p50 at concurrency ${concurrency}`,
        'ms',
        pick(runs.measured, 'p50'),
        pick(runs.baseline, 'p50'),
      );
      const p99 = figure(
        `p99 at concurrency ${concurrency}`,
        'ms',
        pick(runs.measured, 'p99'),
        pick(runs.baseline, 'p99'),
      );
      figures.push(rps, p50, p99);
      const errors = runs.measured.reduce((sum, run) => sum + run.errors, 0);
      checks.push(
        {
          target: `throughput ≥ 0.6 × baseline at concurrency ${concurrency}`,
          value: `${rps.ratio!.toFixed(2)} ×`,
          met: rps.ratio! >= 0.6,
        },
        {
          target: `p99 within 1 ms of baseline at concurrency ${concurrency}`,
          value: `${(p99.measured.median - p99.baseline!.median).toFixed(2)} ms over`,
          met: p99.measured.median - p99.baseline!.median <= 1,
        },
        { target: `no failed reads at concurrency ${concurrency}`, value: String(errors), met: errors === 0 },
      );
    }
    const kmsCalls = stack.kms.total();
    // Stopping the API flushes its buffered grant records and ends its database sessions, which report
    // their statistics as they end.
    await api.stop();
    const minutes = (performance.now() - started) / 60_000;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const writes = (await rowsWritten(stack.db)) - writesBefore;
    // Less the baseline's (one each) and the bench's own statements in between (the readings).
    const queriesPerRead = ((await transactions(stack.db)) - transactionsBefore - baselineReads - 4) / reads;
    const kmsPerRead = kmsCalls / reads;
    const writesPerConnectionMinute = writes / connections / minutes;
    figures.push(
      figure('KMS calls per read', '', summarize([kmsPerRead])),
      figure('rows written per connection per minute', '', summarize([writesPerConnectionMinute])),
      figure('database queries per read', '', summarize([queriesPerRead])),
    );
    checks.push(
      {
        target: 'KMS calls per read ≤ 0.01',
        value: `${kmsPerRead.toFixed(4)} (${kmsCalls} for ${reads} reads)`,
        met: kmsPerRead <= 0.01,
      },
      {
        target: 'rows written ≤ 1 per connection per minute',
        value: `${writesPerConnectionMinute.toFixed(3)} (${writes} rows, ${minutes.toFixed(1)} min)`,
        met: writesPerConnectionMinute <= 1,
      },
    );
    details.reads = reads;
    details.kmsCalls = stack.kms.calls();
    details.rowsWritten = writes;
    details.queriesPerRead = queriesPerRead;
    return {
      scenario: 'credential read',
      what: `POST /v1/connections/{id}/token, ${connections} active OAuth connections, one agent`,
      baseline: 'Express route, one knex primary-key SELECT',
      figures,
      checks,
      details,
    };
  } finally {
    await baseline.stop();
    await api.stop();
    await worker.stop();
    await oauth.stop();
  }
};
