// Temporal UI for browser tests: Temporal's UI server (platform/temporal-ui.ts, as `npm start` runs it) over
// the test run's Temporal, its codec fetches going to an API harness's /codec with the browser's cookies.
// The harness must allow the UI's origin (startApiHarness's `temporalUiOrigin`), so the port comes first.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../platform/process.js';
import { startTemporalUi, type TemporalUi } from '../../platform/temporal-ui.js';
import { testEnv } from './env.js';

export interface TestTemporalUi {
  url: string;
  stop(): Promise<void>;
}

/** A port for the UI, and so its origin, before anything is started. */
export async function temporalUiOrigin(): Promise<{ port: number; origin: string }> {
  const port = await freePort();
  return { port, origin: `http://127.0.0.1:${port}` };
}

export async function startTestTemporalUi(options: {
  port: number;
  /** `<api>/codec` of the harness that allows this UI's origin. */
  codecEndpoint: string;
  namespace?: string;
}): Promise<TestTemporalUi> {
  const dir = await mkdtemp(path.join(tmpdir(), 'temporal-ui-'));
  let ui: TemporalUi;
  try {
    ui = await startTemporalUi({
      temporalAddress: testEnv.temporalAddress,
      port: options.port,
      namespace: options.namespace ?? 'default',
      codecEndpoint: options.codecEndpoint,
      dir,
      logFile: path.join(dir, 'temporal-ui.log'),
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: ui.url,
    async stop() {
      await ui.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
