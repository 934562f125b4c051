// The console's sessions (issue 14): a signed-in person's or operator's session, stored by the SHA-256 of its
// cookie's value only; and the sign-in tokens already spent (the SHA-256 of issuer and jti), kept until the
// token would have expired anyway, so that a sign-in link works once.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('console_sessions', (t) => {
    t.text('id_hash').primary().comment('sha256 of the session cookie');
    t.text('kind').notNullable();
    t.text('workspace_id').nullable().comment('null only for operator sessions');
    t.text('sub').notNullable();
    t.text('role').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
  await db.raw(`alter table console_sessions add constraint console_sessions_kind
    check ((kind = 'workspace' and workspace_id is not null and role in ('owner', 'admin', 'member'))
        or (kind = 'operator' and workspace_id is null and role = 'operator'))`);
  await db.schema.createTable('console_sign_ins', (t) => {
    t.text('token_hash').primary().comment('sha256 of the sign-in token issuer and jti');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('console_sign_ins');
  await db.schema.dropTable('console_sessions');
}
