// `npm start` under faults, run as test/start.test.ts runs it (its own data folder, free ports), with KMS
// through a local-kms this test starts itself so that it can kill it too. One at a time, the Temporal dev
// server, the embedded Postgres server, the Temporal UI and local-kms are killed (SIGKILL) under the running
// service; after each the service becomes ready again on its own (npm start restarts its embedded parts on
// the same ports with their data; the API and worker reconnect), and a connection made before the faults
// still works: the token route answers its key, deactivate and activate complete, and a new connection can
// be made. And a part that cannot be restarted makes npm start stop everything and exit non-zero, saying why.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  freePort,
  goTool,
  projectRoot,
  waitUntilReady,
  type ManagedProcess,
} from '../../platform/process.js';
import {
  apiClient,
  connectApiKey,
  processGroup,
  registerStandIn,
  spawnService,
  waitForReady,
  type ApiClient,
  type ServiceProcess,
} from '../support/service-process.js';
import { eventually } from '../support/lifecycle.js';
import { startLocalKms, TEST_KMS_KEY_ID } from '../support/services.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

interface Started {
  service: ServiceProcess;
  apiUrl: string;
  api: ApiClient;
  dataDir: string;
}

async function npmStart(root: string, env: Record<string, string>): Promise<Started> {
  const dataDir = path.join(root, 'data');
  const [apiPort, temporalPort, uiPort, postgresPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const service = spawnService(['--import', 'tsx', 'scripts/start.ts'], {
    cwd: projectRoot,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(apiPort),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      EMBEDDED_POSTGRES_PORT: String(postgresPort),
      ALLOW_INSECURE_PROVIDER_URLS: 'true',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  await service.waitForOutput(/Press Ctrl-C to stop\./);
  const token = /Admin token for workspace "default".*\n {2}(\S+)/.exec(service.output())![1]!;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  return { service, apiUrl, api: apiClient(apiUrl, token), dataDir };
}

/** The pid of the one process of the group whose command line matches. */
function pidOf(service: ServiceProcess, pattern: RegExp): number {
  const found = processGroup(service.child.pid!).filter(({ args }) => pattern.test(args));
  if (found.length !== 1) throw new Error(`expected one ${pattern}, found ${JSON.stringify(found)}`);
  return found[0]!.pid;
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(path.join(dataDir, 'postgres/postmaster.pid'), 'utf8')).split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killed(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitUntilReady(`process ${pid} to end`, async () => {
    if (alive(pid)) throw new Error('still running');
  });
}

describe('npm start under faults', () => {
  let root: string;
  let standIn: StandInApi;
  let kms: ManagedProcess | undefined;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'connections-faults-'));
    // As root, Postgres runs as user `postgres`, which must be able to reach its folder inside this one.
    await chmod(root, 0o755);
    standIn = await startStandInApi();
  });
  afterAll(async () => {
    for (const service of started) {
      await service.stop('SIGINT');
      // Anything a service left behind would outlive the run: end it.
      for (const { pid } of processGroup(service.child.pid!)) process.kill(pid, 'SIGKILL');
    }
    await kms?.stop();
    await standIn?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('recovers from the death of its Temporal server, its Postgres and its KMS, keeping its connections', async () => {
    const kmsDir = path.join(root, 'kms');
    const kmsPort = await freePort();
    await mkdir(kmsDir, { recursive: true });
    kms = await startLocalKms({ port: kmsPort, dir: kmsDir });
    const { service, apiUrl, api, dataDir } = await npmStart(path.join(root, 'recovers'), {
      KMS_KEY_ID: TEST_KMS_KEY_ID,
      KMS_ENDPOINT: `http://127.0.0.1:${kmsPort}`,
      AWS_REGION: 'eu-west-2',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    started.push(service);
    await registerStandIn(api, standIn);
    standIn.validKeys.add('key-before');
    const id = await connectApiKey(api, 'key-before');

    let made = 0;
    const stillWorks = async () => {
      await waitForReady(apiUrl, 90_000);
      // Readiness is a probe at most two seconds old: until the restarted part really serves, the API
      // answers 503 service_unavailable (retry), never a 500.
      const first = await eventually(
        () => api.call('POST', `/v1/connections/${id}/token`),
        (answer) => answer.status !== 503,
        { attempts: 100, intervalMs: 200 },
      );
      expect(first.status).toBe(200);
      expect(await api.call('POST', `/v1/connections/${id}/token`)).toEqual({
        status: 200,
        body: { apiKey: 'key-before', apiBaseUrl: standIn.baseUrl },
      });
      const deactivated = await api.call('POST', `/v1/connections/${id}/deactivate`);
      expect([deactivated.status, deactivated.body.connection?.status]).toEqual([200, 'inactive']);
      const activated = await api.call('POST', `/v1/connections/${id}/activate`);
      expect([activated.status, activated.body.connection?.status]).toEqual([200, 'active']);
      // A new connection: the worker runs its workflow, KMS seals its key, Postgres stores it.
      const key = `key-after-${++made}`;
      standIn.validKeys.add(key);
      const another = await connectApiKey(api, key);
      expect(await api.call('POST', `/v1/connections/${another}/token`)).toEqual({
        status: 200,
        body: { apiKey: key, apiBaseUrl: standIn.baseUrl },
      });
    };

    const temporal = pidOf(service, /server start-dev/);
    await killed(temporal);
    await waitUntilReady('a new Temporal dev server', async () => {
      if (pidOf(service, /server start-dev/) === temporal) throw new Error('not restarted yet');
    });
    await stillWorks();

    const postgres = await postmasterPid(dataDir);
    await killed(postgres);
    await waitUntilReady('a new Postgres server', async () => {
      const pid = await postmasterPid(dataDir);
      if (pid === postgres || !alive(pid)) throw new Error('not restarted yet');
    });
    await stillWorks();

    // The Temporal UI (Temporal's UI server) comes back on its port, with its codec configuration.
    const uiUrl = /Temporal UI: +(\S+)/.exec(service.output())![1]!;
    const ui = pidOf(service, /--env development start/);
    await killed(ui);
    const settings = await waitUntilReady('a new Temporal UI', async () => {
      if (pidOf(service, /--env development start/) === ui) throw new Error('not restarted yet');
      const answer = await fetch(`${uiUrl}/api/v1/settings`);
      if (!answer.ok) throw new Error(`answered ${answer.status}`);
      return (await answer.json()) as { Codec: { Endpoint: string; IncludeCredentials: boolean } };
    });
    expect(settings.Codec).toMatchObject({ Endpoint: `${apiUrl}/codec`, IncludeCredentials: true });

    await killed(kms.child.pid!);
    await kms.stop();
    // local-kms is not npm start's own part: it comes back as an external KMS would, on its port and data.
    kms = await startLocalKms({ port: kmsPort, dir: kmsDir });
    await stillWorks();

    expect(service.output()).toMatch(/the Temporal dev server ended \(SIGKILL\): restarting it/);
    expect(service.output()).toMatch(/the embedded Postgres ended \(SIGKILL\): restarting it/);
    expect(service.output()).toMatch(/the Temporal UI ended \(SIGKILL\): restarting it/);
    expect(await service.stop('SIGINT')).toBe(0);
    expect(processGroup(service.child.pid!)).toEqual([]);
  }, 300_000);

  it('stops everything and exits non-zero, saying why, when a part cannot be restarted', async () => {
    const marker = path.join(root, 'temporal-cannot-start');
    const wrapper = path.join(root, 'temporal-wrapper.sh');
    // Deliberate fault injection: once the marker exists, the Temporal CLI cannot start (exits 1), as with a
    // broken install or its port taken by another program; the real CLI cannot be told to fail on demand.
    await writeFile(
      wrapper,
      [
        '#!/usr/bin/env bash',
        `if [ -e '${marker}' ]; then echo 'injected fault: the Temporal CLI cannot start' >&2; exit 1; fi`,
        `exec '${await goTool('temporal')}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const { service } = await npmStart(path.join(root, 'gives-up'), { TEMPORAL_CLI: wrapper });
    started.push(service);

    await writeFile(marker, '');
    await killed(pidOf(service, /server start-dev/));
    expect(await service.waitForExit()).toBe(1);
    expect(service.output()).toMatch(
      /stopping the service: the Temporal dev server ended \(SIGKILL\) and could not be kept running: 5 attempts within 120 s spent; the last restart failed: Temporal dev server exited \(exit code 1\) before it was ready/,
    );
    await waitUntilReady('every process of npm start to end', async () => {
      const left = processGroup(service.child.pid!);
      if (left.length) throw new Error(`still running: ${JSON.stringify(left)}`);
    });
  }, 240_000);
});
