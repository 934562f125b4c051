// The upstream account on every connection (issue 12): which account of the provider it is, as the provider
// names it, and the non-secret data the provider answered (Salesforce's instance_url, Slack's team). One
// upstream account is connected at most once per scope (a workspace's shared connections, or one person's):
// a partial unique index over the connections that can still be used or brought back. A disconnected
// connection keeps its account for history, and a failed one is final, so neither holds the account.
import type { Knex } from 'knex';

const INDEX = 'connections_one_live_account_per_scope';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('connections', (t) => {
    t.text('account_id').nullable();
    t.text('account_display_name').nullable();
    t.jsonb('provider_data').notNullable().defaultTo('{}');
  });
  await db.raw(
    `create unique index ${INDEX} on connections
       (workspace_id, integration, scope, coalesce(owner_user_id, ''), account_id)
     where account_id is not null and status not in ('disconnected', 'failed')`,
  );
}

export async function down(db: Knex): Promise<void> {
  await db.raw(`drop index if exists ${INDEX}`);
  await db.schema.alterTable('connections', (t) => {
    t.dropColumn('provider_data');
    t.dropColumn('account_display_name');
    t.dropColumn('account_id');
  });
}
