// Temporal's time-skipping test server (the Java one, fetched by scripts/temporal-test-server.sh), for tests
// of the connection workflow's timers: hours and days of workflow time pass in moments, and a test says when.
// The real workflow code runs here, bundled once per file; activities are whatever the test hands in. Never
// a stand-in for the real server in other tests: the time-skipping server is not the one production runs.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../platform/process.js';
import proto from '@temporalio/proto';
import { connectionSearchAttributes } from '../../workflows/search-attributes.js';
import { bundlerOptions, defaultWorkflowsPath, installTemporalRuntime } from '../../worker/create-worker.js';

/** The wrapper script that runs the test server (fetched with Maven once, then reused). */
async function testServerExecutable(): Promise<string> {
  const script = path.join(projectRoot, 'scripts/temporal-test-server.sh');
  const { stdout } = await promisify(execFile)('bash', [script], { maxBuffer: 10 * 1024 * 1024 });
  return stdout.trim();
}

/** A time-skipping environment on a free port, with the service's search attributes registered. */
export async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTemporalRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: await testServerExecutable() } },
  });
  try {
    // The test server has no ListSearchAttributes (platform/temporal.ts's ensureSearchAttributes asks it).
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        connectionSearchAttributes.map((key) => [
          key.name,
          proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
  } catch (error) {
    await env.teardown();
    throw error;
  }
  return env;
}

/** The service's workflows, bundled (webpack) once, for every worker of a test file. */
export function bundleServiceWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: defaultWorkflowsPath,
    ...bundlerOptions,
    logger: new DefaultLogger('WARN'),
  });
}

/** A worker on the environment running the bundled workflows with the given activities, on its own queue. */
export async function startTimeSkippingWorker(
  env: TestWorkflowEnvironment,
  workflowBundle: WorkflowBundleWithSourceMap,
  activities: object,
  taskQueue: string,
): Promise<{ stop(): Promise<void> }> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle,
    activities,
  });
  const running = worker.run();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
