// Everything a lifecycle test needs, all real: a fresh database, the vault on the KMS-API server, an
// authorization server (oidc-provider) configured as a workspace integration, a worker running the
// service's own workflows and activities on a queue of its own, and the service's ConnectionCommands. The
// lifecycle settings are the worker's, as in the service: each worker is started with its own.
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import { createActivities, type ActivityDependencies } from '../../activities/index.js';
import { ConnectionCommands } from '../../connections/connection-commands.js';
import { migrateToLatest } from '../../db/database.js';
import { createLogger, type Logger } from '../../logging/logger.js';
import type { OutboundGuard } from '../../providers/outbound-guard.js';
import { clientDataConverter, workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import type { Catalogue } from '../../integrations/connection-provider.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { createWorker } from '../../worker/create-worker.js';
import {
  connectionWorkflowId,
  getConnection,
  registerWaiter,
  type ConnectionSnapshot,
  type LifecycleSettings,
} from '../../workflows/messages.js';
import { createTestDatabase, testEnv, testKeyProvider } from './env.js';
import { RecordingVault, secretsInHistories } from './secret-scan.js';
import {
  startOidcProvider,
  type OidcProviderOptions,
  type TestAuthorizationServer,
} from './oidc-provider.js';

export const REDIRECT_URI = 'http://127.0.0.1:9/v1/oauth/callback';

export const fastSettings: LifecycleSettings = {
  setupTimeoutMs: 60_000,
  refreshMarginMs: 1_000,
  refreshJitterMs: 200,
  // No floor between refreshes unless a test asks for one: many tests refresh twice in a row on purpose.
  refreshFloorMs: 0,
  apiKeyProbeIntervalMs: 86_400_000,
  keyRotationDueMs: 90 * 86_400_000,
  keyUnusedMs: 30 * 86_400_000,
  activityTimeoutMs: 5_000,
};

export interface LifecycleHarness {
  db: Knex;
  databaseUrl: string;
  /** The payload codec's key, for workers started in other processes. */
  codecKey: Buffer;
  vault: RecordingVault;
  oidc: TestAuthorizationServer;
  client: Client;
  commands: ConnectionCommands;
  workspaceId: string;
  integration: string;
  taskQueue: string;
  /** The lifecycle settings of the harness's workers (fastSettings and the harness's own). */
  settings: LifecycleSettings;
  /**
   * Starts (another) worker on the harness's queue, with the harness's settings unless `deps.lifecycle`
   * says otherwise; the harness stops it at the end.
   */
  startWorker(
    deps?: Partial<ActivityDependencies>,
    workflowsPath?: string,
  ): Promise<{ worker: Worker; stop(): Promise<void> }>;
  /** The service's logger in this harness; its lines are kept in `logLines`. */
  logger: Logger;
  logLines: string[];
  /** Another value the logs must never contain (a bearer token, say), checked at stop. */
  addSecret(secret: string): void;
  /** Searches every history of this harness for every credential its vault sealed. */
  scanHistories(): Promise<{ workflows: number; found: number[] }>;
  /** Commands on a queue of their own, served by a worker with other lifecycle settings. */
  commandsWith(settings: Partial<LifecycleSettings>): Promise<ConnectionCommands>;
  /** The connection as its workflow holds it (its `getConnection` query), for assertions on the workflow. */
  snapshot(connectionId: string): Promise<ConnectionSnapshot>;
  stop(): Promise<void>;
}

export async function startLifecycleHarness(
  options: {
    settings?: Partial<LifecycleSettings>;
    oidc?: OidcProviderOptions;
    worker?: boolean;
    workflowsPath?: string;
    /** The payload codec's key; random unless a test needs histories it can replay later. */
    codecKey?: Buffer;
    /** The default worker's way out to providers (one that checks no address unless given). */
    outbound?: OutboundGuard;
    /** The workers' provider catalogue (test/support/catalogue.ts points entries at stand-ins). */
    catalogue?: Catalogue;
    /**
     * The OAuth redirect URI registered at oidc-provider and sent by the commands: REDIRECT_URI (a port
     * nothing listens on) unless the test serves the callback itself (test/support/api.ts ownPublicUrl).
     */
    redirectUri?: string;
  } = {},
): Promise<LifecycleHarness> {
  const database = await createTestDatabase();
  await migrateToLatest(database.db);
  const keys = testKeyProvider();
  const vault = new RecordingVault(keys);
  const redirectUri = options.redirectUri ?? REDIRECT_URI;
  const oidc = await startOidcProvider({ redirectUris: [redirectUri], ...options.oidc });
  const workspaceId = `ws-${randomUUID()}`;
  const integration = 'test-oidc';
  await integrationStore.configure(database.db, vault, {
    workspaceId,
    key: integration,
    provider: {
      authType: 'oauth2',
      issuer: oidc.issuer,
      authorizationEndpoint: oidc.authorizationEndpoint,
      tokenEndpoint: oidc.tokenEndpoint,
      revocationEndpoint: oidc.revocationEndpoint,
      issParameterSupported: true,
      scopes: ['openid', 'offline_access', 'api:read'],
    },
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret,
  });

  // Every log line of the service's code in this harness is kept, and searched for credentials at the end.
  const logLines: string[] = [];
  const extraSecrets = new Set<string>();
  const logger = createLogger('debug', { write: (line: string) => logLines.push(line) });
  const taskQueue = `lifecycle-${randomUUID()}`;
  const taskQueues = [taskQueue];
  const settings: LifecycleSettings = { ...fastSettings, ...options.settings };
  const historiesQuery = () => taskQueues.map((queue) => `TaskQueue="${queue}"`).join(' OR ');
  const codecKey = options.codecKey ?? randomBytes(32);
  const codec = new AesGcmPayloadCodec({ id: 'test', key: codecKey });
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  const client = new Client({ connection, dataConverter: clientDataConverter(codec) });
  const workers: Array<() => Promise<void>> = [];

  async function startWorker(
    deps: Partial<ActivityDependencies> = {},
    workflowsPath?: string,
    queue = taskQueue,
  ) {
    const { worker, connection: workerConnection } = await createWorker({
      address: testEnv.temporalAddress,
      namespace: 'default',
      taskQueue: queue,
      workflowsPath,
      activities: createActivities({
        db: database.db,
        vault,
        logger,
        allowInsecureProviderUrls: true,
        lifecycle: settings,
        catalogue: options.catalogue,
        ...deps,
      }),
      dataConverter: workerDataConverter(codec),
      logger,
    });
    const running = worker.run();
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await workerConnection.close();
      })());
    workers.push(stop);
    return { worker, stop };
  }
  if (options.worker !== false) await startWorker({ outbound: options.outbound }, options.workflowsPath);

  const commandsOn = (queue: string) =>
    new ConnectionCommands({
      temporal: client,
      db: database.db,
      vault,
      redirectUri,
      taskQueue: queue,
    });
  const commands = commandsOn(taskQueue);
  const commandsWith = async (other: Partial<LifecycleSettings>) => {
    const queue = `${taskQueue}-${taskQueues.length}`;
    taskQueues.push(queue);
    await startWorker(
      { outbound: options.outbound, lifecycle: { ...settings, ...other } },
      options.workflowsPath,
      queue,
    );
    return commandsOn(queue);
  };

  return {
    db: database.db,
    databaseUrl: database.url,
    codecKey,
    vault,
    oidc,
    client,
    commands,
    commandsWith,
    snapshot: (connectionId) =>
      client.workflow.getHandle(connectionWorkflowId(connectionId)).query(getConnection),
    workspaceId,
    integration,
    taskQueue,
    settings,
    startWorker: (deps?: Partial<ActivityDependencies>, workflowsPath?: string) =>
      startWorker(deps, workflowsPath),
    async stop() {
      // Every history this harness produced, searched for every credential its vault sealed.
      vault.secrets.add(oidc.clientSecret);
      const scan = await secretsInHistories(client, codec, historiesQuery(), vault.secrets);
      for (const stopWorker of workers) await stopWorker();
      await connection.close();
      await oidc.stop();
      await database.drop();
      if (scan.found.length) {
        throw new Error(
          `${scan.found.length} credential(s) appear in the Temporal histories of this test file`,
        );
      }
      const logged = [...vault.secrets, ...extraSecrets].filter((secret) =>
        logLines.some((l) => l.includes(secret)),
      );
      if (logged.length)
        throw new Error(`${logged.length} credential(s) appear in the logs of this test file`);
    },
    logger,
    logLines,
    addSecret: (secret: string) => extraSecrets.add(secret),
    scanHistories: () => secretsInHistories(client, codec, historiesQuery(), vault.secrets),
  };
}

/**
 * Polls `read` until `done` holds, returning the value that satisfied it; fails once the reads run out, so a
 * wait for something that never happens fails where it waited (the value is not shown: it may hold a secret).
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { attempts?: number; intervalMs?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 150;
  const intervalMs = options.intervalMs ?? 100;
  let value = await read();
  for (let attempt = 0; !done(value); attempt++) {
    if (attempt >= attempts) {
      throw new Error(
        `eventually: the condition did not hold after ${attempts + 1} reads, ${intervalMs} ms apart`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await read();
  }
  return value;
}

/**
 * How many waiter registrations the connection's workflow has received (its current run's history): a task
 * counted here is waiting on the connection and will be told when it is ready or unavailable.
 */
export async function waiterRegistrations(client: Client, connectionId: string): Promise<number> {
  const history = await client.workflow.getHandle(connectionWorkflowId(connectionId)).fetchHistory();
  return (history.events ?? []).filter(
    (event) => event.workflowExecutionSignaledEventAttributes?.signalName === registerWaiter.name,
  ).length;
}

/** A completed OAuth setup as a user would do it: create, sign in and consent, callback. */
export async function connectThroughProvider(
  harness: LifecycleHarness,
  authorize: (url: string) => Promise<URL>,
  options: { scope?: 'workspace' | 'user'; ownerUserId?: string; commands?: ConnectionCommands } = {},
) {
  const commands = options.commands ?? harness.commands;
  const created = await commands.createOAuth({
    workspaceId: harness.workspaceId,
    integration: harness.integration,
    scope: options.scope ?? 'workspace',
    ownerUserId: options.ownerUserId,
    actor: 'admin-1',
  });
  const callback = await authorize(created.authorizationUrl);
  const completed = await commands.completeCallback(callbackParams(callback));
  return { ...created, callback, snapshot: completed.snapshot };
}

/** The parameters of a provider's redirect, as the callback route hands them to ConnectionCommands. */
export function callbackParams(callback: URL): {
  state: string;
  code?: string;
  iss?: string;
  error?: string;
} {
  const get = (name: string) => callback.searchParams.get(name) ?? undefined;
  return { state: get('state') ?? '', code: get('code'), iss: get('iss'), error: get('error') };
}
