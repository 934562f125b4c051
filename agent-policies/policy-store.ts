// The owner of `agent_policies`: each agent's access policy in its workspace (agent-policies/access-policy.ts
// says what one holds). A workspace "has policies" when it holds at least one row: its agents without one
// then get the default (proxy only). Knows nothing of HTTP.
import type { Db } from '../db/database.js';
import type { AccessPolicy, IntegrationRule } from './access-policy.js';

type Row = Record<string, unknown>;

function toPolicy(row: Row): AccessPolicy {
  return {
    agentId: row.agent_id as string,
    integrations: row.integrations as Record<string, IntegrationRule>,
    updatedBy: row.updated_by as string,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  };
}

export const policyStore = {
  async get(db: Db, workspaceId: string, agentId: string): Promise<AccessPolicy | undefined> {
    const row = await db('agent_policies').where({ workspace_id: workspaceId, agent_id: agentId }).first();
    return row ? toPolicy(row) : undefined;
  },

  /** The workspace's policies, by agent id. */
  async list(db: Db, workspaceId: string): Promise<AccessPolicy[]> {
    const rows = await db('agent_policies').where({ workspace_id: workspaceId }).orderBy('agent_id');
    return rows.map(toPolicy);
  },

  /** Whether the workspace has any policy (then agents without one get the default). */
  async hasPolicies(db: Db, workspaceId: string): Promise<boolean> {
    const row = await db('agent_policies').where({ workspace_id: workspaceId }).first('agent_id');
    return row !== undefined;
  },

  /** Sets an agent's policy (replacing the one it had); answers it and whether it is new. */
  async put(
    db: Db,
    workspaceId: string,
    agentId: string,
    integrations: Record<string, IntegrationRule>,
    actor: string,
  ): Promise<{ policy: AccessPolicy; created: boolean }> {
    const [row] = await db('agent_policies')
      .insert({
        workspace_id: workspaceId,
        agent_id: agentId,
        integrations: JSON.stringify(integrations),
        updated_by: actor,
      })
      .onConflict(['workspace_id', 'agent_id'])
      .merge({ integrations: JSON.stringify(integrations), updated_by: actor, updated_at: db.fn.now() })
      .returning(['*', db.raw('(xmax = 0) as created')]);
    return { policy: toPolicy(row), created: Boolean(row.created) };
  },

  /** Removes an agent's policy; answers whether there was one. */
  async remove(db: Db, workspaceId: string, agentId: string): Promise<boolean> {
    const removed = await db('agent_policies').where({ workspace_id: workspaceId, agent_id: agentId }).del();
    return removed > 0;
  },
};
