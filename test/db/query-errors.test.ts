// A failing query's error, as the service logs it, carries none of the query's values: not knex's message
// (which by default inlines every binding), not pg's `detail` (the failing row), not a data exception's
// quoted input. Real Postgres, the service's own database setup and logger.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrateToLatest } from '../../db/database.js';
import { createLogger } from '../../logging/logger.js';
import { CredentialVault, type SealedCredential } from '../../vault/index.js';
import { LocalKeyProvider } from '../../vault/key-provider.js';
import { createTestDatabase } from '../support/env.js';

describe('database errors in logs', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Knex;
  let envelope: SealedCredential;
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => lines.push(line) });

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.db;
    await migrateToLatest(db);
    const keyFile = path.join(await mkdtemp(path.join(tmpdir(), 'query-errors-')), 'local.key');
    const vault = new CredentialVault(await LocalKeyProvider.open(keyFile));
    envelope = await vault.seal(
      { workspace: 'ws_1', connection: randomUUID(), purpose: 'api_key' },
      `sk_${randomBytes(16).toString('hex')}`,
    );
  });
  afterAll(async () => database?.drop());

  /** The envelope's pieces (by name, never by value) that appear in the text. */
  const piecesIn = (text: string) =>
    (['wrappedKey', 'iv', 'tag', 'ciphertext'] as const).filter((field) => text.includes(envelope[field]));

  async function failure(query: Promise<unknown>): Promise<Error> {
    const error = await query.then(
      () => undefined,
      (caught: Error) => caught,
    );
    if (!error) throw new Error('the query was expected to fail');
    return error;
  }

  it('logs a failed insert of a sealed envelope without any part of it', async () => {
    // Neither a connection nor an integration: the check constraint refuses the row, and pg's detail would
    // quote all of it ("Failing row contains (…)").
    const error = await failure(
      db('credentials').insert({ id: randomUUID(), workspace_id: 'ws_1', purpose: 'api_key', envelope }),
    );
    expect((error as { code?: string }).code).toBe('23514');
    logger.error({ err: error }, 'storing the credential failed');

    const line = lines.at(-1)!;
    expect(line).toContain('storing the credential failed');
    expect(line).toContain('credential_belongs_to_one_owner');
    expect(piecesIn(line)).toEqual([]);
    expect(piecesIn(`${error.message}\n${error.stack}\n${JSON.stringify(error)}`)).toEqual([]);
  });

  it("logs a data exception without the value pg quotes in its message, keeping knex's SQL", async () => {
    const refused = `not-a-uuid-${randomBytes(12).toString('hex')}`;
    const error = await failure(db('connections').where({ id: refused }).first());
    logger.error({ err: error }, 'lookup failed');
    const line = lines.at(-1)!;
    expect(line).toContain('invalid input syntax for type uuid');
    expect(line).toContain('from \\"connections\\"');
    expect(line).not.toContain(refused);
  });

  it('finds the envelope where it is (positive control)', () => {
    logger.warn({ note: envelope.ciphertext, also: envelope.wrappedKey }, 'control');
    expect(piecesIn(lines.at(-1)!)).toEqual(['wrappedKey', 'ciphertext']);
  });
});
