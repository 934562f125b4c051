// Connect: API-key connections created through the API (each key verified against a loopback stand-in)
// until every one is active, against workflows with one no-op activity started and completed on the same
// server by the same number of concurrent clients. One create in five is retried with its Idempotency-Key
// (half while the first is in flight, half after it answered); the run then counts connections, credentials
// and workflows, which must match the number of distinct creates exactly.
import { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connectApiKey, inParallel } from '../fleet.js';
import { configureKeyIntegration, startKeyApiStandIn } from '../stand-ins.js';
import type { Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { alternate, summarize } from '../stats.js';
import { BASELINE_TASK_QUEUE } from '../baseline/task-queue.js';

const CONCURRENCY = 20;

export const connect: Scenario = async ({ stack, options, log }) => {
  const count = options.quick ? 100 : 500;
  const keys = await startKeyApiStandIn();
  const worker = await stack.startWorker('connect-worker');
  const api = await stack.startApi('connect-api');
  const baselineWorker = await stack.startBaseline(
    'connect-baseline-worker',
    'worker.ts',
    {},
    'baseline worker polling',
  );
  const plain = new Client({
    connection: stack.temporal.connection,
    namespace: stack.temporal.options.namespace,
  });
  try {
    await configureKeyIntegration(stack, keys, 'bench-connect');
    const admin = await stack.token({ role: 'admin' });
    const problems: string[] = [];
    let retried = 0;

    const runWorkflows = async () => {
      const started = performance.now();
      await inParallel(count, CONCURRENCY, (i) =>
        plain.workflow.execute('noopWorkflow', {
          taskQueue: BASELINE_TASK_QUEUE,
          workflowId: `noop-${randomUUID()}-${i}`,
        }),
      );
      return count / ((performance.now() - started) / 1000);
    };

    const runConnects = async (repetition: number) => {
      const before = await stack.db('connections').where({ integration: 'bench-connect' }).count({ n: '*' });
      const started = performance.now();
      const ids = await inParallel(count, CONCURRENCY, async (i) => {
        const headers = { 'idempotency-key': `bench-${repetition}-${i}` };
        const create = () =>
          connectApiKey(api.url!, admin, 'bench-connect', `bench-key-${repetition}-${i}`, headers);
        let answers;
        if (i % 10 === 0) {
          // A client that gave up waiting and sent the same create again while the first was in flight.
          answers = await Promise.all([create(), create()]);
          retried++;
        } else if (i % 10 === 5) {
          // A client that lost the first answer and sent the create again.
          answers = [await create(), await create()];
          retried++;
        } else {
          answers = [await create()];
        }
        for (const answer of answers) {
          if (answer.status !== 201) problems.push(`create ${i} answered ${answer.status}`);
        }
        if (new Set(answers.map((answer) => answer.id)).size !== 1)
          problems.push(`create ${i} made ${new Set(answers.map((a) => a.id)).size} connections`);
        return answers[0]!.id!;
      });
      const rate = count / ((performance.now() - started) / 1000);
      const after = await stack.db('connections').where({ integration: 'bench-connect' }).count({ n: '*' });
      const made = Number(after[0]!.n) - Number(before[0]!.n);
      const active = await stack
        .db('connections')
        .whereIn('id', ids)
        .andWhere({ status: 'active' })
        .count({ n: '*' });
      const credentials = await stack.db('credentials').whereIn('connection_id', ids).count({ n: '*' });
      if (made !== count) problems.push(`repetition ${repetition}: ${made} connections for ${count} creates`);
      if (Number(active[0]!.n) !== count) problems.push(`repetition ${repetition}: ${active[0]!.n} active`);
      if (Number(credentials[0]!.n) !== count)
        problems.push(`repetition ${repetition}: ${credentials[0]!.n} credentials for ${count} connections`);
      return { rate, ids };
    };

    const runs = await alternate(options.repetitions, runWorkflows, runConnects, (i, a, b) =>
      log(`#${i + 1}: baseline ${a.toFixed(1)} workflows/s · connections ${b.rate.toFixed(1)}/s`),
    );

    // Workflows: one per connection, whatever the retries. Visibility may trail the last start briefly.
    const allIds = runs.measured.flatMap((run) => run.ids);
    let workflows = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      workflows = (
        await stack.temporal.workflow.count(
          `WorkflowType = "connectionLifecycle" AND ConnectionIntegration = "bench-connect"`,
        )
      ).count;
      if (workflows >= allIds.length) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (workflows !== allIds.length)
      problems.push(`${workflows} connection workflows for ${allIds.length} connections`);
    // The stand-in saw each key once: a retried create did not verify (or store) it again.
    const verifications = keys.verifications;
    if (verifications !== allIds.length)
      problems.push(`${verifications} key verifications for ${allIds.length} connections`);

    const rate = figure(
      'connections active per second',
      '/s',
      summarize(runs.measured.map((run) => run.rate)),
      summarize(runs.baseline),
    );
    return {
      scenario: 'connect',
      what: `${count} API-key connections created through the API, ${CONCURRENCY} at a time, until active`,
      baseline: `${count} workflows with one no-op activity, ${CONCURRENCY} at a time`,
      figures: [rate],
      checks: [
        { target: 'rate ≥ 0.5 × baseline', value: `${rate.ratio!.toFixed(2)} ×`, met: rate.ratio! >= 0.5 },
        {
          target: 'no duplicate workflow or credential when a create is retried',
          value: problems.length
            ? problems.slice(0, 3).join('; ')
            : `${retried} creates retried: ${allIds.length} connections, ${allIds.length} credentials, ${workflows} workflows`,
          met: problems.length === 0,
        },
      ],
      details: { count, concurrency: CONCURRENCY, retried, verifications, problems },
    };
  } finally {
    await api.stop();
    await worker.stop();
    await baselineWorker.stop();
    await keys.stop();
  }
};
