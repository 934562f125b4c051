// The baselines' task queue, defined once for their worker (bench/baseline/worker.ts) and the scenarios that
// start baseline workflows. Never the service's queue: a baseline must not be run by the service's worker.
export const BASELINE_TASK_QUEUE = 'bench-baseline';

/** The baselines' workflows bundled by the bench's build (bench/stack.ts), beside the compiled worker. */
export const BASELINE_WORKFLOW_BUNDLE = 'workflow-bundle.js';
