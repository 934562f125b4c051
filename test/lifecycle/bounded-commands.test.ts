// Every command of a connection is bounded, and a disconnect or deactivation never waits behind one that is
// failing. A key that cannot be sent fails its setup at once and leaves nothing behind; a disconnect during a
// setup whose provider stalls (injected deliberately) completes and stops the setup's provider call; a
// deactivation during a refresh that keeps failing (503s injected) completes, and the connection refreshes
// again once activated; a command whose workflow cannot answer (no worker) gets a 503 at its deadline.
import { randomUUID } from 'node:crypto';
import { ConnectionCommands } from '../../connections/connection-commands.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  connectThroughProvider,
  eventually,
  REDIRECT_URI,
  startLifecycleHarness,
  type LifecycleHarness,
} from '../support/lifecycle.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';
import { asAnswered } from '../support/http.js';

describe('API-key setups', () => {
  let harness: LifecycleHarness;
  let api: StandInApi;
  beforeAll(async () => {
    // Attempts that may last two minutes, and a setup that may retry for eight: only a cancellation ends them
    // within a test's time.
    harness = await startLifecycleHarness({ worker: false, settings: { activityTimeoutMs: 120_000 } });
    await harness.startWorker({ providerCallTimeoutMs: 110_000 });
    api = await startStandInApi();
    await configureStandInIntegration(harness, api);
  });
  afterAll(async () => {
    await harness?.stop();
    await api?.stop();
  });

  const create = (apiKey: string) =>
    harness.commands.createApiKey({
      workspaceId: harness.workspaceId,
      integration: 'stand-in',
      scope: 'workspace',
      actor: 'admin-1',
      apiKey,
    });

  it('fails a key that cannot be sent in a header at once, storing nothing and retrying nothing', async () => {
    const key = `sk-abc\ndef-${randomUUID()}`;
    const requestsBefore = api.requests.length;
    const snapshot = await create(key);
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'verification_failed' });
    expect(api.requests.length).toBe(requestsBefore);
    expect(await harness.db('credentials').where({ connection_id: snapshot.id })).toEqual([]);
    const handle = harness.client.workflow.getHandle(`connection-${snapshot.id}`);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    // The key is among the harness's sealed secrets: the scans of its histories and logs at stop look for it.
    expect(harness.vault.secrets.has(key)).toBe(true);
  });

  it('disconnects a connection whose setup is stalled at the provider, and stops that call', async () => {
    let release!: () => void;
    api.injectStall(new Promise<void>((resolve) => (release = resolve)), 1);
    api.validKeys.add('sk-stalled');
    const creating = create('sk-stalled');
    await eventually(
      async () => api.heldRequests(),
      (held) => held === 1,
    );
    const row = await harness
      .db('connections')
      .where({ workspace_id: harness.workspaceId, status: 'pending', auth_type: 'api_key' })
      .first();
    const disconnected = await harness.commands.disconnect(row.id, 'admin-1');
    expect(disconnected).toMatchObject({ status: 'disconnected' });
    await expect(asAnswered(creating)).rejects.toMatchObject({
      code: 'conflict',
      message: /took precedence/,
    });
    // The verification was abandoned, not retried, and nothing was stored.
    const verifications = api.requests.filter((request) => request.path === '/v1/me').length;
    release();
    expect(await harness.db('credentials').where({ connection_id: row.id })).toEqual([]);
    const events = await harness.db('connection_events').where({ connection_id: row.id }).orderBy('sequence');
    expect(events.map((event) => [event.from_status, event.to_status])).toEqual([
      [null, 'pending'],
      ['pending', 'disconnected'],
    ]);
    expect(api.requests.filter((request) => request.path === '/v1/me').length).toBe(verifications);
  });
});

describe('OAuth refreshes', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
  });
  afterAll(async () => harness?.stop());

  it('deactivates while a refresh keeps failing, and refreshes again once activated', async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    const before = harness.oidc.tokenRequests('refresh_token');
    // The token lives an hour: a refresh failing with 503 would be retried for that hour.
    harness.oidc.injectFault({ endpoint: 'token', status: 503, times: 10_000 });
    const refreshing = harness.commands.refresh(connectionId, 'admin-1');
    await eventually(
      async () => harness.oidc.tokenRequests('refresh_token') - before,
      (attempts) => attempts >= 2,
    );
    const deactivated = await harness.commands.deactivate(connectionId, 'admin-1');
    expect(deactivated.status).toBe('inactive');
    await expect(asAnswered(refreshing)).rejects.toMatchObject({
      code: 'conflict',
      message: /took precedence/,
    });

    harness.oidc.clearFaults();
    expect((await harness.commands.activate(connectionId, 'admin-1')).status).toBe('active');
    const attempts = harness.oidc.tokenRequests('refresh_token');
    const refreshed = await harness.commands.refresh(connectionId, 'admin-1');
    expect(refreshed.status).toBe('active');
    expect(harness.oidc.tokenRequests('refresh_token')).toBe(attempts + 1);
    const events = await harness
      .db('connection_events')
      .where({ connection_id: connectionId })
      .orderBy('sequence');
    expect(events.map((event) => event.to_status)).toEqual(['pending', 'active', 'inactive', 'active']);
  });
});

describe('a connection whose workflow cannot answer', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness({ worker: false });
  });
  afterAll(async () => harness?.stop());

  it('answers 503 at the command deadline, and the command still completes once a worker runs', async () => {
    const api = await startStandInApi();
    try {
      await configureStandInIntegration(harness, api);
      api.validKeys.add('sk-late');
      const commands = new ConnectionCommands({
        temporal: harness.client,
        db: harness.db,
        vault: harness.vault,
        redirectUri: REDIRECT_URI,
        taskQueue: harness.taskQueue,
        commandTimeoutMs: 1_500,
      });
      await expect(
        asAnswered(
          commands.createApiKey({
            workspaceId: harness.workspaceId,
            integration: 'stand-in',
            scope: 'workspace',
            actor: 'admin-1',
            apiKey: 'sk-late',
          }),
        ),
      ).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });

      await harness.startWorker();
      const row = await eventually(
        () => harness.db('connections').where({ workspace_id: harness.workspaceId }).first(),
        (found) => found?.status === 'active',
      );
      expect(row).toMatchObject({ status: 'active', status_reason: 'key_verified' });
    } finally {
      await api.stop();
    }
  });
});
