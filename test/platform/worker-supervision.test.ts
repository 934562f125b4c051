// The worker under its supervisor, as platform/service.ts runs it: a worker whose run() ends unexpectedly is
// replaced by a new one that serves the task queue again; when new ones cannot be made (its Temporal server
// is gone for good) the supervisor gives up, once, with the reason, instead of leaving a process that looks
// alive and serves nothing. The Temporal server is a dev server of this test's own, so that it can be killed.
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../logging/logger.js';
import { freePort, projectRoot } from '../../platform/process.js';
import { supervise, type SupervisedPart } from '../../platform/supervisor.js';
import { ensureSearchAttributes, startTemporalDevServer, type DevServer } from '../../platform/temporal.js';
import { startWorker, type WorkerOptions } from '../../worker/create-worker.js';

describe('the supervised worker', () => {
  let root: string;
  let server: DevServer;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'worker-supervision-'));
    server = await startTemporalDevServer({
      port: await freePort(),
      namespace: 'default',
      logFile: path.join(root, 'temporal.log'),
    });
    connection = await Connection.connect({ address: server.address });
    await ensureSearchAttributes(connection, 'default');
    client = new Client({ connection });
  });
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('replaces a worker that failed, and gives up with the reason when no new one can be made', async () => {
    const taskQueue = `supervised-${randomUUID()}`;
    const options: WorkerOptions = {
      address: server.address,
      namespace: 'default',
      taskQueue,
      workflowsPath: path.join(projectRoot, 'test/fixtures/walking-skeleton-workflows.ts'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    };
    // Deliberate fault injection: a running worker's run() failing on its own is not something the real
    // server can be made to do on demand, so each worker's end can be forced here.
    const ends: Array<(how: string) => void> = [];
    const startInjectable = async (): Promise<SupervisedPart> => {
      const part = await startWorker(options);
      const injected = new Promise<string>((resolve) => ends.push(resolve));
      return { exited: Promise.race([part.exited, injected]), stop: () => part.stop() };
    };
    let gaveUp: (error: Error) => void = () => {};
    const givenUp = new Promise<Error>((resolve) => (gaveUp = resolve));
    const supervisor = supervise({
      name: 'the worker',
      first: await startInjectable(),
      restart: startInjectable,
      logger: createLogger('silent'),
      onGiveUp: gaveUp,
      policy: { maxAttempts: 3, windowMs: 60_000, initialDelayMs: 100, maxDelayMs: 400 },
    });
    const greet = (name: string) =>
      client.workflow.execute('walkingSkeleton', {
        taskQueue,
        workflowId: `supervised-${randomUUID()}`,
        args: [name],
      });
    try {
      expect(await greet('first')).toBe('hello, first');

      ends[0]!('failed: injected fault');
      // Served only if a new worker polls: the first one was shut down when it ended.
      expect(await greet('second')).toBe('hello, second');
      expect(ends).toHaveLength(2);

      // A real fault: the Temporal server dies, so every new worker's connection is refused.
      server.process.child.kill('SIGKILL');
      await server.exited;
      ends[1]!('failed: injected fault');
      const error = await givenUp;
      expect(error.message).toMatch(
        /^the worker ended \(failed: injected fault\) and could not be kept running: 3 attempts within 60 s spent; the last restart failed: .*(refused|connect)/i,
      );
      expect(ends).toHaveLength(2);
    } finally {
      await supervisor.stop();
    }
  }, 120_000);
});
