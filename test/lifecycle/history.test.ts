// What Temporal keeps of a connection: no credential in any history (searched raw and decoded), a history
// that continues as new when the server suggests it (carrying state, the pending authorization and the
// waiters), and a recorded history that still replays against today's workflow code.
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../platform/process.js';
import { clientDataConverter, workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { bundlerOptions } from '../../worker/create-worker.js';
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

const recordedHistory = path.join(projectRoot, 'test/fixtures/histories/connection-lifecycle.binpb');
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
  beforeAll(async () => {
    harness = await startLifecycleHarness({ codecKey: fixtureCodecKey });
  });
  afterAll(async () => harness?.stop());

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

  it('replays a fresh lifecycle history, and records it as the fixture when RECORD_HISTORY=1', async () => {
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
    await harness.commands.refresh(connectionId, 'admin-1');
    await harness.commands.deactivate(connectionId, 'admin-1');
    await harness.commands.activate(connectionId, 'admin-1');
    await harness.commands.disconnect(connectionId, 'admin-1');
    const history = await harness.client.workflow.getHandle(`connection-${connectionId}`).fetchHistory();
    await expect(replay(history)).resolves.toBeUndefined();
    if (process.env.RECORD_HISTORY === '1') {
      await writeFile(recordedHistory, proto.temporal.api.history.v1.History.encode(history).finish());
    }
  });
});

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

describe('replay', () => {
  it('replays a recorded connection history against the current workflow code', async () => {
    // Binary protobuf: jest's module registry cannot run the SDK's JSON history conversion.
    const history = proto.temporal.api.history.v1.History.decode(await readFile(recordedHistory));
    expect(history.events.length).toBeGreaterThan(20);
    await expect(replay(history)).resolves.toBeUndefined();
  });
});
