// Temporal for the embedded default and the tests: the CLI's dev server (SQLite, headless) as a child process,
// and the connection and search-attribute registration used against any cluster.
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import path from 'node:path';
import { connectionSearchAttributes } from '../workflows/search-attributes.js';
import { goTool, startProcess, waitUntilReady, type ManagedProcess } from './process.js';

export interface DevServerOptions {
  port: number;
  /** SQLite file; without one the server keeps everything in memory. */
  dbFile?: string;
  namespace: string;
  logFile: string;
  /** Dynamic configuration values, e.g. a lower continue-as-new suggestion for tests. */
  dynamicConfig?: Record<string, string | number>;
}

export interface DevServer {
  address: string;
  process: ManagedProcess;
  /** Settles when the server process ends, with its exit code or signal. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = await goTool('temporal');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
  ];
  args.push('--namespace', options.namespace);
  if (options.dbFile) args.push('--db-filename', path.resolve(options.dbFile));
  // Its built-in UI cannot send the codec server a credential: the UI is platform/temporal-ui.ts.
  args.push('--headless');
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  const child = startProcess('temporal', cli, args, { logFile: options.logFile });
  const address = `127.0.0.1:${options.port}`;
  try {
    const connection = await waitUntilReady(
      'Temporal dev server',
      () => Connection.connect({ address, connectTimeout: 1000 }),
      {
        process: child,
        logFile: options.logFile,
      },
    );
    await connection.close();
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    address,
    process: child,
    exited: child.exit,
    stop: () => child.stop(),
  };
}

const { IndexedValueType } = proto.temporal.api.enums.v1;

/** Registers the connection search attributes in the namespace when they are missing; idempotent. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = connectionSearchAttributes.filter((key) => !customAttributes?.[key.name]);
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((key) => [key.name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}
