// The real parts a benchmark runs on, all on loopback: the Temporal dev server, Postgres and a KMS-API server
// (local-kms) started as the tests start them, a counter in front of KMS, and the service itself as the
// Docker image runs it: the production build (`npm run build`, made into the run's folder) started with
// `node --enable-source-maps dist/scripts/serve.js api|worker`, beside the baselines, compiled the same way.
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { bundlerOptions } from '../worker/create-worker.js';
import { BASELINE_WORKFLOW_BUNDLE } from './baseline/task-queue.js';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { mintToken, type Claims } from '../api/auth.js';
import { connectDatabase, migrateToLatest } from '../db/database.js';
import { freePort, projectRoot, startProcess, waitUntilReady } from '../platform/process.js';
import { codecKeyId } from '../temporal/codec-key.js';
import { clientDataConverter } from '../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../temporal/payload-codec.js';
import { startTestServices } from '../test/support/services.js';
import { CredentialVault } from '../vault/index.js';
import { AwsKmsKeyProvider } from '../vault/key-provider.js';

export interface KmsCounter {
  endpoint: string;
  /** KMS requests seen since the last reset, by operation (Decrypt, GenerateDataKey, …). */
  calls(): Record<string, number>;
  total(): number;
  reset(): void;
  stop(): Promise<void>;
}

/** A pass-through proxy in front of the KMS-API server that counts what the service asks of KMS. */
async function startKmsCounter(target: string): Promise<KmsCounter> {
  const counts: Record<string, number> = {};
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^TrentService\./, '');
    counts[operation] = (counts[operation] ?? 0) + 1;
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls: () => ({ ...counts }),
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    reset: () => {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface BenchProcess {
  name: string;
  pid: number;
  url?: string;
  logFile: string;
  /** Resident memory of the process now, in bytes (from /proc). */
  rss(): Promise<number>;
  /** CPU time the process has used so far, user and system, in seconds (from /proc). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** Node flags of this process on top of NODE_ARGS (e.g. `--inspect=127.0.0.1:0` to force collections). */
  nodeArgs?: string[];
}

export interface BenchStack {
  dir: string;
  temporalAddress: string;
  databaseUrl: string;
  db: Knex;
  /** The bench's own client, with the service's payload codec, so it can read connection workflows. */
  temporal: Client;
  /** The key of the service's payload codec (as TEMPORAL_CODEC_KEY), for reading or replaying its history. */
  codecKey: Buffer;
  kms: KmsCounter;
  /** A vault on the KMS server directly (not counted), for configuring integrations. */
  vault: CredentialVault;
  workspaceId: string;
  token(claims: Partial<Claims> & Pick<Claims, 'role'>): Promise<string>;
  /** The environment the service's processes get; `overrides` per scenario. */
  serviceEnv(overrides?: Record<string, string>): NodeJS.ProcessEnv;
  startApi(name: string, overrides?: Record<string, string>): Promise<BenchProcess>;
  startWorker(
    name: string,
    overrides?: Record<string, string>,
    launch?: LaunchOptions,
  ): Promise<BenchProcess>;
  /** A bench-only process (bench/baseline/*.ts) with the same Node settings as the service's. */
  startBaseline(
    name: string,
    script: string,
    env: Record<string, string>,
    readyLine: string,
    launch?: LaunchOptions,
  ): Promise<BenchProcess>;
  stop(): Promise<void>;
}

export const BENCH_NAMESPACE = 'default';
/** Node flags of every process a benchmark starts, the service's and the baselines' alike: the Dockerfile's. */
export const NODE_ARGS = ['--enable-source-maps'];

/**
 * The production build of the service (scripts/build.ts, as the Dockerfile runs it) and the baselines
 * compiled beside it with the same compiler options (bench/tsconfig.baseline.json), their workflows bundled
 * like the service's, into `outDir`.
 */
async function buildForBench(outDir: string): Promise<void> {
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      execFile(process.execPath, args, { cwd: projectRoot, maxBuffer: 16 * 2 ** 20 }, (error, _out, err) =>
        error ? reject(new Error(`${args.join(' ')} failed: ${err || error.message}`)) : resolve(),
      );
    });
  await run(['--import', 'tsx', 'scripts/build.ts', '--out-dir', outDir]);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run([tsc, '-p', 'bench/tsconfig.baseline.json', '--outDir', outDir]);
  // Bundled once, as the service's workflows are by the build: both workers start from a prebuilt bundle.
  const baseline = path.join(outDir, 'bench/baseline');
  const { code } = await bundleWorkflowCode({
    logger: new DefaultLogger('WARN'),
    workflowsPath: path.join(baseline, 'workflows.js'),
    ...bundlerOptions,
  });
  await writeFile(path.join(baseline, BASELINE_WORKFLOW_BUNDLE), code);
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: the fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15, the 12th and 13th after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function waitForLine(file: string, line: string, process: { exit: Promise<string> }) {
  await waitUntilReady(
    file,
    async () => {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (!text.includes(line)) throw new Error(`no "${line}" yet`);
    },
    { timeoutMs: 180_000, process: process as never, logFile: file },
  );
}

export async function startBenchStack(options: { profileDir?: string } = {}): Promise<BenchStack> {
  // Temporal's own defaults: no lowered continue-as-new suggestion, unlike the tests.
  const services = await startTestServices({ dynamicConfig: {} });
  const env = services.env;
  const dir = env.TEST_SERVICES_DIR!;
  // Inside the project, as dist/ is in the image: its imports resolve to the project's node_modules.
  const build = path.join(projectRoot, '.data', `bench-build-${process.pid}`);
  const stops: Array<() => Promise<unknown>> = [() => services.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const admin = connectDatabase(env.TEST_DATABASE_URL!, { pool: { min: 0, max: 1 } });
    await admin.raw('create database bench');
    await admin.destroy();
    const url = new URL(env.TEST_DATABASE_URL!);
    url.pathname = '/bench';
    const databaseUrl = url.toString();
    const db = connectDatabase(databaseUrl, { pool: { min: 0, max: 20 } });
    stops.push(() => db.destroy());
    await migrateToLatest(db);
    stops.push(() => rm(build, { recursive: true, force: true }));
    await buildForBench(build);

    const kms = await startKmsCounter(env.TEST_KMS_ENDPOINT!);
    stops.push(() => kms.stop());
    const awsEnv = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'eu-west-2' };
    const vault = new CredentialVault(
      new AwsKmsKeyProvider(env.TEST_KMS_KEY_ID!, {
        endpoint: env.TEST_KMS_ENDPOINT!,
        region: awsEnv.AWS_REGION,
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      }),
    );

    const codecKey = randomBytes(32);
    const jwtSecret = randomBytes(32).toString('base64url');
    const connection = await Connection.connect({ address: env.TEST_TEMPORAL_ADDRESS! });
    stops.push(() => connection.close());
    const temporal = new Client({
      connection,
      namespace: BENCH_NAMESPACE,
      dataConverter: clientDataConverter(new AesGcmPayloadCodec({ id: codecKeyId(codecKey), key: codecKey })),
    });
    const workspaceId = 'ws-bench';

    const serviceEnv = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATA_DIR: path.join(dir, 'service'),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: BENCH_NAMESPACE,
      TEMPORAL_CODEC_KEY: codecKey.toString('base64'),
      KMS_KEY_ID: env.TEST_KMS_KEY_ID,
      KMS_ENDPOINT: kms.endpoint,
      ...awsEnv,
      AUTH_JWT_SECRET: jwtSecret,
      OPERATOR_JWT_SECRET: randomBytes(32).toString('base64url'),
      ALLOW_INSECURE_PROVIDER_URLS: 'true',
      RATE_LIMIT_CONNECT_PER_MINUTE: '1000000',
      RATE_LIMIT_CALLBACK_PER_MINUTE: '1000000',
      RATE_LIMIT_REFRESH_PER_MINUTE: '1000000',
      RATE_LIMIT_CHANGE_PER_MINUTE: '1000000',
      RATE_LIMIT_PROXY_PER_MINUTE: '1000000',
      ...overrides,
    });

    const launched = new Set<BenchProcess>();
    stops.push(async () => {
      for (const child of launched) await child.stop();
    });

    const launch = (
      name: string,
      script: string,
      args: string[],
      childEnv: NodeJS.ProcessEnv,
      nodeArgs: string[] = [],
    ) => {
      const logFile = path.join(dir, 'logs', `${name}.log`);
      // `npm run bench -- --profile DIR`: every process writes a V8 CPU profile there when it stops.
      const profile = options.profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.profileDir, name)}`]
        : [];
      const managed = startProcess(
        name,
        process.execPath,
        [...NODE_ARGS, ...nodeArgs, ...profile, script, ...args],
        {
          logFile,
          env: childEnv,
        },
      );
      const child: BenchProcess = {
        name,
        pid: managed.child.pid!,
        logFile,
        rss: () => rssOf(managed.child.pid!),
        cpuSeconds: () => cpuSecondsOf(managed.child.pid!),
        async stop() {
          launched.delete(child);
          await managed.stop();
        },
      };
      launched.add(child);
      return { child, managed };
    };

    const serve = path.join(build, 'scripts/serve.js');
    const bench: BenchStack = {
      dir,
      temporalAddress: env.TEST_TEMPORAL_ADDRESS!,
      databaseUrl,
      db,
      temporal,
      codecKey,
      kms,
      vault,
      workspaceId,
      token: (claims) =>
        mintToken(new TextEncoder().encode(jwtSecret), {
          sub: `${claims.role}-1`,
          workspace: workspaceId,
          ...claims,
        } as Claims),
      serviceEnv,
      async startApi(name, overrides = {}) {
        const port = await freePort();
        const { child, managed } = launch(
          name,
          serve,
          ['api'],
          serviceEnv({ HOST: '127.0.0.1', PORT: String(port), ...overrides }),
        );
        child.url = `http://127.0.0.1:${port}`;
        try {
          await waitUntilReady(
            name,
            async () => {
              const answer = await fetch(`${child.url}/readyz`);
              if (answer.status !== 200) throw new Error(`readyz ${answer.status}`);
            },
            { timeoutMs: 120_000, process: managed, logFile: child.logFile },
          );
        } catch (error) {
          await child.stop();
          throw error;
        }
        return child;
      },
      async startWorker(name, overrides = {}, options = {}) {
        const { child, managed } = launch(name, serve, ['worker'], serviceEnv(overrides), options.nodeArgs);
        try {
          await waitForLine(child.logFile, 'worker polling', managed);
        } catch (error) {
          await child.stop();
          throw error;
        }
        return child;
      },
      async startBaseline(name, script, childEnv, readyLine, options = {}) {
        const { child, managed } = launch(
          name,
          path.join(build, 'bench/baseline', script.replace(/\.ts$/, '.js')),
          [],
          {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NODE_ENV: 'production',
            DATABASE_URL: databaseUrl,
            TEMPORAL_ADDRESS: env.TEST_TEMPORAL_ADDRESS,
            TEMPORAL_NAMESPACE: BENCH_NAMESPACE,
            ...childEnv,
          },
          options.nodeArgs,
        );
        try {
          await waitForLine(child.logFile, readyLine, managed);
        } catch (error) {
          await child.stop();
          throw error;
        }
        return child;
      },
      stop,
    };
    return bench;
  } catch (error) {
    await stop();
    throw error;
  }
}
