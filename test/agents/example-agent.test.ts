// The example agent task over the real stack: a shared agent runs for two members of a workspace whose
// integration uses personal connections. For the member who has one it proceeds at once; for the other it
// records the request with a connect link (a fresh one in its reminder) that never enters the task's
// history, waits, and resumes on its own when the member completes the OAuth flow. A task waiting on a
// connection whose setup fails, or that is disconnected, ends with the reason.
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createExampleAgentActivities, type AgentTaskEvent } from '../../agents/example-agent-activities.js';
import { connectSessionStore } from '../../connect/connect-session-store.js';
import type { ExampleAgentInput, ExampleAgentResult } from '../../agents/example-agent-workflow.js';
import { projectRoot } from '../../platform/process.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { createWorker } from '../../worker/create-worker.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { testEnv } from '../support/env.js';
import { secretsInHistories } from '../support/secret-scan.js';
import {
  connectThroughProvider,
  eventually,
  callbackParams,
  waiterRegistrations,
} from '../support/lifecycle.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

describe('example agent task', () => {
  let harness: ApiHarness;
  let standIn: StandInApi;
  let agentWorker: { worker: Worker; connection: NativeConnection; running: Promise<void> };
  const agentQueue = `agent-tasks-${randomUUID()}`;
  const events: AgentTaskEvent[] = [];
  const agentTokens = new Set<string>();

  beforeAll(async () => {
    harness = await startApiHarness();
    standIn = await startStandInApi();
    // The stand-in accepts exactly the access tokens the service has sealed (the provider's real tokens).
    standIn.validKeys.has = (key: string) => harness.vault.secrets.has(key);
    const integration = (await integrationStore.get(harness.db, harness.workspaceId, harness.integration))!;
    await integrationStore.configure(harness.db, harness.vault, {
      workspaceId: harness.workspaceId,
      key: harness.integration,
      provider: { ...integration.provider, apiBaseUrl: standIn.baseUrl },
      clientId: integration.clientId,
      scopes: integration.scopes,
    });
    await harness
      .db('integrations')
      .where({ workspace_id: harness.workspaceId, key: harness.integration })
      .update({ agent_connection_scope: 'user' });

    const { worker, connection } = await createWorker({
      address: testEnv.temporalAddress,
      namespace: 'default',
      taskQueue: agentQueue,
      workflowsPath: path.join(projectRoot, 'test/fixtures/example-agent-workflows.ts'),
      activities: createExampleAgentActivities({
        apiUrl: harness.url,
        async agentToken(userId) {
          const token = await harness.token({ role: 'agent', sub: 'shared-agent', on_behalf_of: userId });
          agentTokens.add(token);
          return token;
        },
        record: (event) => {
          // The link is a bearer secret: neither the logs nor any history may hold it (checked at stop).
          if (event.connectUrl) {
            harness.addSecret(event.connectUrl);
            harness.vault.secrets.add(event.connectUrl.slice(event.connectUrl.lastIndexOf('/') + 1));
          }
          events.push(event);
        },
        logger: harness.logger,
      }),
      dataConverter: workerDataConverter(new AesGcmPayloadCodec({ id: 'test', key: harness.codecKey })),
      logger: harness.logger,
    });
    agentWorker = { worker, connection, running: worker.run() };
  });

  afterAll(async () => {
    if (agentWorker) {
      agentWorker.worker.shutdown();
      await agentWorker.running.catch(() => undefined);
      await agentWorker.connection.close();
    }
    await standIn?.stop();
    await harness?.stop();
  });

  const timing = { resolveEveryMs: 500, reminderAfterMs: 1_500, giveUpAfterMs: 60_000 };

  function startTask(userId: string, overrides: Partial<ExampleAgentInput> = {}) {
    const input: ExampleAgentInput = {
      integration: harness.integration,
      userId,
      agentId: 'shared-agent',
      request: { method: 'GET', path: 'v1/me' },
      timing,
      ...overrides,
    };
    return harness.client.workflow.start('exampleAgentTask', {
      taskQueue: agentQueue,
      workflowId: `example-agent-${userId}-${randomUUID()}`,
      args: [input],
    });
  }

  const result = (handle: { result(): Promise<unknown> }) => handle.result() as Promise<ExampleAgentResult>;

  async function memberConnects(userId: string, options: { deny?: boolean } = {}) {
    const token = await harness.token({ role: 'member', sub: userId });
    const created = await harness.call('POST', '/v1/connections', {
      token,
      body: { integration: harness.integration, scope: 'user' },
    });
    expect(created.status).toBe(201);
    const callback = await authorizeInBrowser(created.body.authorizationUrl, { login: userId, ...options });
    await harness.commands.completeCallback(callbackParams(callback));
    return created.body.connection.id as string;
  }

  const requestsFor = (userId: string) => events.filter((event) => event.userId === userId);

  it('runs for two members: at once for the one connected; the other is asked, connects, and the task resumes', async () => {
    const { connectionId: aliceConnection } = await connectThroughProvider(
      harness,
      (url) => authorizeInBrowser(url, { login: 'alice' }),
      { scope: 'user', ownerUserId: 'alice' },
    );
    const before = standIn.requests.length;

    const alice = await startTask('alice');
    const bob = await startTask('bob');

    const aliceResult = await result(alice);
    expect(aliceResult).toMatchObject({ ended: 'called', connectionId: aliceConnection });
    expect(requestsFor('alice')).toEqual([]);

    // Bob's task has asked for his connection and is waiting; after a while it records one reminder.
    const asked = await eventually(
      async () => requestsFor('bob'),
      (list) => list.some((event) => event.kind === 'reminder'),
    );
    expect(asked.map((event) => event.kind)).toEqual(['connection_requested', 'reminder']);
    expect(asked[0]).toMatchObject({
      integration: harness.integration,
      scope: 'user',
      userId: 'bob',
      taskId: bob.workflowId,
      create: {
        method: 'POST',
        path: '/v1/connections',
        body: { integration: harness.integration, scope: 'user' },
      },
    });
    expect((await bob.describe()).status.name).toBe('RUNNING');

    // Each event carries a connect link for Bob, naming the agent and the task; the reminder a fresh one.
    const links = asked.map((event) => event.connectUrl);
    expect(links[0]).toMatch(/\/connect\/[A-Za-z0-9_-]{43}$/);
    expect(links[1]).toMatch(/\/connect\/[A-Za-z0-9_-]{43}$/);
    expect(links[1]).not.toBe(links[0]);
    for (const event of asked) expect(Date.parse(event.connectUrlExpiresAt!)).toBeGreaterThan(Date.now());
    const tokens = links.map((url) => url!.slice(url!.lastIndexOf('/') + 1));
    for (const token of tokens) {
      expect(await connectSessionStore.findByToken(harness.db, token)).toMatchObject({
        workspaceId: harness.workspaceId,
        scope: 'user',
        userId: 'bob',
        integrations: [harness.integration],
        reason: { agentId: 'shared-agent', taskId: bob.workflowId },
      });
    }
    // Bob's history holds neither link nor its token; the positive control (the task's own request for
    // POST /v1/connections, in a payload the scan decodes) shows the scan would find what is there.
    const codec = new AesGcmPayloadCodec({ id: 'test', key: harness.codecKey });
    const scan = await secretsInHistories(harness.client, codec, `WorkflowId="${bob.workflowId}"`, [
      ...links.map((url) => url!),
      ...tokens,
      '/v1/connections',
    ]);
    expect(scan).toEqual({ workflows: 1, found: [4] });

    const bobConnection = await memberConnects('bob');
    const bobResult = await result(bob);
    expect(bobResult).toMatchObject({ ended: 'called', connectionId: bobConnection });

    // Both calls went through the proxy to the stand-in API with the provider's credential, never the agent's.
    const calls = standIn.requests.slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      expect(call.path).toBe('/v1/me');
      expect(call.authorization).toMatch(/^bearer /i);
      expect(agentTokens.has(call.authorization!.replace(/^bearer /i, ''))).toBe(false);
    }
    expect(aliceResult).toMatchObject({ response: { status: 200, body: { id: 'account-1' } } });
    expect(bobResult).toMatchObject({ response: { status: 200, body: { id: 'account-1' } } });
  });

  it('ends with the reason when the connection made for it fails to be set up', async () => {
    const task = await startTask('carol');
    await eventually(
      async () => requestsFor('carol'),
      (list) => list.length > 0,
    );
    // Denied at once: the task may never see it pending, and still ends with the failed setup's reason.
    const connectionId = await memberConnects('carol', { deny: true });
    await expect(result(task)).resolves.toEqual({
      ended: 'unavailable',
      connectionId,
      status: 'failed',
      reason: 'access_denied',
    });
  });

  it('ends with the reason when the pending connection it waits on is denied', async () => {
    const task = await startTask('frank');
    await eventually(
      async () => requestsFor('frank'),
      (list) => list.length > 0,
    );
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'user',
      ownerUserId: 'frank',
      actor: 'frank',
    });
    // The platform tells the task a connection was started: it resolves it at once and waits for ready.
    await task.signal('connectionCreated');
    // Denied only once the task waits on it (its registration has reached the connection's workflow).
    expect(
      await eventually(
        () => waiterRegistrations(harness.client, created.connectionId),
        (count) => count > 0,
      ),
    ).toBe(1);
    const callback = await authorizeInBrowser(created.authorizationUrl, { login: 'frank', deny: true });
    await harness.commands.completeCallback(callbackParams(callback));
    await expect(result(task)).resolves.toEqual({
      ended: 'unavailable',
      connectionId: created.connectionId,
      status: 'failed',
      reason: 'access_denied',
    });
  });

  it('ends with the reason when the connection it waits on is disconnected', async () => {
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'user',
      ownerUserId: 'dave',
      actor: 'dave',
    });
    const task = await startTask('dave');
    // Disconnected only once the task waits on it (its registration has reached the connection's workflow).
    expect(
      await eventually(
        () => waiterRegistrations(harness.client, created.connectionId),
        (count) => count > 0,
      ),
    ).toBe(1);
    await harness.commands.disconnect(created.connectionId, 'admin-1', 'removed_by_admin');
    await expect(result(task)).resolves.toEqual({
      ended: 'unavailable',
      connectionId: created.connectionId,
      status: 'disconnected',
      reason: 'removed_by_admin',
    });
  });

  it('gives up with timed_out when nobody connects before its deadline', async () => {
    const task = await startTask('erin', { timing: { ...timing, giveUpAfterMs: 1_500 } });
    await expect(result(task)).resolves.toEqual({ ended: 'timed_out', waitingFor: 'connection' });
  });
});
