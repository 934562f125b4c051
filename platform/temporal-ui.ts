// Temporal's own UI server (github.com/temporalio/ui-server, the UI the CLI embeds) as a child process, for
// the embedded default and the tests. The CLI's built-in UI cannot be told to send credentials to the codec
// server; this one can (`codec.includeCredentials`), so the browser's operator session cookie reaches the
// codec endpoint and operators read payloads decoded. Its configuration is a file it reads at start.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { goTool, startProcess, waitUntilReady, type ManagedProcess } from './process.js';

export interface TemporalUiOptions {
  /** The Temporal frontend's gRPC address, host:port. */
  temporalAddress: string;
  port: number;
  namespace: string;
  /** The codec server's URL (`<api>/codec`); the UI's fetches to it carry the browser's cookies. */
  codecEndpoint: string;
  /** Where its configuration is written (`<dir>/config/development.yaml`). */
  dir: string;
  logFile: string;
}

export interface TemporalUi {
  url: string;
  process: ManagedProcess;
  /** Settles when the UI server ends, with its exit code or signal. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export async function startTemporalUi(options: TemporalUiOptions): Promise<TemporalUi> {
  const server = await goTool('temporal-ui');
  const url = `http://127.0.0.1:${options.port}`;
  const config = {
    temporalGrpcAddress: options.temporalAddress,
    host: '127.0.0.1',
    port: options.port,
    enableUi: true,
    defaultNamespace: options.namespace,
    // Its own CSRF cookie would otherwise be Secure, which a browser drops on plain http.
    cors: { cookieInsecure: url.startsWith('http:') },
    notifyOnNewVersion: false,
    codec: { endpoint: options.codecEndpoint, includeCredentials: true },
  };
  await mkdir(path.join(options.dir, 'config'), { recursive: true });
  // JSON is YAML, and needs no escaping rules of its own.
  await writeFile(path.join(options.dir, 'config/development.yaml'), `${JSON.stringify(config, null, 2)}\n`);
  const child = startProcess(
    'temporal-ui',
    server,
    ['--root', options.dir, '--env', 'development', 'start'],
    { logFile: options.logFile },
  );
  try {
    await waitUntilReady(
      'Temporal UI',
      async () => {
        const response = await fetch(`${url}/api/v1/settings`, { signal: AbortSignal.timeout(2000) });
        if (!response.ok) throw new Error(`/api/v1/settings answered ${response.status}`);
        await response.body?.cancel();
      },
      { process: child, logFile: options.logFile },
    );
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { url, process: child, exited: child.exit, stop: () => child.stop() };
}
