// The production image's recipe, without Docker: `npm run build` into a temporary folder, production
// dependencies only (`npm ci --omit=dev`) in a copy holding package.json, package-lock.json and the build,
// then the compiled API and worker (`node dist/scripts/serve.js api|worker`, as the Dockerfile and
// docker-compose.yml run them) against the test run's Temporal, Postgres and KMS, with an environment
// that holds nothing of the development machine's. Both start, the API becomes ready, the worker runs the
// workflow of an API-key connection made through the API, and both exit cleanly on SIGTERM.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, projectRoot } from '../../platform/process.js';
import { WORKFLOW_BUNDLE } from '../../worker/create-worker.js';
import { createTestDatabase } from '../support/env.js';
import {
  connectApiKey,
  externalServiceEnv,
  registerStandIn,
  spawnService,
  startApiAndWorker,
  type ServiceProcess,
} from '../support/service-process.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const run = promisify(execFile);

describe('the production build', () => {
  let root: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let standIn: StandInApi;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'connections-build-'));
    database = await createTestDatabase();
    standIn = await startStandInApi();
  });
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop('SIGKILL')));
    await standIn?.stop();
    await database?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('installs without dev dependencies, and its compiled API and worker serve connections', async () => {
    await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/build.ts', '--out-dir', path.join(root, 'dist')],
      {
        cwd: projectRoot,
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    expect((await stat(path.join(root, 'dist', WORKFLOW_BUNDLE))).isFile()).toBe(true);
    expect((await stat(path.join(root, 'dist/temporal/failure-converter.cjs'))).isFile()).toBe(true);
    // The bundler's entry point goes: a worker that bundled at start instead of loading the prebuilt bundle
    // would fail without it.
    await rm(path.join(root, 'dist/workflows/index.js'));
    for (const file of ['package.json', 'package-lock.json']) {
      await copyFile(path.join(projectRoot, file), path.join(root, file));
    }
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    // Dev dependencies really are absent, so a runtime import of one fails below.
    await expect(stat(path.join(root, 'node_modules/jest'))).rejects.toThrow();
    await expect(stat(path.join(root, 'node_modules/typescript'))).rejects.toThrow();

    const port = await freePort();
    const jwtSecret = randomBytes(32).toString('base64url');
    const env: NodeJS.ProcessEnv = {
      ...externalServiceEnv({
        port,
        dataDir: path.join(root, 'data'),
        databaseUrl: database.url,
        jwtSecret,
        taskQueuePrefix: 'production-build',
      }),
      NODE_ENV: 'production',
    };
    const { api, worker, client } = await startApiAndWorker(
      (part) => {
        const service = spawnService(['dist/scripts/serve.js', part], { cwd: root, env });
        services.push(service);
        return service;
      },
      { port, jwtSecret, workspace: 'ws-build' },
    );
    await registerStandIn(client, standIn);
    standIn.validKeys.add('key-build-1');
    const id = await connectApiKey(client, 'key-build-1');
    expect(standIn.requests).toContainEqual(
      expect.objectContaining({ path: '/v1/me', authorization: 'Bearer key-build-1' }),
    );
    expect(await client.call('POST', `/v1/connections/${id}/token`)).toEqual({
      status: 200,
      body: { apiKey: 'key-build-1', apiBaseUrl: standIn.baseUrl },
    });

    expect(await api.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(api.output() + worker.output()).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/);
  }, 300_000);
});
