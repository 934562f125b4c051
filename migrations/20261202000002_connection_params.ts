// A connection's parameters (the values asked for at connect and substituted into its provider's URLs: a
// Microsoft tenant, a Salesforce My Domain), and when its refresh token lapses where the provider says so or
// documents it: shown by the API with a warning before it does.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('connections', (t) => {
    t.jsonb('params')
      .notNullable()
      .defaultTo(db.raw(`'{}'::jsonb`))
      .comment("the connection's parameters, checked against its provider's at create");
    t.timestamp('refresh_token_expires_at', { useTz: true })
      .nullable()
      .comment('when the refresh token lapses, where the provider says or documents it');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('connections', (t) => {
    t.dropColumn('refresh_token_expires_at');
    t.dropColumn('params');
  });
}
