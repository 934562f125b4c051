// The Postgres read model and credential store, through knex. `Db` is a Knex or a transaction, so a store
// works inside or outside one. A query's error never carries the query's values (sealed envelopes, hashes,
// whatever was bound): neither knex's message nor pg's fields.
import knex, { type Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import { migrationSource } from '../migrations/index.js';

export type Db = Knex | Knex.Transaction;

export function connectDatabase(
  url: string,
  options: { pool?: { min: number; max: number }; logger?: Logger } = {},
): Knex {
  // knex's own warnings go through the service's logger (and its redaction), or nowhere.
  const log = (level: 'warn' | 'error' | 'debug') => (message: unknown) =>
    options.logger?.[level]({ knex: String(message) });
  const db = knex({
    log: { warn: log('warn'), error: log('error'), debug: log('debug'), deprecate: log('warn') },
    client: 'pg',
    connection: url,
    pool: options.pool ?? { min: 0, max: 10 },
    migrations: { migrationSource, tableName: 'knex_migrations' },
    // knex would otherwise put the SQL with every binding filled in at the head of the error's message.
    compileSqlOnError: false,
  });
  // Emitted before the error is thrown to the query's caller, so nobody sees it with values.
  db.on('query-error', withoutValues);
  return db;
}

/**
 * Takes out of a pg error what quotes the data: the failing row (`detail`), PL/pgSQL context (`where`,
 * `internalQuery`), and, for data exceptions (SQLSTATE class 22: the value refused is quoted in the message),
 * every quoted string of the message.
 */
function withoutValues(error: unknown, query?: { sql?: string }): void {
  if (typeof error !== 'object' || error === null) return;
  const fields = error as { code?: unknown; message?: unknown; stack?: unknown } & Record<string, unknown>;
  for (const field of ['detail', 'where', 'internalQuery']) delete fields[field];
  if (typeof fields.code === 'string' && fields.code.startsWith('22') && typeof fields.message === 'string') {
    // knex's head (the SQL, with placeholders) names tables and columns in quotes too: those stay.
    const head = query?.sql && fields.message.startsWith(`${query.sql} - `) ? `${query.sql} - ` : '';
    const original = fields.message.slice(head.length);
    const cleaned = original.replace(/"(?:[^"]|"")*"/g, '"[value]"');
    fields.message = head + cleaned;
    // The stack was written with pg's own message.
    if (typeof fields.stack === 'string') fields.stack = fields.stack.split(original).join(cleaned);
  }
}

/** The advisory lock that serialises migrations between processes; any number no other lock uses. */
const MIGRATION_LOCK = 20261126;

/**
 * Applies pending migrations; safe when several processes start at once (the API and the worker). knex's own
 * lock is a row in tables it creates on first use, so processes meeting a fresh database race to create
 * those: a Postgres advisory lock, held by a transaction while the migrations run on other connections of
 * the pool, makes the others wait (a minute at most) and then find nothing left to do.
 */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  return db.transaction(async (lock) => {
    await lock.raw("set local lock_timeout = '60s'");
    await lock.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    const [, applied] = (await db.migrate.latest()) as [number, string[]];
    return applied;
  });
}

export async function checkDatabase(db: Knex): Promise<void> {
  await db.raw('select 1');
}
