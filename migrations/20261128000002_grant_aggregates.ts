// Credential grants as aggregates: the API gathers the grants of one caller, task and connection in memory
// and writes one row per flush (GRANT_FLUSH_SECONDS) holding how many there were, the first (granted_at,
// as before) and the last. A connection's last use is read from its latest last_granted_at (this index),
// so the read path no longer writes the connection's row. Existing rows are one grant each.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('credential_grants', (t) => {
    t.integer('grant_count').notNullable().defaultTo(1).comment('grants of this caller, task and kind');
    t.timestamp('last_granted_at', { useTz: true })
      .nullable()
      .comment('the last of them; granted_at is the first');
  });
  await db('credential_grants').update({ last_granted_at: db.ref('granted_at') });
  await db.schema.alterTable('credential_grants', (t) => {
    t.timestamp('last_granted_at', { useTz: true }).notNullable().defaultTo(db.fn.now()).alter();
    t.check('grant_count >= 1', [], 'credential_grants_count_positive');
    t.check('last_granted_at >= granted_at', [], 'credential_grants_last_after_first');
    t.index(['connection_id', 'last_granted_at']);
  });
}

/** Back to one row per grant, as far as it goes: an aggregate keeps its first grant only. */
export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('credential_grants', (t) => {
    t.dropIndex(['connection_id', 'last_granted_at']);
    t.dropChecks(['credential_grants_count_positive', 'credential_grants_last_after_first']);
    t.dropColumn('last_granted_at');
    t.dropColumn('grant_count');
  });
}
