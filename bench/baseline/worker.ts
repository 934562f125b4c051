// The baselines' worker: the service's worker factory and settings, with bench/baseline/workflows.ts and one
// no-op activity, on task queue `bench-baseline`. No payload codec: the baseline is Temporal alone.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorker } from '../../worker/create-worker.js';
import { BASELINE_TASK_QUEUE, BASELINE_WORKFLOW_BUNDLE } from './task-queue.js';

const here = fileURLToPath(import.meta.url);
const bundle = path.join(path.dirname(here), BASELINE_WORKFLOW_BUNDLE);
const cache = process.env.WORKER_MAX_CACHED_WORKFLOWS;
const { worker, connection } = await createWorker({
  address: process.env.TEMPORAL_ADDRESS!,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  taskQueue: BASELINE_TASK_QUEUE,
  // Compiled (as the bench runs it), the bundle the bench built beside it, as the service's worker loads its
  // own; from source, bundled at start.
  ...(existsSync(bundle)
    ? { workflowBundlePath: bundle }
    : { workflowsPath: path.join(path.dirname(here), 'workflows.ts') }),
  activities: { noop: async () => undefined },
  maxCachedWorkflows: cache ? Number(cache) : undefined,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
const running = worker.run();
console.log('baseline worker polling');
await running;
await connection.close();
