// The service as its users run it, as a separate process (`npm start`, or the compiled
// `node dist/scripts/serve.js api|worker`), in a process group of its own so that a test can find every
// process it started; and the API calls those tests make against it, as a client would.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { waitUntilReady } from '../../platform/process.js';
import type { StandInApi } from './stand-in-api.js';

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Its exit code (or signal name) once it has exited. */
  readonly exited: Promise<number | string>;
  /** Waits (bounded) until its output matches; fails with the output if it exits first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Waits (bounded) for it to exit by itself: its exit code or signal name. */
  waitForExit(timeoutMs?: number): Promise<number | string>;
  /** Sends the signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function spawnService(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; command?: string },
): ServiceProcess {
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let exitedWith: number | string | undefined;
  void exited.then((how) => (exitedWith = how));
  return {
    child,
    output: () => output,
    exited,
    async waitForOutput(pattern, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (exitedWith !== undefined) {
          throw new Error(`the service exited (${exitedWith}) before printing ${pattern}:\n${output}`);
        }
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async waitForExit(timeoutMs = 120_000) {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          exited,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`still running after ${timeoutMs} ms:\n${output}`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop(signal = 'SIGTERM') {
      if (exitedWith === undefined) child.kill(signal);
      return exited;
    },
  };
}

/** Waits (bounded) until the API's /readyz answers 200. */
export async function waitForReady(apiUrl: string, timeoutMs = 120_000): Promise<void> {
  await waitUntilReady(
    `${apiUrl}/readyz`,
    async () => {
      const response = await fetch(`${apiUrl}/readyz`);
      const body = await response.text();
      if (response.status !== 200) throw new Error(`answered ${response.status}: ${body}`);
    },
    { timeoutMs },
  );
}

export interface ApiClient {
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function apiClient(apiUrl: string, token: string): ApiClient {
  return {
    async call(method, route, body) {
      const response = await fetch(apiUrl + route, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

/** Registers the stand-in as the custom API-key integration `key` (keys sent as `Authorization: Bearer`). */
export async function registerStandIn(api: ApiClient, standIn: StandInApi, key = 'stand-in'): Promise<void> {
  const registered = await api.call('POST', '/v1/integrations', {
    key,
    displayName: 'Stand-in',
    authType: 'api_key',
    apiBaseUrl: standIn.baseUrl,
    injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
    verification: { method: 'GET', path: '/v1/me' },
  });
  if (registered.status !== 201) {
    throw new Error(`registering ${key} answered ${registered.status}: ${JSON.stringify(registered.body)}`);
  }
}

/** Creates a workspace API-key connection through the API; its id once it is active. */
export async function connectApiKey(
  api: ApiClient,
  apiKey: string,
  integration = 'stand-in',
): Promise<string> {
  const created = await api.call('POST', '/v1/connections', { integration, scope: 'workspace', apiKey });
  if (created.status !== 201 || created.body.connection?.status !== 'active') {
    throw new Error(`creating a connection answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  return created.body.connection.id;
}

/** The live processes of a process group (a service started by spawnService leads its own). */
export function processGroup(pgid: number): Array<{ pid: number; args: string }> {
  return execSync(`ps -eo pid=,pgid=,stat=,args= | awk '$2 == ${pgid} && $3 !~ /^Z/'`)
    .toString()
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [pid, , , ...args] = line.trim().split(/\s+/);
      return { pid: Number(pid), args: args.join(' ') };
    });
}
