// The lifecycle settings are the worker's configuration, read by each connection's workflow while it runs:
// a connection started under one worker follows the settings of the worker that serves it next (restarted
// with another probe interval or refresh margin), and the API starts workflows without settings of its own.
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  connectThroughProvider,
  eventually,
  startLifecycleHarness,
  type LifecycleHarness,
} from '../support/lifecycle.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';

describe('lifecycle settings read by the worker at run time', () => {
  let harness: LifecycleHarness;
  let api: StandInApi;
  beforeAll(async () => {
    harness = await startLifecycleHarness({ worker: false });
    api = await startStandInApi();
    await configureStandInIntegration(harness, api);
  });
  afterAll(async () => {
    await harness?.stop();
    await api?.stop();
  });

  it('probes an existing API key at the interval of the worker restarted with a shorter one', async () => {
    // The first worker probes once a day (fastSettings): nothing is probed while the test runs.
    expect(harness.settings.apiKeyProbeIntervalMs).toBe(86_400_000);
    const first = await harness.startWorker();
    api.validKeys.add('sk-live-settings');
    const created = await harness.commands.createApiKey({
      workspaceId: harness.workspaceId,
      integration: 'stand-in',
      scope: 'workspace',
      actor: 'admin-1',
      apiKey: 'sk-live-settings',
    });
    expect(created.status).toBe('active');
    await first.stop();

    const second = await harness.startWorker({
      lifecycle: { ...harness.settings, apiKeyProbeIntervalMs: 1_000 },
    });
    const probesBefore = api.requests.length;
    // Any command makes the workflow read its worker's settings again; the probe timer follows them from then.
    expect((await harness.commands.refresh(created.id, 'admin-1')).status).toBe('active');
    const probes = await eventually(
      async () => api.requests.length - probesBefore,
      (n) => n >= 4,
    );
    expect(probes).toBeGreaterThanOrEqual(4);
    await harness.commands.disconnect(created.id, 'admin-1');
    await second.stop();
  });

  it('schedules the next refresh by the margin of the worker that serves the connection now', async () => {
    const first = await harness.startWorker();
    const { connectionId, snapshot } = await connectThroughProvider(harness, (url) =>
      authorizeInBrowser(url),
    );
    // fastSettings: one second before expiry, less up to 0.2 s of jitter.
    const lead = (s: { tokenExpiresAt?: number; nextRefreshAt?: number }) =>
      s.tokenExpiresAt! - s.nextRefreshAt!;
    expect(lead(snapshot)).toBeGreaterThanOrEqual(1_000);
    expect(lead(snapshot)).toBeLessThanOrEqual(1_200);
    await first.stop();

    const second = await harness.startWorker({
      lifecycle: { ...harness.settings, refreshMarginMs: 600_000, refreshJitterMs: 0 },
    });
    const refreshed = await harness.commands.refresh(connectionId, 'admin-1');
    expect(refreshed.status).toBe('active');
    // The provider's tokens live an hour: ten minutes is within half of it, so it is taken as it is.
    expect(lead(refreshed)).toBe(600_000);
    const row = await harness.db('connections').where({ id: connectionId }).first();
    expect(new Date(row.next_refresh_at).getTime()).toBe(refreshed.nextRefreshAt);
    await second.stop();
  });

  it('starts connection workflows without settings in their input', async () => {
    await harness.startWorker();
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const handle = harness.client.workflow.getHandle(`connection-${created.connectionId}`);
    const history = await handle.fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const codec = new AesGcmPayloadCodec({ id: 'test', key: harness.codecKey });
    const [payload] = await codec.decode(started.input!.payloads!);
    const input = defaultPayloadConverter.fromPayload(payload!);
    expect(input).toEqual({ connection: expect.objectContaining({ id: created.connectionId }) });
  });
});
