// What the global setup started, for the tests, plus a fresh database per test file so files never share
// rows or migration state.
import { randomBytes } from 'node:crypto';
import knex, { type Knex } from 'knex';
import { connectDatabase } from '../../db/database.js';
import { AwsKmsKeyProvider } from '../../vault/key-provider.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests with npm test (jest's global setup sets it)`);
  return value;
}

export const testEnv = {
  get temporalAddress() {
    return required('TEST_TEMPORAL_ADDRESS');
  },
  get databaseUrl() {
    return required('TEST_DATABASE_URL');
  },
  get kmsEndpoint() {
    return required('TEST_KMS_ENDPOINT');
  },
  get kmsKeyId() {
    return required('TEST_KMS_KEY_ID');
  },
};

export async function createTestDatabase(): Promise<{ db: Knex; url: string; drop(): Promise<void> }> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: testEnv.databaseUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  const db = connectDatabase(url.toString());
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.destroy();
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}

/** The AWS KMS key provider pointed at the test run's KMS-API server (local-kms on loopback). */
export function testKeyProvider(
  options: { endpoint?: string; maxAttempts?: number } = {},
): AwsKmsKeyProvider {
  return new AwsKmsKeyProvider(testEnv.kmsKeyId, {
    endpoint: options.endpoint ?? testEnv.kmsEndpoint,
    region: 'eu-west-2',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
}
