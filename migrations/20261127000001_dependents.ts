// Dependents of connections (what of the platform relies on one, checked before it is removed), the
// notifications sent to them when a connection is removed anyway, and where the browser goes back to after
// an OAuth authorization request (keyed by the request's state hash, like oauth_states, never the state).
import type { Knex } from 'knex';

const kinds = ['agent', 'project_setup', 'task', 'automation'];

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('connection_dependents', (t) => {
    t.uuid('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable();
    t.enu('kind', kinds).notNullable();
    t.text('dependent_id').notNullable();
    t.text('name').nullable();
    t.text('callback_url').nullable();
    t.text('registered_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['connection_id', 'kind', 'dependent_id']);
  });

  await db.schema.createTable('dependent_notifications', (t) => {
    t.bigIncrements('id');
    t.uuid('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable();
    t.enu('kind', kinds).notNullable();
    t.text('dependent_id').notNullable();
    t.text('callback_url').nullable();
    t.text('event').notNullable();
    t.text('actor').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['connection_id']);
  });

  await db.schema.createTable('oauth_return_targets', (t) => {
    t.text('state_hash').primary();
    t.uuid('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable();
    t.text('return_to').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('oauth_return_targets');
  await db.schema.dropTable('dependent_notifications');
  await db.schema.dropTable('connection_dependents');
}
