// Agents' access policies (issue 15): per workspace and agent (the JWT's `sub`, the `agent` dependent's id),
// which integrations the agent may use and, per integration, which methods and path prefixes through the
// proxy and whether it may take a raw token. And the grants audit gains refusals: each row says whether the
// use was allowed or refused (and by which rule), with the method and path of a proxied call and whether it
// came through the API or MCP.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('agent_policies', (t) => {
    t.text('workspace_id').notNullable();
    t.text('agent_id').notNullable().comment('the agent token sub');
    t.jsonb('integrations').notNullable().comment('integration key -> {methods, paths, token}');
    t.text('updated_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['workspace_id', 'agent_id']);
  });
  await db.schema.alterTable('credential_grants', (t) => {
    t.text('outcome').notNullable().defaultTo('allowed');
    t.text('refused_rule').nullable().comment('the policy rule that refused it');
    t.text('method').nullable().comment('a proxied call: its method');
    t.text('path').nullable().comment('a proxied call: its path below the API base URL, without the query');
    t.text('via').notNullable().defaultTo('api');
    t.check("outcome in ('allowed', 'refused')", [], 'credential_grants_outcome');
    t.check("(outcome = 'refused') = (refused_rule is not null)", [], 'credential_grants_refused_has_rule');
    t.check("via in ('api', 'mcp')", [], 'credential_grants_via');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('credential_grants', (t) => {
    t.dropChecks([
      'credential_grants_outcome',
      'credential_grants_refused_has_rule',
      'credential_grants_via',
    ]);
    t.dropColumn('via');
    t.dropColumn('path');
    t.dropColumn('method');
    t.dropColumn('refused_rule');
    t.dropColumn('outcome');
  });
  await db.schema.dropTable('agent_policies');
}
