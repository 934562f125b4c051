// Disconnect (revocation at the provider, no ciphertext left, idempotent) and readiness for waiting
// workflows (connectionReady, connectionUnavailable), against the real server and authorization server.
import path from 'node:path';
import { projectRoot } from '../../platform/process.js';
import { registerWaiter } from '../../workflows/messages.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  connectThroughProvider,
  startLifecycleHarness,
  type LifecycleHarness,
  callbackParams,
} from '../support/lifecycle.js';

describe('disconnect', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
  });
  afterAll(async () => harness?.stop());

  it('revokes at the provider, leaves no ciphertext, and a second disconnect changes nothing', async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    const revocationsBefore = harness.oidc.revocations().length;
    const done = await harness.commands.disconnect(connectionId, 'admin-1');
    expect(done).toMatchObject({ status: 'disconnected', reason: 'disconnected' });
    expect(harness.oidc.revocations().length - revocationsBefore).toBe(1);
    expect(await harness.db('credentials').where({ connection_id: connectionId })).toEqual([]);
    expect(await harness.db('oauth_states').where({ connection_id: connectionId })).toEqual([]);
    const row = await harness.db('connections').where({ id: connectionId }).first();
    expect(row.status).toBe('disconnected');
    expect(row.disconnected_at).not.toBeNull();

    const handle = harness.client.workflow.getHandle(`connection-${connectionId}`);
    expect((await handle.describe()).status.name).toBe('COMPLETED');

    const eventsBefore = await harness.db('connection_events').where({ connection_id: connectionId });
    const again = await harness.commands.disconnect(connectionId, 'admin-1');
    expect(again.status).toBe('disconnected');
    expect(await harness.db('connection_events').where({ connection_id: connectionId })).toEqual(
      eventsBefore,
    );
    expect(harness.oidc.revocations().length - revocationsBefore).toBe(1);
  });

  it('destroys the credentials at once and retries a revocation the provider answers with 503 (injected)', async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    const before = harness.oidc.revocations().length;
    harness.oidc.injectFault({ endpoint: 'revocation', status: 503, times: 1 });
    const done = await harness.commands.disconnect(connectionId, 'admin-1');
    expect(done.status).toBe('disconnected');
    expect(harness.oidc.revocations().length - before).toBe(2);
    expect(await harness.db('credentials').where({ connection_id: connectionId })).toEqual([]);
  });
});

describe('waiting workflows', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness({
      workflowsPath: path.join(projectRoot, 'test/fixtures/waiting-workflows.ts'),
    });
  });
  afterAll(async () => harness?.stop());

  async function startWaiter(connectionId: string) {
    return harness.client.workflow.start('waitForConnection', {
      taskQueue: harness.taskQueue,
      workflowId: `agent-task-${connectionId}`,
      args: [connectionId],
    });
  }

  it('resumes a waiting workflow with connectionReady when setup completes', async () => {
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const waiter = await startWaiter(created.connectionId);
    const callback = await authorizeInBrowser(created.authorizationUrl);
    await harness.commands.completeCallback(callbackParams(callback));
    await expect(waiter.result()).resolves.toEqual({ ready: true });
    // A waiter that registers once the connection is active is answered at once.
    const late = await harness.client.workflow.start('waitForConnection', {
      taskQueue: harness.taskQueue,
      workflowId: `late-agent-task-${created.connectionId}`,
      args: [created.connectionId],
    });
    await expect(late.result()).resolves.toEqual({ ready: true });
  });

  it('tells a waiting workflow the connection is unavailable when setup fails', async () => {
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const waiter = await startWaiter(created.connectionId);
    const callback = await authorizeInBrowser(created.authorizationUrl, { deny: true });
    await harness.commands.completeCallback(callbackParams(callback));
    await expect(waiter.result()).resolves.toEqual({
      ready: false,
      status: 'failed',
      reason: 'access_denied',
    });
  });

  it('ends a waiting workflow with the reason when the connection is disconnected', async () => {
    const commands = harness.commands;
    const created = await commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const waiter = await startWaiter(created.connectionId);
    await commands.disconnect(created.connectionId, 'admin-1', 'removed_by_admin');
    await expect(waiter.result()).resolves.toEqual({
      ready: false,
      status: 'disconnected',
      reason: 'removed_by_admin',
    });
  });

  it('registers each waiting workflow once, up to the limit, and tells the next one to come back later', async () => {
    const register = async (connectionId: string, workflowIds: string[]) => {
      const handle = harness.client.workflow.getHandle(`connection-${connectionId}`);
      for (let i = 0; i < workflowIds.length; i += 50) {
        await Promise.all(
          workflowIds.slice(i, i + 50).map((workflowId) => handle.signal(registerWaiter, { workflowId })),
        );
      }
    };
    // A limit of 20 waiters (1,000 by default), so that the test sends a few dozen signals, not thousands.
    const commands = await harness.commandsWith({ maxWaiters: 20 });
    const pending = () =>
      commands.createOAuth({
        workspaceId: harness.workspaceId,
        integration: harness.integration,
        scope: 'workspace',
        actor: 'admin-1',
      });
    const others = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => `${prefix}-absent-waiter-${i}`);

    // 30 registrations of one workflow count once: with 18 others, the agent task is the twentieth.
    const first = await pending();
    await register(first.connectionId, [...Array(30).fill('one-waiter-twice'), ...others('a', 18)]);
    const accepted = await startWaiter(first.connectionId);
    const callback = await authorizeInBrowser(first.authorizationUrl);
    await commands.completeCallback(callbackParams(callback));
    await expect(accepted.result()).resolves.toEqual({ ready: true });

    // Twenty waiting already: the next one is told at once, and may come back later.
    const second = await pending();
    await register(second.connectionId, others('b', 20));
    const refused = await startWaiter(second.connectionId);
    await expect(refused.result()).resolves.toEqual({
      ready: false,
      status: 'pending',
      reason: 'too_many_waiters',
    });
  });
});
