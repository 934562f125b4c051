// /healthz and /readyz against the real dependencies, and against each one made unreachable (a closed
// loopback port), which is how an operator sees an outage.
import { Client, Connection } from '@temporalio/client';
/* eslint-disable @typescript-eslint/no-explicit-any */
import type { Knex } from 'knex';
import { operationsApp } from '../support/api.js';
import { connectDatabase } from '../../db/database.js';
import { createLogger } from '../../logging/logger.js';
import { freePort } from '../../platform/process.js';
import type { KeyProvider } from '../../vault/key-provider.js';
import { createTestDatabase, testEnv, testKeyProvider } from '../support/env.js';
import { listen } from '../support/http.js';

const logger = createLogger('silent');
const kms = (endpoint: string): KeyProvider => testKeyProvider({ endpoint, maxAttempts: 1 });

describe('health routes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temporal: Client;
  let deadTemporal: Client;
  let deadDb: Knex;
  let deadKmsEndpoint: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    temporal = new Client({ connection: await Connection.connect({ address: testEnv.temporalAddress }) });
    // No retry interceptor: its retries would outlive the test and the connection it closes.
    deadTemporal = new Client({
      connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [] }),
    });
    deadDb = connectDatabase(
      `postgres://postgres:hunter2-not-real@127.0.0.1:${await freePort()}/connections`,
    );
    deadKmsEndpoint = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    await database.drop();
    await deadDb.destroy();
    await temporal.connection.close();
    await deadTemporal.connection.close();
  });

  async function get(deps: Parameters<typeof operationsApp>[0], path: string) {
    const server = await listen(operationsApp(deps));
    try {
      const response = await fetch(server.url + path);
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    } finally {
      await server.close();
    }
  }

  it('/healthz answers while the process lives, even with every dependency down', async () => {
    const { status, body } = await get(
      { db: deadDb, temporal: deadTemporal, keys: kms(deadKmsEndpoint), logger },
      '/healthz',
    );
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when temporal, the database and KMS are all up', async () => {
    const { status, body } = await get(
      { db: database.db, temporal, keys: kms(testEnv.kmsEndpoint), logger },
      '/readyz',
    );
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'ready',
      checks: {
        temporal: { status: 'up' },
        database: { status: 'up' },
        kms: { status: 'up', provider: 'aws-kms' },
      },
    });
  });

  it.each(['temporal', 'database', 'kms'] as const)(
    '/readyz answers 503 naming %s while it is down',
    async (down) => {
      const { status, body } = await get(
        {
          db: down === 'database' ? deadDb : database.db,
          temporal: down === 'temporal' ? deadTemporal : temporal,
          keys: kms(down === 'kms' ? deadKmsEndpoint : testEnv.kmsEndpoint),
          logger,
        },
        '/readyz',
      );
      expect(status).toBe(503);
      expect(body.status).toBe('unavailable');
      for (const name of ['temporal', 'database', 'kms']) {
        expect(body.checks[name].status).toBe(name === down ? 'down' : 'up');
      }
      expect(JSON.stringify(body)).not.toContain('hunter2-not-real');
    },
  );

  it('answers unknown routes with the error shape', async () => {
    const { status, body } = await get(
      { db: database.db, temporal, keys: kms(testEnv.kmsEndpoint), logger },
      '/nope',
    );
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'not_found', message: 'no route GET /nope' } });
  });
});
