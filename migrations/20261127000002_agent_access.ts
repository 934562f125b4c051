// What agents need: which connection applies to an integration for a shared agent (a per-integration
// setting), and an audit of every credential grant (token or proxied call): who, for which task, when.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('integrations', (t) => {
    t.enu('agent_connection_scope', ['workspace', 'user'])
      .nullable()
      .comment("which connection a shared agent uses; null: the catalogue's default (personal tools: user)");
  });
  await db.schema.createTable('credential_grants', (t) => {
    t.bigIncrements('id');
    t.text('workspace_id').notNullable();
    t.uuid('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.enu('kind', ['token', 'proxy']).notNullable();
    t.text('caller').notNullable().comment('the sub of the caller');
    t.text('role').notNullable();
    t.text('on_behalf_of').nullable();
    t.text('task_id').nullable();
    t.timestamp('granted_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['connection_id', 'granted_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('credential_grants');
  await db.schema.alterTable('integrations', (t) => {
    t.dropColumn('agent_connection_scope');
  });
}
