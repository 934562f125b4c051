// The Postgres read model and credential store, through knex. `Db` is a Knex or a transaction, so a store
// works inside or outside one.
import knex, { type Knex } from 'knex';
import { migrationSource } from '../migrations/index.js';

export type Db = Knex | Knex.Transaction;

export function connectDatabase(url: string, options: { pool?: { min: number; max: number } } = {}): Knex {
  return knex({
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
