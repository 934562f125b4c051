// Builds the worker that runs connection workflows and activities on task queue `connections`. Workflows are
// bundled from TypeScript source; the `.js` → `.ts` alias lets the bundler follow NodeNext import paths.
import { NativeConnection, Worker, type BundleOptions } from '@temporalio/worker';
import path from 'node:path';
import { projectRoot } from '../platform/process.js';

export const TASK_QUEUE = 'connections';
export const defaultWorkflowsPath = path.join(projectRoot, 'workflows/index.ts');

export const bundlerOptions: Pick<BundleOptions, 'webpackConfigHook'> = {
  webpackConfigHook: (config) => ({
    ...config,
    resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
  }),
};

export interface WorkerOptions {
  address: string;
  namespace: string;
  activities: object;
  workflowsPath?: string;
  taskQueue?: string;
  maxCachedWorkflows?: number;
}

export async function createWorker(
  options: WorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowsPath: options.workflowsPath ?? defaultWorkflowsPath,
      activities: options.activities,
      bundlerOptions,
      maxCachedWorkflows: options.maxCachedWorkflows,
    });
    return { worker, connection };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
