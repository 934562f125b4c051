// The connection workflow's timers, in Temporal's time-skipping test server: the real workflow code (bundled
// once), the activities a fake (test/support/fake-lifecycle-activities.ts) that records what it is asked and
// when, in workflow time. Each test skips time to just before a deadline (nothing has happened yet), then past
// it (it has), and checks what the activities saw and what the workflow answers.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { connectionLifecycle } from '../../workflows/connection-lifecycle.js';
import {
  beginAuthorization,
  completeAuthorization,
  connectionWorkflowId,
  getConnection,
  submitApiKey,
  type ConnectionRef,
  type ConnectionSnapshot,
  type LifecycleSettings,
} from '../../workflows/messages.js';
import { withDeadline } from '../support/deadline.js';
import { FakeLifecycleActivities } from '../support/fake-lifecycle-activities.js';
import { eventually, fastSettings, REDIRECT_URI } from '../support/lifecycle.js';
import {
  bundleServiceWorkflows,
  startTimeSkippingEnv,
  startTimeSkippingWorker,
} from '../support/time-skipping.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([startTimeSkippingEnv(), bundleServiceWorkflows()]);
});
afterAll(async () => env?.teardown());

// Each test gets a worker of its own, on a queue of its own, over a fresh fake; its workflows are ended after
// it, so that later skips of the one clock do not wake them with no worker left to run them.
let fake: FakeLifecycleActivities;
let taskQueue: string;
let stopWorker: () => Promise<void>;
const started: WorkflowHandle[] = [];
beforeEach(async () => {
  fake = new FakeLifecycleActivities();
  taskQueue = `timers-${randomUUID()}`;
  ({ stop: stopWorker } = await startTimeSkippingWorker(
    env,
    workflowBundle,
    fake.implementation(),
    taskQueue,
  ));
});
afterEach(async () => {
  for (const handle of started.splice(0)) await handle.terminate().catch(() => undefined);
  await stopWorker();
});

/**
 * A connection's workflow, started as the API starts it (its input is the connection only); the lifecycle
 * settings are the worker's, which the workflow reads at run time: here the fake's.
 */
async function startConnection(
  authType: ConnectionRef['authType'],
  settings: Partial<LifecycleSettings>,
): Promise<WorkflowHandle<typeof connectionLifecycle>> {
  fake.settings = { ...fastSettings, ...settings };
  const id = randomUUID();
  const connection: ConnectionRef = {
    id,
    workspaceId: 'ws-timers',
    integration: authType === 'oauth2' ? 'test-oidc' : 'test-keys',
    scope: 'workspace',
    authType,
    createdBy: 'admin-1',
  };
  const handle = await env.client.workflow.start<typeof connectionLifecycle>('connectionLifecycle', {
    workflowId: connectionWorkflowId(id),
    taskQueue,
    args: [{ connection }],
  });
  started.push(handle);
  return handle;
}

const begin = (handle: WorkflowHandle) =>
  handle.executeUpdate(beginAuthorization, { args: [{ actor: 'admin-1', redirectUri: REDIRECT_URI }] });

/** An OAuth connection through its setup: authorized with the fake's tokens. */
async function connectOAuth(settings: Partial<LifecycleSettings>) {
  const handle = await startConnection('oauth2', settings);
  await begin(handle);
  const { snapshot } = await handle.executeUpdate(completeAuthorization, { args: [{ state: 'state-1' }] });
  expect(snapshot.status).toBe('active');
  return { handle, snapshot };
}

/** Skips the test server's clock forward to `at` (epoch ms of workflow time). */
async function skipTo(at: number): Promise<void> {
  const now = await env.currentTimeMs();
  // The server skips only while no workflow task or activity is running: a workflow that never settles (a
  // refresh storm, say) would hold the skip for ever.
  if (at > now) await withDeadline(env.sleep(at - now), `skipping ${at - now} ms of workflow time`);
}

const query = (handle: WorkflowHandle): Promise<ConnectionSnapshot> => handle.query(getConnection);

describe('the setup deadline', () => {
  it('fails a first OAuth setup that gets no callback within its budget, with reason setup_timed_out', async () => {
    const handle = await startConnection('oauth2', { setupTimeoutMs: 10 * MINUTE });
    const asked = await env.currentTimeMs();
    const { expiresAt } = await begin(handle);
    expect(expiresAt - 10 * MINUTE).toBeGreaterThanOrEqual(asked);
    expect(expiresAt - 10 * MINUTE).toBeLessThanOrEqual(await env.currentTimeMs());

    await skipTo(expiresAt - MINUTE);
    expect(await query(handle)).toMatchObject({ status: 'pending', authorizationPending: true });

    // Awaiting the result lets the test server skip to the deadline by itself.
    const final = await handle.result();
    expect(final).toMatchObject({ status: 'failed', reason: 'setup_timed_out', authorizationPending: false });
    const failed = await fake.recorded('setup_timed_out');
    expect(failed).toMatchObject({ from: 'pending', to: 'failed', actor: 'system' });
    expect(failed.at).toBeGreaterThanOrEqual(expiresAt);
  });
});

describe('the setup deadline of a re-authorization', () => {
  it('ends the pending authorization at its deadline and leaves the connection active', async () => {
    const { handle } = await connectOAuth({ setupTimeoutMs: 10 * MINUTE, refreshMarginMs: MINUTE });
    const { expiresAt } = await begin(handle);
    expect(await query(handle)).toMatchObject({ status: 'active', authorizationPending: true });

    await skipTo(expiresAt - MINUTE);
    expect(await query(handle)).toMatchObject({ status: 'active', authorizationPending: true });
    await skipTo(expiresAt + MINUTE);
    // No activity marks the end of a re-authorization: the query is read until it shows it (bounded).
    expect(
      await eventually(
        () => query(handle),
        (s) => !s.authorizationPending,
      ),
    ).toMatchObject({
      status: 'active',
      authorizationPending: false,
    });
    expect(fake.transitions().map((t) => t.reason)).toEqual(['setup_started', 'authorized']);
  });
});

describe('the refresh timer', () => {
  it('refreshes a token when its margin window opens (margin plus jitter before expiry), not before', async () => {
    const margin = 5 * MINUTE;
    const jitter = MINUTE;
    const { handle, snapshot } = await connectOAuth({ refreshMarginMs: margin, refreshJitterMs: jitter });
    const expiresAt = snapshot.tokenExpiresAt!;
    expect(expiresAt).toBe(fake.callsOf('exchangeAuthorizationCode')[0]!.at + HOUR);
    expect(snapshot.nextRefreshAt).toBeGreaterThanOrEqual(expiresAt - margin - jitter);
    expect(snapshot.nextRefreshAt).toBeLessThanOrEqual(expiresAt - margin);

    await skipTo(expiresAt - margin - jitter - MINUTE);
    expect(fake.callsOf('refreshAccessToken')).toEqual([]);
    expect(await query(handle)).toMatchObject({
      tokenExpiresAt: expiresAt,
      nextRefreshAt: snapshot.nextRefreshAt,
    });

    const refreshed = fake.nth('refreshAccessToken', 1);
    await skipTo(expiresAt - margin);
    const refresh = await refreshed;
    expect(refresh.at).toBeGreaterThanOrEqual(snapshot.nextRefreshAt!);
    expect(refresh.at).toBeLessThan(expiresAt);

    // The new token's times are recorded, and its own refresh scheduled by the same rule.
    const schedule = await fake.nth('recordSchedule', 1);
    const newExpiry = refresh.at + HOUR;
    expect(schedule.input).toMatchObject({ metadata: { tokenExpiresAt: newExpiry } });
    const now = await eventually(
      () => query(handle),
      (s) => s.tokenExpiresAt === newExpiry,
    );
    expect(now.status).toBe('active');
    expect(now.nextRefreshAt).toBeGreaterThanOrEqual(newExpiry - margin - jitter);
    expect(now.nextRefreshAt).toBeLessThanOrEqual(newExpiry - margin);
  });

  it('refreshes a token that lives less than twice the margin at half its lifetime', async () => {
    fake.tokenLifetimeMs = 4 * MINUTE;
    const { snapshot } = await connectOAuth({ refreshMarginMs: 5 * MINUTE, refreshJitterMs: 0 });
    const obtainedAt = fake.callsOf('exchangeAuthorizationCode')[0]!.at;
    expect(snapshot.nextRefreshAt).toBe(obtainedAt + 2 * MINUTE);

    await skipTo(obtainedAt + MINUTE);
    expect(fake.callsOf('refreshAccessToken')).toEqual([]);
    const refreshed = fake.nth('refreshAccessToken', 1);
    await skipTo(obtainedAt + 3 * MINUTE);
    expect((await refreshed).at).toBeGreaterThanOrEqual(obtainedAt + 2 * MINUTE);
    expect((await refreshed).at).toBeLessThan(snapshot.tokenExpiresAt!);
  });

  it('expires a connection without a refresh token when its token expires', async () => {
    fake.hasRefreshToken = false;
    const { handle, snapshot } = await connectOAuth({ refreshMarginMs: 5 * MINUTE, refreshJitterMs: 0 });
    const expiresAt = snapshot.tokenExpiresAt!;

    await skipTo(expiresAt - MINUTE);
    expect(await query(handle)).toMatchObject({ status: 'active' });
    const expired = fake.recorded('token_expired_without_refresh_token');
    await skipTo(expiresAt + MINUTE);
    expect(await expired).toMatchObject({ from: 'active', to: 'expired', actor: 'system' });
    expect((await expired).at).toBeGreaterThanOrEqual(expiresAt);
    expect(fake.callsOf('refreshAccessToken')).toEqual([]);
  });

  it('retries a provider that stays down for as long as the token works, then expires the connection', async () => {
    const margin = 5 * MINUTE;
    const { handle, snapshot } = await connectOAuth({ refreshMarginMs: margin, refreshJitterMs: 0 });
    const expiresAt = snapshot.tokenExpiresAt!;
    fake.provider = 'down'; // injected: every refresh attempt fails as an outage would

    const expired = fake.recorded('refresh_failed_until_expiry');
    await skipTo(expiresAt + MINUTE);
    expect(await expired).toMatchObject({ from: 'active', to: 'expired', actor: 'system' });
    // Attempts stop once the next one (at most 5 minutes later, the refresh's retry policy) would start after
    // the token has expired: the connection is expired then, and never while a retry could still succeed.
    expect((await expired).at).toBeGreaterThan(expiresAt - 5 * MINUTE);
    const attempts = fake.callsOf('refreshAccessToken');
    expect(attempts.length).toBeGreaterThan(1);
    expect((await expired).at).toBeGreaterThanOrEqual(attempts.at(-1)!.at);
    expect(attempts[0]!.at).toBeGreaterThanOrEqual(expiresAt - margin);
    for (const attempt of attempts) expect(attempt.at).toBeLessThan(expiresAt);
    expect(await query(handle)).toMatchObject({ status: 'expired', reason: 'refresh_failed_until_expiry' });
  });
});

describe('the API-key probe', () => {
  const interval = DAY;
  const settings = {
    apiKeyProbeIntervalMs: interval,
    keyUnusedMs: 2.5 * DAY,
    keyRotationDueMs: 4.5 * DAY,
  };

  // The fake never opens it: a sealed key's shape, nothing sealed inside.
  const unopenedKey = {
    v: 1,
    provider: 'local',
    keyId: 'fake',
    wrappedKey: '',
    iv: '',
    tag: '',
    ciphertext: '',
  } as const;

  async function connectKey() {
    const handle = await startConnection('api_key', settings);
    const snapshot = await handle.executeUpdate(submitApiKey, {
      args: [{ actor: 'admin-1', sealedKey: unopenedKey }],
    });
    expect(snapshot.status).toBe('active');
    return { handle, keyCreatedAt: snapshot.keyCreatedAt! };
  }

  it('probes the key once per interval, and not before', async () => {
    const { keyCreatedAt } = await connectKey();

    await skipTo(keyCreatedAt + interval - MINUTE);
    expect(fake.callsOf('probeApiKey')).toEqual([]);
    const third = fake.nth('probeApiKey', 3);
    await skipTo(keyCreatedAt + 3 * interval + MINUTE);
    await third;
    const probes = fake.callsOf('probeApiKey').map((call) => call.at);
    expect(probes).toHaveLength(3);
    let previous = keyCreatedAt;
    for (const at of probes) {
      expect(at).toBeGreaterThanOrEqual(previous + interval);
      expect(at).toBeLessThan(previous + interval + MINUTE);
      previous = at;
    }
  });

  it('notes a key unused, then due for rotation, once each, at the first probe past each threshold', async () => {
    const { handle, keyCreatedAt } = await connectKey();

    await skipTo(keyCreatedAt + 2 * interval + MINUTE);
    await fake.nth('probeApiKey', 2);
    expect(fake.transitions().map((t) => t.reason)).toEqual(['setup_started', 'key_verified']);

    const unused = fake.recorded('key_unused');
    const due = fake.recorded('key_rotation_due');
    const sixth = fake.nth('probeApiKey', 6);
    await skipTo(keyCreatedAt + 6 * interval + MINUTE);
    await sixth;
    // Probes 3 (day 3, past 2.5 days unused) and 5 (day 5, past 4.5 days old) note; the others do not.
    expect(await unused).toMatchObject({ from: 'active', to: 'active', actor: 'system' });
    expect((await unused).at).toBeGreaterThanOrEqual(keyCreatedAt + settings.keyUnusedMs);
    expect((await unused).at).toBeLessThan(keyCreatedAt + settings.keyUnusedMs + interval);
    expect((await due).at).toBeGreaterThanOrEqual(keyCreatedAt + settings.keyRotationDueMs);
    expect((await due).at).toBeLessThan(keyCreatedAt + settings.keyRotationDueMs + interval);
    expect(fake.transitions().map((t) => t.reason)).toEqual([
      'setup_started',
      'key_verified',
      'key_unused',
      'key_rotation_due',
    ]);
    expect(await query(handle)).toMatchObject({ status: 'active', reason: 'key_rotation_due' });
  });
});

describe('the refresh floor', () => {
  it('asks a provider whose tokens live a second at most once per floor, and says so once', async () => {
    const floor = 1_500;
    fake.tokenLifetimeMs = 1_000;
    await connectOAuth({ refreshMarginMs: 5 * MINUTE, refreshJitterMs: 0, refreshFloorMs: floor });
    const obtained = fake.callsOf('exchangeAuthorizationCode')[0]!.at;
    const fourth = fake.nth('refreshAccessToken', 4);
    await skipTo(obtained + 6 * floor + 100);
    await fourth;
    const attempts = fake.callsOf('refreshAccessToken').map((call) => call.at);
    // In workflow time, so exactly: never two attempts closer than the floor.
    for (let i = 1; i < attempts.length; i++)
      expect(attempts[i]! - attempts[i - 1]!).toBeGreaterThanOrEqual(floor);
    expect(fake.transitions().filter((t) => t.reason === 'token_lifetime_too_short')).toHaveLength(1);
  });
});
