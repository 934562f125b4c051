// Hardening: an authorization state is claimed by one code exchange (and its retries) before the provider is
// called, so no transaction stays open across that call; a connection records when its credentials were
// destroyed, so that nothing is stored for it afterwards (a command cut short by a disconnect can still be
// finishing); and the rows that expire (states, return targets, idempotency keys) get the indexes their purge uses.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('oauth_states', (t) => {
    t.text('claimed_by')
      .nullable()
      .comment(
        'the code exchange (workflow run and activity) that holds this state; its retries may reuse it',
      );
    t.index(['expires_at']);
  });
  await db.schema.alterTable('connections', (t) => {
    t.timestamp('credentials_destroyed_at', { useTz: true })
      .nullable()
      .comment('set by the disconnect that destroyed the credentials; nothing is stored for it after');
  });
  await db.schema.alterTable('oauth_return_targets', (t) => {
    t.index(['created_at']);
  });
  await db.schema.alterTable('connection_create_requests', (t) => {
    t.index(['created_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('connection_create_requests', (t) => {
    t.dropIndex(['created_at']);
  });
  await db.schema.alterTable('oauth_return_targets', (t) => {
    t.dropIndex(['created_at']);
  });
  await db.schema.alterTable('connections', (t) => {
    t.dropColumn('credentials_destroyed_at');
  });
  await db.schema.alterTable('oauth_states', (t) => {
    t.dropIndex(['expires_at']);
    t.dropColumn('claimed_by');
  });
}
