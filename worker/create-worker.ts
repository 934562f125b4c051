// Builds the worker that runs connection workflows and activities on task queue `connections`. Workflows are
// bundled from TypeScript source; the `.js` → `.ts` alias lets the bundler follow NodeNext import paths.
import { DefaultLogger, NativeConnection, Runtime, Worker, type BundleOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import path from 'node:path';
import { createLogger, type Logger } from '../logging/logger.js';
import { projectRoot } from '../platform/process.js';

export const TASK_QUEUE = 'connections';
export const defaultWorkflowsPath = path.join(projectRoot, 'workflows/index.ts');

export const bundlerOptions: Pick<BundleOptions, 'webpackConfigHook'> = {
  webpackConfigHook: (config) => ({
    ...config,
    resolve: { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
  }),
};

let runtimeInstalled = false;

/**
 * Sends the Temporal SDK's own logs (warnings and up) to the service's logger. Must run before the first
 * NativeConnection; later calls do nothing.
 */
export function installTemporalRuntime(logger?: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Never the console: the SDK's and its native core's logs carry failures, and only the logger redacts and
  // scrubs them.
  const log = logger ?? createLogger('warn');
  Runtime.install({
    logger: new DefaultLogger('WARN', ({ level, message, meta }) => {
      log[level === 'ERROR' ? 'error' : 'warn']({ temporal: meta }, message);
    }),
    // The native core writes its own logs straight to stderr unless told to forward them to the logger.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}

export interface WorkerOptions {
  address: string;
  namespace: string;
  activities: object;
  workflowsPath?: string;
  taskQueue?: string;
  maxCachedWorkflows?: number;
  /** The encrypting data converter (temporal/data-converter.ts); never run the connections worker without it. */
  dataConverter?: DataConverter;
  logger?: Logger;
}

export async function createWorker(
  options: WorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  installTemporalRuntime(options.logger);
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
      dataConverter: options.dataConverter,
    });
    return { worker, connection };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
