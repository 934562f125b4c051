// Connect sessions (issue 13): a short-lived link for one end user to connect an account in the browser,
// stored by the hash of its token only (the link is a bearer secret). And the browser binding of OAuth
// setups: the hash of the cookie of the browser that started one, which its callback then requires, the
// connect session it came from, and the provider's authorization URL sealed under a key derived from the
// state itself, so the service's start URL can send the browser on without the table holding the state.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('connect_sessions', (t) => {
    t.uuid('id').primary();
    t.text('token_hash').notNullable().unique();
    t.text('workspace_id').notNullable();
    t.text('user_id').nullable().comment('the end user; null only for workspace-scope links');
    t.text('scope').notNullable();
    t.specificType('integrations', 'text[]').notNullable();
    t.uuid('connection_id').nullable().comment('reconnect in place');
    t.jsonb('params').nullable();
    t.jsonb('reason').nullable().comment('{agentId?, taskId?, text?}');
    t.text('return_to').nullable();
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.text('browser_hash').nullable().comment('the browser bound at the first start');
    t.timestamp('spent_at', { useTz: true }).nullable();
    t.uuid('result_connection_id').nullable();
    t.text('notice_key').nullable().unique().comment('links minted for a health event, once per notice');
    t.index(['expires_at']);
  });
  await db.raw(`alter table connect_sessions add constraint connect_sessions_scope
    check (scope in ('workspace', 'user') and (scope = 'workspace' or user_id is not null))`);
  await db.raw(`alter table connect_sessions add constraint connect_sessions_integrations
    check (cardinality(integrations) >= 1)`);

  await db.schema.alterTable('oauth_states', (t) => {
    t.text('browser_hash').nullable().comment('sha256 of the cookie of the browser that started it');
    t.uuid('connect_session_id').nullable().references('connect_sessions.id').onDelete('SET NULL');
    t.text('authorization_url_box').nullable().comment('the authorization URL, sealed under the state');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('oauth_states', (t) => {
    t.dropColumns('browser_hash', 'connect_session_id', 'authorization_url_box');
  });
  await db.schema.dropTable('connect_sessions');
}
