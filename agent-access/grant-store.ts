// The audit of credential grants (a token handed out, a call proxied, or either refused by the agent's
// access policy): who, for which task, when, through the API or MCP, and for a proxied call its method and
// path. Grants reach Postgres as aggregates (agent-access/grant-recorder.ts gathers them in the API
// process): one row per distinct grant (every field below) per flush, with how many grants there were and
// the first (granted_at) and last time. Rows are appended, never updated; a connection's last use
// is read from them (connection-store.ts), so the read path never writes the connection's row.
import type { Db } from '../db/database.js';

export interface CredentialGrant {
  workspaceId: string;
  connectionId: string;
  kind: 'token' | 'proxy';
  /** The caller's `sub`. */
  caller: string;
  role: string;
  onBehalfOf?: string;
  taskId?: string;
  /** Allowed, or refused by the agent's access policy (then `refusedRule` names the rule). */
  outcome: 'allowed' | 'refused';
  refusedRule?: string;
  /** A proxied call's method and path (below the API base URL, without the query). */
  method?: string;
  path?: string;
  /** Through the HTTP API or the MCP server. */
  via: 'api' | 'mcp';
}

/** Grants of one caller, task and connection between two flushes. Times are epoch milliseconds. */
export interface GrantAggregate extends CredentialGrant {
  count: number;
  firstAt: number;
  lastAt: number;
}

export interface RecordedGrant extends Required<
  Omit<CredentialGrant, 'onBehalfOf' | 'taskId' | 'refusedRule' | 'method' | 'path'>
> {
  onBehalfOf: string | null;
  taskId: string | null;
  refusedRule: string | null;
  method: string | null;
  path: string | null;
  /** How many grants this row stands for. */
  count: number;
  firstGrantedAt: string;
  lastGrantedAt: string;
}

export const grantStore = {
  /**
   * Writes the aggregates in one statement (so all or none), however many there are, in their order.
   * Grants of a connection that no longer exists are left out rather than failing the others.
   */
  async insert(db: Db, aggregates: GrantAggregate[]): Promise<number> {
    if (aggregates.length === 0) return 0;
    const rows = aggregates.map((a) => ({
      workspace_id: a.workspaceId,
      connection_id: a.connectionId,
      kind: a.kind,
      caller: a.caller,
      role: a.role,
      on_behalf_of: a.onBehalfOf ?? null,
      task_id: a.taskId ?? null,
      outcome: a.outcome,
      refused_rule: a.refusedRule ?? null,
      method: a.method ?? null,
      path: a.path ?? null,
      via: a.via,
      grant_count: a.count,
      granted_at: new Date(a.firstAt).toISOString(),
      last_granted_at: new Date(a.lastAt).toISOString(),
    }));
    const result = await db.raw(
      `insert into credential_grants
         (workspace_id, connection_id, kind, caller, role, on_behalf_of, task_id,
          outcome, refused_rule, method, path, via, grant_count, granted_at, last_granted_at)
       select g.workspace_id, g.connection_id, g.kind, g.caller, g.role, g.on_behalf_of, g.task_id,
              g.outcome, g.refused_rule, g.method, g.path, g.via,
              g.grant_count, g.granted_at, g.last_granted_at
         from rows from (jsonb_to_recordset(?::jsonb) as (
                workspace_id text, connection_id uuid, kind text, caller text, role text,
                on_behalf_of text, task_id text, outcome text, refused_rule text, method text,
                path text, via text, grant_count integer,
                granted_at timestamptz, last_granted_at timestamptz)) with ordinality as g
         join connections c on c.id = g.connection_id
        order by g.ordinality`,
      [JSON.stringify(rows)],
    );
    return (result as { rowCount: number | null }).rowCount ?? 0;
  },

  /** The agents (callers' subs) that used, or were refused, a connection of the workspace: at most `limit`. */
  async agentCallers(db: Db, workspaceId: string, limit = 1000): Promise<string[]> {
    const rows: Array<{ caller: string }> = await db('credential_grants')
      .where({ workspace_id: workspaceId, role: 'agent' })
      .distinct('caller')
      .orderBy('caller')
      .limit(limit);
    return rows.map((row) => row.caller);
  },

  /** The recorded grants of a connection, oldest first; with `latest`, only that many of the newest. */
  async list(
    db: Db,
    workspaceId: string,
    connectionId: string,
    options: { latest?: number } = {},
  ): Promise<RecordedGrant[]> {
    const query = db('credential_grants').where({ workspace_id: workspaceId, connection_id: connectionId });
    const rows =
      options.latest === undefined
        ? await query.orderBy('id')
        : (await query.orderBy('id', 'desc').limit(options.latest)).reverse();
    return rows.map((row: Record<string, unknown>) => ({
      workspaceId: row.workspace_id as string,
      connectionId: row.connection_id as string,
      kind: row.kind as RecordedGrant['kind'],
      caller: row.caller as string,
      role: row.role as string,
      onBehalfOf: (row.on_behalf_of as string | null) ?? null,
      taskId: (row.task_id as string | null) ?? null,
      outcome: row.outcome as RecordedGrant['outcome'],
      refusedRule: (row.refused_rule as string | null) ?? null,
      method: (row.method as string | null) ?? null,
      path: (row.path as string | null) ?? null,
      via: row.via as RecordedGrant['via'],
      count: row.grant_count as number,
      firstGrantedAt: (row.granted_at as Date).toISOString(),
      lastGrantedAt: (row.last_granted_at as Date).toISOString(),
    }));
  },
};
