// The codec server as operators use it from the Temporal CLI, as the README says: `temporal workflow show
// --codec-endpoint <api>/codec --codec-auth "Bearer $(npm run -s token -- --operator)"` shows the decrypted
// input, result and failure message of a workflow run with the codec; without the token, or with a
// workspace admin's, the CLI gets nothing decrypted.
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import express from 'express';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadJwtSecret, mintToken } from '../../api/auth.js';
import { codecServerRoutes } from '../../api/codec-server.js';
import { createOperatorVerifier, loadOperatorSecret } from '../../api/operator-auth.js';
import { loadConfig } from '../../config/config.js';
import { errorHandler, notFound } from '../../api/errors.js';
import { createLogger } from '../../logging/logger.js';
import { goTool, projectRoot } from '../../platform/process.js';
import { codecKeyId } from '../../temporal/codec-key.js';
import { clientDataConverter, workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { bundlerOptions, installTemporalRuntime } from '../../worker/create-worker.js';
import type { CodecFixtureActivities } from '../fixtures/codec-workflows.js';
import { testEnv } from '../support/env.js';
import { listen } from '../support/http.js';

describe('codec server with the Temporal CLI', () => {
  const secrets = {
    apiKey: `sk_live_${randomBytes(12).toString('hex')}`,
    accessToken: `ya29.${randomBytes(12).toString('hex')}`,
    refreshToken: `1//0g${randomBytes(12).toString('hex')}`,
  };
  const ids = { returns: `cli-returns-${randomUUID()}`, fails: `cli-fails-${randomUUID()}` };
  let server: Awaited<ReturnType<typeof listen>>;
  let operatorToken: string;
  let adminToken: string;
  let cli: string;

  beforeAll(async () => {
    installTemporalRuntime(createLogger('silent'));
    const key = randomBytes(32);
    const codec = new AesGcmPayloadCodec({ id: codecKeyId(key), key });
    const connection = await Connection.connect({ address: testEnv.temporalAddress });
    const workerConnection = await NativeConnection.connect({ address: testEnv.temporalAddress });
    try {
      const client = new Client({ connection, dataConverter: clientDataConverter(codec) });
      const taskQueue = `codec-cli-${randomUUID()}`;
      const activities: CodecFixtureActivities = {
        exchangeApiKey: async () => secrets.accessToken,
        refreshAtProvider: async () => {
          throw ApplicationFailure.nonRetryable(
            `invalid_grant for ${secrets.refreshToken}`,
            'OAuthInvalidGrant',
          );
        },
      };
      const worker = await Worker.create({
        connection: workerConnection,
        taskQueue,
        workflowsPath: path.join(projectRoot, 'test/fixtures/codec-workflows.ts'),
        activities,
        bundlerOptions,
        dataConverter: workerDataConverter(codec),
      });
      await worker.runUntil(async () => {
        await client.workflow.execute('codecReturnsSecret', {
          taskQueue,
          workflowId: ids.returns,
          args: [secrets.apiKey],
        });
        await client.workflow
          .execute('codecFailsWithSecret', { taskQueue, workflowId: ids.fails })
          .catch(() => undefined);
      });
    } finally {
      await workerConnection.close();
      await connection.close();
    }

    // The service's data folder: the operator secret the API loads, and the one `npm run token` signs with.
    const config = loadConfig({ DATA_DIR: await mkdtemp(path.join(tmpdir(), 'codec-cli-')) });
    const minted = await promisify(execFile)('npm', ['run', '-s', 'token', '--', '--operator'], {
      cwd: projectRoot,
      env: { ...process.env, DATA_DIR: config.dataDir },
      timeout: 60_000,
    });
    operatorToken = minted.stdout.trim();
    adminToken = await mintToken(await loadJwtSecret(config.auth), {
      sub: 'ops',
      workspace: 'ws_1',
      role: 'admin',
    });
    const app = express();
    app.use(
      codecServerRoutes({
        codec,
        verifyOperator: createOperatorVerifier(await loadOperatorSecret(config.operator)),
        allowedOrigins: [],
      }),
    );
    app.use(notFound);
    app.use(errorHandler(createLogger('silent')));
    server = await listen(app);
    cli = await goTool('temporal');
  });
  afterAll(async () => {
    await server?.close();
  });

  const show = (workflowId: string, auth?: string) =>
    promisify(execFile)(
      cli,
      [
        'workflow',
        'show',
        '--address',
        testEnv.temporalAddress,
        '--workflow-id',
        workflowId,
        '--codec-endpoint',
        `${server.url}/codec`,
        ...(auth ? ['--codec-auth', auth] : []),
        '--output',
        'json',
      ],
      { timeout: 30_000 },
    );

  /** The CLI prints payloads in proto3 JSON: every string, and what it holds once read as base64. */
  const readable = (stdout: string) => {
    const pieces: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') pieces.push(value, Buffer.from(value, 'base64').toString('utf8'));
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(JSON.parse(stdout));
    return pieces.join('\n');
  };

  it('shows the decrypted input, result and failure message to an operator', async () => {
    const returned = readable((await show(ids.returns, `Bearer ${operatorToken}`)).stdout);
    expect(returned).toContain(secrets.apiKey);
    expect(returned).toContain(secrets.accessToken);
    expect(returned).not.toContain('binary/encrypted');

    const failed = readable((await show(ids.fails, `Bearer ${operatorToken}`)).stdout);
    expect(failed).toContain(`invalid_grant for ${secrets.refreshToken}`);
    expect(failed).not.toContain('binary/encrypted');
  });

  it("decrypts nothing without the token, or with a workspace admin's: the CLI gives up", async () => {
    for (const auth of [undefined, `Bearer ${adminToken}`]) {
      const outcome = await show(ids.returns, auth).then(
        ({ stdout }) => ({ failed: false, text: readable(stdout) }),
        (error: Error) => ({ failed: true, text: error.message }),
      );
      expect(outcome.failed).toBe(true);
      expect(outcome.text).not.toContain(secrets.apiKey);
      expect(outcome.text).not.toContain(secrets.accessToken);
    }
  });
});
