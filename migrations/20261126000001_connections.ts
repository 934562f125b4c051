// Connections, their lifecycle events and their sealed credentials. Statuses are written only by the
// connection's workflow (through activities); credentials hold ciphertext envelopes, never plaintext.
import type { Knex } from 'knex';

const statuses = ['pending', 'active', 'inactive', 'expired', 'failed', 'disconnected'];

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('connections', (t) => {
    t.uuid('id').primary();
    t.text('workspace_id').notNullable();
    t.text('integration').notNullable();
    t.enu('scope', ['workspace', 'user']).notNullable();
    t.text('owner_user_id').nullable().comment('the person a user-scoped connection belongs to');
    t.text('name').nullable();
    t.enu('auth_type', ['oauth2', 'api_key']).notNullable();
    t.enu('status', statuses).notNullable();
    t.text('status_reason').nullable();
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('token_expires_at', { useTz: true }).nullable();
    t.timestamp('next_refresh_at', { useTz: true }).nullable();
    t.timestamp('last_used_at', { useTz: true }).nullable();
    t.timestamp('key_created_at', { useTz: true }).nullable();
    t.specificType('granted_scopes', 'text[]').nullable();
    t.index(['workspace_id', 'status']);
    t.index(['workspace_id', 'integration']);
    t.check(`scope <> 'user' or owner_user_id is not null`, [], 'user_connections_have_an_owner');
  });

  await db.schema.createTable('connection_events', (t) => {
    t.bigIncrements('id');
    t.uuid('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable();
    // The workflow numbers its transitions, so an activity retried after a crash records each one once.
    t.integer('sequence').notNullable();
    t.enu('from_status', statuses).nullable();
    t.enu('to_status', statuses).notNullable();
    t.text('reason').nullable();
    t.text('actor').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.unique(['connection_id', 'sequence']);
  });

  await db.schema.createTable('credentials', (t) => {
    t.uuid('id').primary();
    t.text('workspace_id').notNullable();
    t.uuid('connection_id').nullable().references('connections.id').onDelete('CASCADE');
    t.text('integration').nullable();
    t.text('purpose').notNullable();
    t.jsonb('envelope').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.check('(connection_id is null) <> (integration is null)', [], 'credential_belongs_to_one_owner');
  });
  await db.raw(
    'create unique index credentials_connection_purpose on credentials (connection_id, purpose) where connection_id is not null',
  );
  await db.raw(
    'create unique index credentials_integration_purpose on credentials (workspace_id, integration, purpose) where integration is not null',
  );
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('credentials');
  await db.schema.dropTable('connection_events');
  await db.schema.dropTable('connections');
}
