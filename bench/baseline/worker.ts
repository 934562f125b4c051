// The baselines' worker: the service's worker factory and settings, with bench/baseline/workflows.ts and one
// no-op activity, on task queue `bench-baseline`. No payload codec: the baseline is Temporal alone.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorker } from '../../worker/create-worker.js';
import { BASELINE_TASK_QUEUE } from './task-queue.js';

const here = fileURLToPath(import.meta.url);
const cache = process.env.WORKER_MAX_CACHED_WORKFLOWS;
const { worker, connection } = await createWorker({
  address: process.env.TEMPORAL_ADDRESS!,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  taskQueue: BASELINE_TASK_QUEUE,
  // workflows.js beside the compiled worker (the bench runs the baselines compiled), workflows.ts from source.
  workflowsPath: path.join(path.dirname(here), `workflows${path.extname(here)}`),
  activities: { noop: async () => undefined },
  maxCachedWorkflows: cache ? Number(cache) : undefined,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
const running = worker.run();
console.log('baseline worker polling');
await running;
await connection.close();
