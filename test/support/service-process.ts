// The service as its users run it, as a separate process (`npm start`, or the compiled
// `node dist/scripts/serve.js api|worker`), in a process group of its own so that a test can find every
// process it started; and the API calls those tests make against it, as a client would.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mintToken } from '../../api/auth.js';
import { waitUntilReady } from '../../platform/process.js';
import { testEnv } from './env.js';
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

/**
 * The environment of an API and a worker (`serve.js api|worker`) against the test run's Temporal, Postgres
 * and KMS, with fresh secrets, a task queue of their own (so that no other test file's worker takes their
 * tasks) and nothing of the development machine's.
 */
export function externalServiceEnv(options: {
  port: number;
  dataDir: string;
  databaseUrl: string;
  jwtSecret: string;
  taskQueuePrefix: string;
}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PORT: String(options.port),
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'info',
    DATABASE_URL: options.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: `${options.taskQueuePrefix}-${randomBytes(4).toString('hex')}`,
    TEMPORAL_CODEC_KEY: randomBytes(32).toString('base64'),
    KMS_KEY_ID: testEnv.kmsKeyId,
    KMS_ENDPOINT: testEnv.kmsEndpoint,
    AWS_REGION: 'eu-west-2',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AUTH_JWT_SECRET: options.jwtSecret,
    OPERATOR_JWT_SECRET: randomBytes(32).toString('base64url'),
    ALLOW_INSECURE_PROVIDER_URLS: 'true',
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

/**
 * Starts a worker and an API with `spawn(part)` (which also keeps them for the caller to stop), waits until
 * both have started and the API is ready, and answers with an admin's client for `workspace`.
 */
export async function startApiAndWorker(
  spawn: (part: 'api' | 'worker') => ServiceProcess,
  options: { port: number; jwtSecret: string; workspace: string },
): Promise<{ api: ServiceProcess; worker: ServiceProcess; client: ApiClient }> {
  const worker = spawn('worker');
  const api = spawn('api');
  await Promise.all([worker.waitForOutput(/worker started/), api.waitForOutput(/api started/)]);
  const apiUrl = `http://127.0.0.1:${options.port}`;
  await waitForReady(apiUrl);
  const token = await mintToken(new TextEncoder().encode(options.jwtSecret), {
    sub: 'admin-1',
    workspace: options.workspace,
    role: 'admin',
  });
  return { api, worker, client: apiClient(apiUrl, token) };
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
