// The audit of credential grants (a token handed out, a call proxied) and the connection's last-used time.
// Grants are appended, never updated; last_used_at is written at most once a minute per connection, so a
// busy connection's reads do not each write its row.
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
}

export interface RecordedGrant extends Required<Omit<CredentialGrant, 'onBehalfOf' | 'taskId'>> {
  onBehalfOf: string | null;
  taskId: string | null;
  grantedAt: string;
}

export const grantStore = {
  /** Records the grant and marks the connection used (unless it was marked in the last minute). */
  async record(db: Db, grant: CredentialGrant): Promise<void> {
    await db('credential_grants').insert({
      workspace_id: grant.workspaceId,
      connection_id: grant.connectionId,
      kind: grant.kind,
      caller: grant.caller,
      role: grant.role,
      on_behalf_of: grant.onBehalfOf ?? null,
      task_id: grant.taskId ?? null,
    });
    await db('connections')
      .where({ id: grant.connectionId, workspace_id: grant.workspaceId })
      .andWhere((q) => q.whereNull('last_used_at').orWhereRaw("last_used_at < now() - interval '1 minute'"))
      .update({ last_used_at: db.fn.now() });
  },

  async list(db: Db, workspaceId: string, connectionId: string): Promise<RecordedGrant[]> {
    const rows = await db('credential_grants')
      .where({ workspace_id: workspaceId, connection_id: connectionId })
      .orderBy('id');
    return rows.map((row: Record<string, unknown>) => ({
      workspaceId: row.workspace_id as string,
      connectionId: row.connection_id as string,
      kind: row.kind as RecordedGrant['kind'],
      caller: row.caller as string,
      role: row.role as string,
      onBehalfOf: (row.on_behalf_of as string | null) ?? null,
      taskId: (row.task_id as string | null) ?? null,
      grantedAt: (row.granted_at as Date).toISOString(),
    }));
  },
};
