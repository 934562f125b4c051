// The real Temporal dev server with a real worker built by the service's own factory: a workflow started
// from the test runs to completion, and operators can find it by the connection search attributes.
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { projectRoot } from '../../platform/process.js';
import { createWorker } from '../../worker/create-worker.js';
import { ConnectionIntegration, ConnectionScope, WorkspaceId } from '../../workflows/search-attributes.js';
import { testEnv } from '../support/env.js';

describe('walking skeleton on the real Temporal server', () => {
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    connection = await Connection.connect({ address: testEnv.temporalAddress });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await connection.close();
  });

  it('runs a workflow to completion and lists it by search attributes', async () => {
    const taskQueue = `walking-skeleton-${randomUUID()}`;
    const workspace = `ws-${randomUUID()}`;
    const { worker, connection: workerConnection } = await createWorker({
      address: testEnv.temporalAddress,
      namespace: 'default',
      taskQueue,
      workflowsPath: path.join(projectRoot, 'test/fixtures/walking-skeleton-workflows.ts'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    try {
      const result = await worker.runUntil(
        client.workflow.execute('walkingSkeleton', {
          taskQueue,
          workflowId: `walking-skeleton-${randomUUID()}`,
          args: ['operator'],
          typedSearchAttributes: [
            { key: WorkspaceId, value: workspace },
            { key: ConnectionIntegration, value: 'github' },
            { key: ConnectionScope, value: 'workspace' },
          ],
        }),
      );
      expect(result).toBe('hello, operator');
    } finally {
      await workerConnection.close();
    }

    // Visibility is eventually consistent: wait (bounded) for the operators' query to see it.
    const query = `WorkspaceId="${workspace}" AND ConnectionStatus="active" AND ConnectionIntegration="github"`;
    let found: string[] = [];
    for (let attempt = 0; attempt < 40 && found.length === 0; attempt++) {
      found = [];
      for await (const execution of client.workflow.list({ query })) found.push(execution.status.name);
      if (found.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(found).toEqual(['COMPLETED']);
  });
});
