// Builds the worker that runs connection workflows and activities on task queue `connections`. Compiled
// (`npm run build`), it loads the workflow bundle the build made and never runs webpack; from source (tsx,
// jest) it bundles the workflows from TypeScript, the `.js` → `.ts` alias letting webpack follow NodeNext
// import paths.
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type BundleOptions,
  type WorkerOptions as SdkWorkerOptions,
} from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../logging/logger.js';
import type { SupervisedPart } from '../platform/supervisor.js';
import { CONNECTIONS_TASK_QUEUE } from '../workflows/messages.js';

export const defaultWorkflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Where `npm run build` writes the prebuilt workflow bundle, relative to the build's root (dist/). */
export const WORKFLOW_BUNDLE = 'workflows/workflow-bundle.js';
const compiled = import.meta.url.endsWith('.js');

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

/** The service's own workflows: the prebuilt bundle when running compiled, else bundled from source. */
function defaultWorkflows(): Pick<SdkWorkerOptions, 'workflowsPath' | 'workflowBundle' | 'bundlerOptions'> {
  if (!compiled) return { workflowsPath: defaultWorkflowsPath, bundlerOptions };
  const codePath = fileURLToPath(new URL(`../${WORKFLOW_BUNDLE}`, import.meta.url));
  if (!existsSync(codePath)) throw new Error(`the workflow bundle ${codePath} is missing: run npm run build`);
  return { workflowBundle: { codePath } };
}

export interface WorkerOptions {
  address: string;
  namespace: string;
  activities: object;
  workflowsPath?: string;
  /** A prebuilt bundle of other workflows than the service's, in place of `workflowsPath` (the bench's baselines). */
  workflowBundlePath?: string;
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
      taskQueue: options.taskQueue ?? CONNECTIONS_TASK_QUEUE,
      ...(options.workflowBundlePath
        ? { workflowBundle: { codePath: options.workflowBundlePath } }
        : options.workflowsPath
          ? { workflowsPath: options.workflowsPath, bundlerOptions }
          : defaultWorkflows()),
      activities: options.activities,
      maxCachedWorkflows: options.maxCachedWorkflows,
      dataConverter: options.dataConverter,
    });
    return { worker, connection };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/**
 * Creates the worker and runs it: the running worker, as a part for the supervisor (platform/supervisor.ts).
 * It ends when `run()` settles, and stopping it shuts the worker down before closing its connection.
 */
export async function startWorker(options: WorkerOptions): Promise<SupervisedPart> {
  const { worker, connection } = await createWorker(options);
  const running = worker.run();
  return {
    exited: running.then(
      () => 'stopped by itself',
      (error: Error) => `failed: ${error.message}`,
    ),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}
