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

export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

export async function checkDatabase(db: Knex): Promise<void> {
  await db.raw('select 1');
}
