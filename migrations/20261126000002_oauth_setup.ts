// Integrations as configured per workspace (the provider's endpoints, client id; the client secret is a
// sealed credential), and the authorization requests of OAuth setups: one row per `state`, single use.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('integrations', (t) => {
    t.text('workspace_id').notNullable();
    t.text('key').notNullable();
    t.enu('auth_type', ['oauth2', 'api_key']).notNullable();
    t.jsonb('provider').notNullable().comment('endpoints, scopes, PKCE, auth method, API base, verification');
    t.text('client_id').nullable();
    t.specificType('scopes', 'text[]').nullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['workspace_id', 'key']);
  });

  await db.schema.createTable('oauth_states', (t) => {
    // The state's SHA-256, never the state itself: the table alone cannot forge a callback.
    t.text('state_hash').primary();
    t.uuid('connection_id').notNullable().references('connections.id').onDelete('CASCADE');
    t.text('workspace_id').notNullable();
    t.text('setup_id').notNullable();
    t.text('issuer').notNullable();
    t.text('redirect_uri').notNullable();
    t.specificType('scopes', 'text[]').notNullable();
    t.jsonb('verifier_envelope').nullable().comment('the PKCE verifier, sealed; destroyed once used');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true }).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['connection_id']);
  });

  await db.schema.alterTable('connections', (t) => {
    t.text('setup_id').nullable().comment('the authorization request the current credential came from');
    t.boolean('has_refresh_token').nullable();
    t.timestamp('key_rotation_due_at', { useTz: true }).nullable();
    t.timestamp('disconnected_at', { useTz: true }).nullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('connections', (t) => {
    t.dropColumns('setup_id', 'has_refresh_token', 'key_rotation_due_at', 'disconnected_at');
  });
  await db.schema.dropTable('oauth_states');
  await db.schema.dropTable('integrations');
}
