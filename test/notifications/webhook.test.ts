// Dependents of a removed connection are told by webhook: signed with HMAC-SHA256, delivered by a workflow
// (started by the connection's own workflow as it is removed) that retries a receiver's 503 (injected
// deliberately), once per dependent.
import express from 'express';
import type { Server } from 'node:http';
import { dependentStore } from '../../dependents/dependent-store.js';
import { verifyWebhook } from '../../notifications/webhook.js';
import { startLifecycleHarness, type LifecycleHarness } from '../support/lifecycle.js';

describe('dependent notices by webhook', () => {
  const secret = 'whsec-test-0123456789abcdef';
  const received: Array<{ body: string; signature: string }> = [];
  const faults: number[] = [];
  let receiver: Server;
  let harness: LifecycleHarness;

  beforeAll(async () => {
    const app = express();
    app.post('/hooks', express.text({ type: '*/*' }), (req, res) => {
      received.push({ body: req.body, signature: String(req.headers['x-connections-signature']) });
      res.status(faults.shift() ?? 204).end();
    });
    receiver = await new Promise<Server>((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
    });
    const { port } = receiver.address() as { port: number };
    harness = await startLifecycleHarness({ worker: false });
    await harness.startWorker({ webhook: { url: `http://127.0.0.1:${port}/hooks`, secret } });
  });
  afterAll(async () => {
    await harness?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('delivers one signed notice per dependent, retrying a 503', async () => {
    faults.push(503);
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const ref = { id: created.connectionId, workspaceId: harness.workspaceId };
    for (const [kind, id] of [
      ['agent', 'agent-7'],
      ['automation', 'nightly-sync'],
    ] as const) {
      await dependentStore.put(
        harness.db,
        { workspaceId: ref.workspaceId, connectionId: ref.id },
        { kind, id, actor: 'admin-1' },
      );
    }
    // The connection's workflow records the notices with the removal and starts one notice per dependent.
    await harness.commands.disconnect(ref.id, 'admin-1', 'removed_by_admin');
    for (const dependent of ['agent-agent-7', 'automation-nightly-sync']) {
      const handle = harness.client.workflow.getHandle(`dependent-notice-${ref.id}-${dependent}`);
      await expect(handle.result()).resolves.toEqual({ delivered: true, status: 204 });
    }
    expect(received).toHaveLength(3);
    for (const { body, signature } of received) expect(verifyWebhook(secret, body, signature)).toBe(true);
    expect(verifyWebhook('another-secret-000000', received[0]!.body, received[0]!.signature)).toBe(false);
    const bodies = received.map(({ body }) => JSON.parse(body));
    // Whichever came first got the 503 and was sent again.
    expect(new Set(bodies.map((b) => b.dependent.id))).toEqual(new Set(['agent-7', 'nightly-sync']));
    expect(bodies[0]).toMatchObject({
      type: 'connection.disconnected',
      workspaceId: harness.workspaceId,
      connectionId: ref.id,
      reason: 'removed_by_admin',
    });

    // Removing it again does not send anything twice.
    const again = await harness.commands.remove(ref.id, { actor: 'admin-1', force: true });
    expect(again.notified).toEqual([]);
    expect(received).toHaveLength(3);
  });
});
