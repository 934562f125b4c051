// Health events by webhook, on the real stack: a loopback receiver (verifying every signature) is told of a
// connection's creation, deactivation, activation, expiry (with a reconnect link bound to that connection)
// and recovery, once per event and dependent even when it first answers 503 (a fault injected by the
// receiver, deliberately) and the delivery is retried; the link is in no history and no log; a worker
// without a webhook sends nothing and starts no event workflow.
import { WorkflowNotFoundError } from '@temporalio/client';
import { connectSessionStore } from '../../connect/connect-session-store.js';
import { dependentStore } from '../../dependents/dependent-store.js';
import { verifyWebhook } from '../../notifications/webhook.js';
import { healthEventOf, healthEventWorkflowId } from '../../workflows/dependent-notification.js';
import { withDeadline } from '../support/deadline.js';
import { noticeLinks, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  callbackParams,
  connectThroughProvider,
  startLifecycleHarness,
  type LifecycleHarness,
} from '../support/lifecycle.js';

const PUBLIC_URL = 'http://127.0.0.1:9';

describe('health events by webhook', () => {
  const secret = 'whsec-health-0123456789abcdef';
  let receiver: WebhookReceiver;
  let harness: LifecycleHarness;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    harness = await startLifecycleHarness({ worker: false });
    await harness.startWorker({
      webhook: { url: receiver.url, secret, links: noticeLinks(harness.db, PUBLIC_URL) },
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await receiver?.close();
  });
  const bodies = (connectionId: string, accepted = true) =>
    receiver.deliveries
      .filter((d) => !accepted || d.status === 204)
      .map((d) => JSON.parse(d.body))
      .filter((body) => body.connectionId === connectionId);

  const addDependents = async (connectionId: string) => {
    const ref = { workspaceId: harness.workspaceId, connectionId };
    await dependentStore.put(harness.db, ref, { kind: 'agent', id: 'agent-7', actor: 'admin-1' });
    await dependentStore.put(harness.db, ref, { kind: 'automation', id: 'nightly-sync', actor: 'admin-1' });
  };

  /** The event workflow's result, within a deadline. */
  const told = (connectionId: string, sequence: number) =>
    withDeadline(
      harness.client.workflow.getHandle(healthEventWorkflowId(connectionId, sequence)).result(),
      `the notices of event ${sequence}`,
    );

  it('tells each dependent once of creation, deactivation, activation, expiry and recovery', async () => {
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const connectionId = created.connectionId;
    // Registered while the connection is still pending: told of its creation.
    await addDependents(connectionId);
    // The receiver's first answer is a 503 (injected): that notice is delivered again, and once only.
    receiver.faults.push(503);
    const callback = await authorizeInBrowser(created.authorizationUrl, { login: 'events-owner' });
    const done = await harness.commands.completeCallback(callbackParams(callback));
    expect(done.snapshot.status).toBe('active');
    await harness.commands.deactivate(connectionId, 'admin-1');
    await harness.commands.activate(connectionId, 'admin-1');
    // The user removes the app at the provider: the next refresh is refused and the connection expires.
    await harness.oidc.revokeGrant('events-owner');
    const refreshed = await harness.commands.refresh(connectionId, 'admin-1');
    expect(refreshed).toMatchObject({ status: 'expired', reason: 'refresh_rejected' });
    const { authorizationUrl } = await harness.commands.reauthorize(connectionId, { actor: 'admin-1' });
    const again = await authorizeInBrowser(authorizationUrl, { login: 'events-owner' });
    const recovered = await harness.commands.completeCallback(callbackParams(again));
    expect(recovered).toMatchObject({ connectionId, snapshot: { status: 'active' } });

    const events = await harness
      .db('connection_events')
      .where({ connection_id: connectionId })
      .orderBy('sequence');
    const expected: Array<[number, string, string, string]> = [
      [2, 'connection.created', 'active', 'authorized'],
      [3, 'connection.deactivated', 'inactive', 'deactivated'],
      [4, 'connection.activated', 'active', 'activated'],
      [5, 'connection.expired', 'expired', 'refresh_rejected'],
      [6, 'connection.recovered', 'active', 'reauthorized'],
    ];
    expect(events.slice(1).map((e) => [e.sequence, e.to_status, e.reason])).toEqual(
      expected.map(([sequence, , status, reason]) => [sequence, status, reason]),
    );
    for (const [sequence] of expected) {
      await expect(told(connectionId, sequence)).resolves.toEqual({ dependents: 2, delivered: 2 });
    }

    // Every request is signed with the secret, the faulted one too.
    expect(receiver.deliveries.length).toBeGreaterThan(0);
    for (const { body, signature } of receiver.deliveries)
      expect(verifyWebhook(secret, body, signature)).toBe(true);
    expect(receiver.deliveries.filter((d) => d.status === 503)).toHaveLength(1);
    // Once per event and dependent: the 503 was retried, nothing else sent twice, nothing more sent.
    const accepted = bodies(connectionId);
    const keys = accepted.map((b) => `${b.sequence} ${b.dependent.kind}-${b.dependent.id}`).sort();
    expect(keys).toEqual(
      expected
        .flatMap(([sequence]) => [`${sequence} agent-agent-7`, `${sequence} automation-nightly-sync`])
        .sort(),
    );
    expect(bodies(connectionId, false)).toHaveLength(keys.length + 1);
    for (const [sequence, type, status, reason] of expected) {
      const copies = accepted.filter((b) => b.sequence === sequence);
      for (const body of copies) {
        expect(body).toMatchObject({
          type,
          eventId: `${connectionId}:${sequence}`,
          workspaceId: harness.workspaceId,
          connectionId,
          integration: harness.integration,
          scope: 'workspace',
          status,
          reason,
          sequence,
        });
        expect(new Date(body.occurredAt).toISOString()).toBe(body.occurredAt);
        // Only an expiry carries a reconnect link.
        expect('reconnect' in body).toBe(type === 'connection.expired');
      }
    }

    // The expiry's link: the same in both copies, for this connection, one session.
    const [first, second] = accepted.filter((b) => b.type === 'connection.expired');
    expect(second.reconnect).toEqual(first.reconnect);
    const url = new URL(first.reconnect.url);
    expect(url.origin).toBe(PUBLIC_URL);
    const token = url.pathname.replace('/connect/', '');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    harness.addSecret(token);
    harness.vault.secrets.add(token);
    const session = await connectSessionStore.findByToken(harness.db, token);
    expect(session).toMatchObject({
      workspaceId: harness.workspaceId,
      connectionId,
      scope: 'workspace',
      userId: null,
      integrations: [harness.integration],
      spentAt: null,
    });
    expect(session!.expiresAt.toISOString()).toBe(first.reconnect.expiresAt);
    expect(await harness.db('connect_sessions').where({ connection_id: connectionId })).toHaveLength(1);

    // The link is in no history of this test's workflows (the event workflows included); the logs are
    // searched for it when the harness stops.
    const scan = await harness.scanHistories();
    expect(scan.workflows).toBeGreaterThanOrEqual(6);
    expect(scan.found).toEqual([]);
  });

  it("tells a removal's notices with the event's fields, as before", async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    await addDependents(connectionId);
    const removed = await harness.commands.remove(connectionId, { actor: 'admin-1', force: true });
    expect(removed.snapshot.status).toBe('disconnected');
    expect(removed.notified).toHaveLength(2);
    for (const dependent of ['agent-agent-7', 'automation-nightly-sync']) {
      const handle = harness.client.workflow.getHandle(`dependent-notice-${connectionId}-${dependent}`);
      await expect(withDeadline(handle.result(), `the notice of ${dependent}`)).resolves.toEqual({
        delivered: true,
        status: 204,
      });
    }
    const removals = bodies(connectionId).filter((b) => b.type === 'connection.disconnected');
    expect(removals.map((b) => b.dependent.id).sort()).toEqual(['agent-7', 'nightly-sync']);
    for (const body of removals) {
      expect(body).toMatchObject({
        workspaceId: harness.workspaceId,
        connectionId,
        reason: 'removed_with_dependents',
        status: 'disconnected',
        sequence: 3,
        eventId: `${connectionId}:3`,
        integration: harness.integration,
        scope: 'workspace',
      });
    }
    // The dependents were registered after the creation: its event was told to nobody.
    await expect(told(connectionId, 2)).resolves.toEqual({ dependents: 0, delivered: 0 });
  });

  it('sends nothing and starts no event workflow without a webhook', async () => {
    // Commands served by a worker of the same harness without WEBHOOK_URL and WEBHOOK_SECRET.
    const commands = await harness.commandsWith({});
    const before = receiver.deliveries.length;
    const created = await commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    await addDependents(created.connectionId);
    const callback = await authorizeInBrowser(created.authorizationUrl);
    await commands.completeCallback(callbackParams(callback));
    await commands.deactivate(created.connectionId, 'admin-1');
    const activated = await commands.activate(created.connectionId, 'admin-1');
    expect(activated.status).toBe('active');
    // Each event workflow would have been started before its command answered.
    for (const sequence of [2, 3, 4]) {
      const handle = harness.client.workflow.getHandle(healthEventWorkflowId(created.connectionId, sequence));
      await expect(handle.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
    // The receiver.deliveries of the tests before had all settled (their workflows' results): nothing came since.
    expect(receiver.deliveries.length).toBe(before);
  });
});

describe('which changes of status are health events', () => {
  it('names each, recovery only from expired, and leaves removals and setups that fail to others', () => {
    expect(healthEventOf('pending', 'active')).toBe('connection.created');
    expect(healthEventOf('active', 'expired')).toBe('connection.expired');
    expect(healthEventOf('inactive', 'expired')).toBe('connection.expired');
    expect(healthEventOf('expired', 'active')).toBe('connection.recovered');
    expect(healthEventOf('inactive', 'active')).toBe('connection.activated');
    expect(healthEventOf('active', 'inactive')).toBe('connection.deactivated');
    expect(healthEventOf('expired', 'expired')).toBeUndefined();
    expect(healthEventOf(null, 'pending')).toBeUndefined();
    expect(healthEventOf('pending', 'failed')).toBeUndefined();
    // A removal tells its dependents itself (connection-removal.ts).
    expect(healthEventOf('active', 'disconnected')).toBeUndefined();
  });
});
