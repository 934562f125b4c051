// `npm start` as a newcomer runs it: everything embedded in a data folder, on free ports. The API becomes
// ready, the Temporal UI answers, Ctrl-C (SIGINT) stops every process it started, and a workflow started
// before a restart is still listed after it; the printed console and operator links sign in, and the UI's
// codec requests (the API's /codec, with cookies) decode for the operator's session, not the admin's.
import { Client, Connection } from '@temporalio/client';
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, projectRoot } from '../platform/process.js';
import { CookieJar, signInWith } from './support/console.js';

interface Started {
  child: ChildProcess;
  output: () => string;
}

async function npmStart(env: Record<string, string>): Promise<Started> {
  // `detached` gives the service its own process group, so the test can find everything it started.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('Press Ctrl-C to stop.')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm start exited early:\n${output}`));
      }
    }, 100);
  });
  return { child, output: () => output };
}

async function stop({ child }: Started): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

/** What is left of a process group once it has had (bounded) time to exit: '' when nothing is. */
async function leftoversOf(pgid: number): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const left = execSync(`ps -eo pid=,pgid=,stat=,args= | awk '$2 == ${pgid} && $3 !~ /^Z/'`)
      .toString()
      .trim();
    if (left === '') return '';
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return execSync(`ps -eo pid=,pgid=,stat=,args= | awk '$2 == ${pgid}'`).toString().trim();
}

describe('npm start', () => {
  let dataDir: string;
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the whole service on embedded defaults, stops cleanly, and keeps its data across a restart', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'connections-start-'));
    await chmod(dataDir, 0o755);
    const [apiPort, temporalPort, uiPort, postgresPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(apiPort),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      EMBEDDED_POSTGRES_PORT: String(postgresPort),
    };

    const first = await npmStart(env);
    expect(first.output()).toContain(`API:          http://127.0.0.1:${apiPort}`);
    expect(first.output()).toContain(`Temporal UI:  http://127.0.0.1:${uiPort}`);
    expect(first.output()).toMatch(/Admin token for workspace "default".*\n {2}eyJ/);
    expect(first.output()).toMatch(/created a local master key: for development only/);

    // The printed console link signs the admin of workspace "default" in, once; the operator's, an operator.
    const consoleLink = /Console: .*\n {2}(\S+)/.exec(first.output())?.[1];
    expect(consoleLink).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${apiPort}/console/sign-in\\?token=eyJ`));
    const jar = new CookieJar();
    expect((await signInWith(jar, consoleLink!)).headers.get('location')).toBe('/console/integrations');
    const landing = await fetch(`http://127.0.0.1:${apiPort}/console`, {
      redirect: 'manual',
      headers: jar.header(),
    });
    expect(landing.status).toBe(303);
    expect((await fetch(consoleLink!)).status).toBe(410);
    const operatorLink = /Operator sign-in link.*\n {2}(\S+)/.exec(first.output())?.[1];
    const operator = new CookieJar();
    expect((await signInWith(operator, operatorLink!)).headers.get('location')).toBe('/console/operator');

    const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
    // Its codec requests go to the API with the browser's cookies (an operator's console session).
    const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as {
      Codec: { Endpoint: string; IncludeCredentials: boolean };
    };
    expect(settings.Codec).toMatchObject({
      Endpoint: `http://127.0.0.1:${apiPort}/codec`,
      IncludeCredentials: true,
    });
    // And the codec server takes the operator's session from the UI's origin, never the admin's.
    const decode = (cookies: CookieJar) =>
      fetch(settings.Codec.Endpoint + '/decode', {
        method: 'POST',
        headers: {
          ...cookies.header(),
          origin: `http://127.0.0.1:${uiPort}`,
          'content-type': 'application/json',
        },
        body: '{"payloads":[]}',
      }).then((answer) => answer.status);
    expect(await decode(operator)).toBe(200);
    expect(await decode(jar)).toBe(401);

    // A workflow on a queue nobody serves stays open: it must still be there after the restart.
    const workflowId = `restart-probe-${Date.now()}`;
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    await new Client({ connection }).workflow.start('restartProbe', {
      taskQueue: 'restart-probe',
      workflowId,
    });
    await connection.close();

    expect(await stop(first)).toBe(0);
    expect(await leftoversOf(first.child.pid!)).toBe('');

    const second = await npmStart(env);
    try {
      expect(second.output()).not.toMatch(/created a local master key/);
      expect((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status).toBe(200);
      const again = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
      const description = await new Client({ connection: again }).workflow.getHandle(workflowId).describe();
      await again.close();
      expect(description.status.name).toBe('RUNNING');
    } finally {
      expect(await stop(second)).toBe(0);
    }
    expect(await leftoversOf(second.child.pid!)).toBe('');
  }, 240_000);
});
