// The worker dies (SIGKILL, injected deliberately) between the code exchange and the end of setup. After a
// new worker takes over, the connection ends active with exactly one credential, or failed with none:
// never stuck in pending.
import { spawn } from 'node:child_process';
import { projectRoot } from '../../platform/process.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startLifecycleHarness, type LifecycleHarness, callbackParams } from '../support/lifecycle.js';

describe.each([
  ['after the code exchange, before the tokens are stored', 'afterCodeExchange', 'failed', 0],
  ['after the tokens are stored, before the activity reports', 'afterTokensStored', 'active', 1],
] as const)('a worker killed %s', (_when, crashAt, expectedStatus, expectedCredentials) => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness({ worker: false, settings: { activityTimeoutMs: 2_000 } });
  });
  afterAll(async () => harness?.stop());

  it(`ends ${expectedStatus} with ${expectedCredentials} credential(s)`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crashing-worker.ts'], {
      cwd: projectRoot,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        CRASH_AT: crashAt,
        TASK_QUEUE: harness.taskQueue,
        LIFECYCLE_SETTINGS: JSON.stringify(harness.settings),
        DATABASE_URL: harness.databaseUrl,
        CODEC_KEY: harness.codecKey.toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (chunk) => String(chunk).includes('ready') && resolve()),
    );

    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const callback = await authorizeInBrowser(created.authorizationUrl);
    const completing = harness.commands.completeCallback(callbackParams(callback));
    expect(await exited).toBe('SIGKILL');
    expect(harness.oidc.tokenRequests('authorization_code')).toBe(1);

    await harness.startWorker();
    const { snapshot } = await completing;
    expect(snapshot.status).toBe(expectedStatus);
    expect(await harness.db('credentials').where({ connection_id: created.connectionId })).toHaveLength(
      expectedCredentials,
    );
    const row = await harness.db('connections').where({ id: created.connectionId }).first();
    expect(row.status).toBe(expectedStatus);
  });
});
