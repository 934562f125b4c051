// Child processes the embedded default and the tests start (Temporal dev server, local-kms, tools): their
// output goes to a log file, and stop() ends them, politely first.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The folder holding package.json (and node_modules), from the source and from a build in dist/ alike. */
export const projectRoot = packageRoot(path.dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let folder = from; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`no package.json above ${from}`);
  }
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Set once the process has exited, with its exit code or signal. */
  readonly exit: Promise<string>;
  stop(): Promise<void>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv },
): ManagedProcess {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  // A log that cannot be written must not bring the service down with it.
  log.on('error', () => undefined);
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Both streams write into one log, which ends once both are drained (on `close`), not when either ends.
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  child.once('close', () => log.end());
  const exit = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`));
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  return {
    name,
    child,
    exit,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `check` until it resolves; fails with the process's fate if it exits first, or on timeout. */
export async function waitUntilReady<T>(
  what: string,
  check: () => Promise<T>,
  options: { timeoutMs?: number; process?: ManagedProcess; logFile?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let exited: string | undefined;
  void options.process?.exit.then((how) => (exited = how));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`${what} exited (${exited}) before it was ready; see ${options.logFile ?? 'its log'}`);
    }
    try {
      return await check();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `${what} was not ready in time: ${(lastError as Error | undefined)?.message ?? 'no answer'}`,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Path of a Go-built tool, built once on first use by scripts/go-tool.sh. */
export async function goTool(name: 'temporal' | 'local-kms' | 'temporal-ui'): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(projectRoot, 'scripts/go-tool.sh'), name], {
    maxBuffer: 10 * 1024 * 1024,
  });
  return stdout.trim();
}
