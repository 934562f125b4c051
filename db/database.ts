// The Postgres read model and credential store, through knex. `Db` is a Knex or a transaction, so a store
// works inside or outside one.
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
  return knex({
    log: { warn: log('warn'), error: log('error'), debug: log('debug'), deprecate: log('warn') },
    client: 'pg',
    connection: url,
    pool: options.pool ?? { min: 0, max: 10 },
    migrations: { migrationSource, tableName: 'knex_migrations' },
  });
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
