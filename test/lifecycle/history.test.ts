// What Temporal keeps of a connection: no credential in any history (searched raw and decoded), a history
// that continues as new when the server suggests it (carrying state, the pending authorization and the
// waiters), and recorded histories that still replay against today's workflow code: one from before the
// workflow's patches, some with the first patches, and one recorded with all of them (`npm run
// record-history` records it again).
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import express from 'express';
import type { Server } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../platform/process.js';
import { clientDataConverter, workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { bundlerOptions } from '../../worker/create-worker.js';
import { dependentStore } from '../../dependents/dependent-store.js';
import { patchIds } from '../../workflows/patches.js';
import { registerWaiter } from '../../workflows/messages.js';
import { testEnv } from '../support/env.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  connectThroughProvider,
  startLifecycleHarness,
  type LifecycleHarness,
  callbackParams,
} from '../support/lifecycle.js';
import { secretsInHistories } from '../support/secret-scan.js';

const histories = path.join(projectRoot, 'test/fixtures/histories');
/** Recorded before the first patch (`local-activity-records`): the workflow's unpatched branches. */
const historyBeforePatches = path.join(histories, 'connection-lifecycle.binpb');
/**
 * Recorded with the first four patches taken (up to `bounded-waiters`: before the settings were the worker's
 * and removals the workflow's): a refresh, a waiter, a deactivation and a disconnect.
 */
const historyWithFourPatches = path.join(histories, 'connection-lifecycle-four-patches.binpb');
/**
 * Recorded with the first six patches taken (up to `removal-in-workflow`: before health events were told to
 * dependents).
 */
const historyWithSixPatches = path.join(histories, 'connection-lifecycle-six-patches.binpb');
/**
 * Recorded with every patch of workflows/patches.ts taken, by a worker with a webhook (so health events are
 * told); `npm run record-history` writes it again.
 */
const historyWithPatches = path.join(histories, 'connection-lifecycle-patched.binpb');
const allPatches = [...patchIds];
// The recorded history's payloads are encrypted with this test-only key, as a real history would be.
const fixtureCodecKey = Buffer.alloc(32, 7);
const fixtureCodec = new AesGcmPayloadCodec({ id: 'test', key: fixtureCodecKey });

describe('the history scan', () => {
  it('finds a secret that was put into a history (positive control)', async () => {
    const connection = await Connection.connect({ address: testEnv.temporalAddress });
    const codec = new AesGcmPayloadCodec({ id: 'canary', key: randomBytes(32) });
    const client = new Client({ connection, dataConverter: clientDataConverter(codec) });
    const canary = `canary-${randomUUID()}`;
    const workflowId = `secret-canary-${randomUUID()}`;
    const handle = await client.workflow.start('secretCanary', {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId,
      args: [canary],
    });
    await handle.terminate();
    const scan = await secretsInHistories(client, codec, `WorkflowId="${workflowId}"`, [
      'absent-secret',
      canary,
    ]);
    expect(scan).toEqual({ workflows: 1, found: [1] });
    await connection.close();
  });
});

describe('connection histories', () => {
  let harness: LifecycleHarness;
  let receiver: Server;
  beforeAll(async () => {
    // The platform's webhook receiver: with a webhook, the connection's workflow tells health events too.
    const app = express();
    app.post('/hooks', (_req, res) => res.status(204).end());
    receiver = await new Promise<Server>((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
    });
    const { port } = receiver.address() as { port: number };
    harness = await startLifecycleHarness({ codecKey: fixtureCodecKey, worker: false });
    await harness.startWorker({
      webhook: { url: `http://127.0.0.1:${port}/hooks`, secret: 'whsec-history-0123456789abcdef' },
    });
  });
  afterAll(async () => {
    await harness?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('hold no token, key, client secret, code or verifier through a whole lifecycle', async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    await harness.commands.refresh(connectionId, 'admin-1');
    await harness.commands.deactivate(connectionId, 'admin-1');
    await harness.commands.activate(connectionId, 'admin-1');
    await harness.commands.disconnect(connectionId, 'admin-1');
    const scan = await harness.scanHistories();
    expect(scan.workflows).toBeGreaterThanOrEqual(1);
    // Access and refresh tokens (two sets), verifier, code, client secret: all known to the scan.
    expect(harness.vault.secrets.size).toBeGreaterThanOrEqual(6);
    expect(scan.found).toEqual([]);
  });

  it('continues as new when the server suggests it, carrying the pending setup and the waiters', async () => {
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const handle = harness.client.workflow.getHandle(`connection-${created.connectionId}`);
    const firstRun = (await handle.describe()).runId;
    // Each registration is history; enough of them and the server suggests continuing as new (the test
    // server suggests it past 200 events).
    for (let i = 0; i < 80; i++) await handle.signal(registerWaiter, { workflowId: `gone-waiter-${i}` });
    const callback = await authorizeInBrowser(created.authorizationUrl);
    const done = await harness.commands.completeCallback(callbackParams(callback));
    expect(done.snapshot.status).toBe('active');
    const now = await handle.describe();
    expect(now.runId).not.toBe(firstRun);
    expect(
      (await harness.client.workflow.getHandle(handle.workflowId, firstRun).describe()).status.name,
    ).toBe('CONTINUED_AS_NEW');
    const events = await harness
      .db('connection_events')
      .where({ connection_id: created.connectionId })
      .orderBy('sequence');
    expect(events.map((e) => [e.sequence, e.to_status])).toEqual([
      [1, 'pending'],
      [2, 'active'],
    ]);
  });

  it('replays a fresh lifecycle history with every patch, and records it as the fixture when RECORD_HISTORY=1', async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    const handle = harness.client.workflow.getHandle(`connection-${connectionId}`);
    await harness.commands.refresh(connectionId, 'admin-1');
    await harness.commands.deactivate(connectionId, 'admin-1');
    // A waiter of an inactive connection is kept (bounded-waiters) and told when it is active again; this
    // one has finished, which the connection only logs.
    await handle.signal(registerWaiter, { workflowId: `gone-waiter-${randomUUID()}` });
    await harness.commands.activate(connectionId, 'admin-1');
    // A dependent, told of the next events (health-events); then a removal: its notice is recorded and told
    // by a child workflow (removal-in-workflow).
    const ref = { workspaceId: harness.workspaceId, connectionId };
    await dependentStore.put(harness.db, ref, { kind: 'agent', id: 'agent-history', actor: 'admin-1' });
    await harness.commands.deactivate(connectionId, 'admin-1');
    await harness.commands.activate(connectionId, 'admin-1');
    await harness.commands.disconnect(connectionId, 'admin-1');
    const history = await handle.fetchHistory();
    expect(patchMarkers(history).sort()).toEqual([...allPatches].sort());
    await expect(replay(history)).resolves.toBeUndefined();
    if (process.env.RECORD_HISTORY === '1') {
      await writeFile(historyWithPatches, proto.temporal.api.history.v1.History.encode(history).finish());
    }
  });
});

/**
 * The patch ids a history's patch markers carry, in the order first recorded. The SDK's core writes a marker
 * named `core_patch` with its id in the JSON payload `patch-data` ({ id, deprecated }).
 */
function patchMarkers(history: proto.temporal.api.history.v1.IHistory): string[] {
  const { EventType } = proto.temporal.api.enums.v1;
  const ids = (history.events ?? [])
    .filter((event) => event.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)
    .map((event) => event.markerRecordedEventAttributes)
    .filter((marker) => marker?.markerName === 'core_patch')
    .map((marker) => {
      const data = marker?.details?.['patch-data']?.payloads?.[0]?.data;
      if (!data) throw new Error('a patch marker without its patch-data');
      return (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id;
    });
  return [...new Set(ids)];
}

function replay(history: unknown) {
  return Worker.runReplayHistory(
    {
      workflowsPath: path.join(projectRoot, 'workflows/index.ts'),
      bundlerOptions,
      dataConverter: workerDataConverter(fixtureCodec),
    },
    history,
  );
}

// Binary protobuf: jest's module registry cannot run the SDK's JSON history conversion.
const readHistory = async (file: string) =>
  proto.temporal.api.history.v1.History.decode(await readFile(file));

describe('replay', () => {
  it('replays a recorded connection history against the current workflow code', async () => {
    const history = await readHistory(historyBeforePatches);
    expect(history.events.length).toBeGreaterThan(20);
    expect(patchMarkers(history)).toEqual([]);
    await expect(replay(history)).resolves.toBeUndefined();
  });

  it('replays a history recorded with the first four patches against the current workflow code', async () => {
    const history = await readHistory(historyWithFourPatches);
    expect(patchMarkers(history).sort()).toEqual(allPatches.slice(0, 4).sort());
    await expect(replay(history)).resolves.toBeUndefined();
  });

  it('replays a history recorded with the first six patches against the current workflow code', async () => {
    const history = await readHistory(historyWithSixPatches);
    expect(patchMarkers(history).sort()).toEqual(allPatches.slice(0, 6).sort());
    await expect(replay(history)).resolves.toBeUndefined();
  });

  it('replays a history recorded with every patch against the current workflow code', async () => {
    const history = await readHistory(historyWithPatches);
    expect(history.events.length).toBeGreaterThan(20);
    // Else it could be an unpatched history recorded again, and the patched branches would go unreplayed.
    expect(patchMarkers(history).sort()).toEqual([...allPatches].sort());
    await expect(replay(history)).resolves.toBeUndefined();
  });
});
