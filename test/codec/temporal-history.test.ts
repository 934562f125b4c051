// Against the real Temporal server: with the codec and the failure converter, no secret (workflow input,
// activity result, workflow result, activity and workflow error messages) is readable in the stored history,
// while a client holding the codec still gets the real result and the real failure. The same workflows run
// without them first, to prove the search below does find secrets when they are there.
import { Client, Connection, WorkflowFailedError, type WorkflowClient } from '@temporalio/client';
import { ApplicationFailure, type DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { createLogger } from '../../logging/logger.js';
import { projectRoot } from '../../platform/process.js';
import { codecKeyId } from '../../temporal/codec-key.js';
import { clientDataConverter, workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { bundlerOptions, installTemporalRuntime } from '../../worker/create-worker.js';
import type { CodecFixtureActivities } from '../fixtures/codec-workflows.js';
import { testEnv } from '../support/env.js';

const secret = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * Every string and every bytes field of a history, the bytes both as raw text and as base64: the history's
 * own JSON form already turns bytes into base64, which would hide a secret sitting in clear inside them.
 */
function historyText(history: unknown): string {
  const pieces: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') pieces.push(value);
    else if (value instanceof Uint8Array) {
      pieces.push(Buffer.from(value).toString('latin1'), Buffer.from(value).toString('base64'));
    } else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history);
  return [JSON.stringify(history), ...pieces].join('\n');
}

/** The secret itself, and its base64 at each of the three alignments it could have inside a larger blob. */
function spellings(value: string): string[] {
  const raw = Buffer.from(value);
  return [
    value,
    ...[0, 1, 2].map((skip) => {
      const aligned = raw.subarray(skip, skip + Math.floor((raw.length - skip) / 3) * 3);
      return aligned.toString('base64');
    }),
  ];
}

const containsAny = (text: string, value: string) => spellings(value).some((s) => text.includes(s));

describe('payload codec and failure converter on the real Temporal server', () => {
  let connection: Connection;
  let plainClient: Client;
  let codec: AesGcmPayloadCodec;
  let codecClient: Client;

  beforeAll(async () => {
    installTemporalRuntime(createLogger('silent'));
    connection = await Connection.connect({ address: testEnv.temporalAddress });
    plainClient = new Client({ connection });
    const key = randomBytes(32);
    codec = new AesGcmPayloadCodec({ id: codecKeyId(key), key });
    codecClient = new Client({ connection, dataConverter: clientDataConverter(codec) });
  });
  afterAll(async () => {
    await connection.close();
  });

  async function runFixtures(client: WorkflowClient, dataConverter?: DataConverter) {
    const secrets = {
      apiKey: secret('sk_live_'),
      accessToken: secret('ya29.'),
      refreshToken: secret('1//0g'),
    };
    const activities: CodecFixtureActivities = {
      async exchangeApiKey(apiKey) {
        return apiKey === secrets.apiKey ? secrets.accessToken : 'unexpected input';
      },
      async refreshAtProvider() {
        throw ApplicationFailure.nonRetryable(
          `invalid_grant for refresh token ${secrets.refreshToken}`,
          'OAuthInvalidGrant',
        );
      },
    };
    const taskQueue = `codec-${randomUUID()}`;
    const workerConnection = await NativeConnection.connect({ address: testEnv.temporalAddress });
    const ids = { returns: `codec-returns-${randomUUID()}`, fails: `codec-fails-${randomUUID()}` };
    try {
      const worker = await Worker.create({
        connection: workerConnection,
        namespace: 'default',
        taskQueue,
        workflowsPath: path.join(projectRoot, 'test/fixtures/codec-workflows.ts'),
        activities,
        bundlerOptions,
        dataConverter,
      });
      const outcome = await worker.runUntil(async () => {
        const result = await client.execute('codecReturnsSecret', {
          taskQueue,
          workflowId: ids.returns,
          args: [secrets.apiKey],
        });
        const failure = await client
          .execute('codecFailsWithSecret', { taskQueue, workflowId: ids.fails })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        return { result, failure };
      });
      const history = historyText([
        await plainClient.workflow.getHandle(ids.returns).fetchHistory(),
        await plainClient.workflow.getHandle(ids.fails).fetchHistory(),
      ]);
      return { secrets, ids, outcome, history };
    } finally {
      await workerConnection.close();
    }
  }

  it('without the codec, the secrets are in history (the search works)', async () => {
    const { secrets, history } = await runFixtures(plainClient.workflow);
    for (const value of Object.values(secrets)) expect(containsAny(history, value)).toBe(true);
  });

  it('with the codec, no secret is in history, and a client with the codec still reads everything', async () => {
    const { secrets, ids, outcome, history } = await runFixtures(
      codecClient.workflow,
      workerDataConverter(codec),
    );

    for (const [name, value] of Object.entries(secrets)) {
      expect({ name, inHistory: containsAny(history, value) }).toEqual({ name, inHistory: false });
    }
    expect(history).toContain('binary/encrypted');
    expect(history).toContain('Encoded failure');

    expect(outcome.result).toBe(secrets.accessToken);
    expect(outcome.failure).toBeInstanceOf(WorkflowFailedError);
    const workflowFailure = (outcome.failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(workflowFailure).toBeInstanceOf(ApplicationFailure);
    expect(workflowFailure.type).toBe('ProviderRefused');
    expect(workflowFailure.message).toBe(
      `gave up after the provider said: invalid_grant for refresh token ${secrets.refreshToken}`,
    );

    // A client without the codec cannot read either outcome: it meets an encoding it does not know.
    for (const id of [ids.returns, ids.fails]) {
      await expect(plainClient.workflow.getHandle(id).result()).rejects.toThrow(
        'Unknown encoding: binary/encrypted',
      );
    }
  });
});
