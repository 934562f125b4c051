// A connection's last use is its latest credential grant: drop connections.last_used_at, which nothing has
// written since grants were aggregated (20261128000002). Nothing is lost: the token route only ever wrote it
// beside a grant it recorded in the same request, so the grants' latest time is never earlier.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('connections', (t) => {
    t.dropColumn('last_used_at');
  });
}

/** The column again, filled from the grants (what the read model showed). */
export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('connections', (t) => {
    t.timestamp('last_used_at', { useTz: true }).nullable();
  });
  await db.raw(
    `update connections c set last_used_at = g.last_used
       from (select connection_id, max(last_granted_at) as last_used from credential_grants group by connection_id) g
      where g.connection_id = c.id`,
  );
}
