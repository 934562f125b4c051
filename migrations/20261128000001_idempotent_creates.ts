// Retry-safe creates: an `Idempotency-Key` sent with POST /v1/connections stands for one connection id,
// claimed by the first request that carries it. Neither the key nor any credential is stored: the key as its
// SHA-256, the request as a SHA-256 fingerprint (an API key only as its own hash inside it), so a retry can
// be told from a different request under the same key.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('connection_create_requests', (t) => {
    t.text('workspace_id').notNullable();
    t.text('caller').notNullable().comment('the sub of the caller that sent the key');
    t.text('key_hash').notNullable().comment('SHA-256 (hex) of the Idempotency-Key');
    t.text('fingerprint')
      .notNullable()
      .comment('SHA-256 (hex) of the request fields that define the connection');
    // No reference to connections: the id is claimed before its workflow records the connection.
    t.uuid('connection_id').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['workspace_id', 'caller', 'key_hash']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('connection_create_requests');
}
