// What of the platform relies on a connection (agents, project setups, tasks, automations), checked before
// the connection is removed, and the notices those dependents get when it is removed anyway.
import type { Db } from '../db/database.js';

export const dependentKinds = ['agent', 'project_setup', 'task', 'automation'] as const;
export type DependentKind = (typeof dependentKinds)[number];

export interface Dependent {
  kind: DependentKind;
  id: string;
  name: string | null;
  callbackUrl: string | null;
  registeredBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DependentNotification {
  kind: DependentKind;
  dependentId: string;
  callbackUrl: string | null;
  event: string;
  actor: string;
  createdAt: string;
}

type Row = Record<string, unknown>;

function toDependent(row: Row): Dependent {
  return {
    kind: row.kind as DependentKind,
    id: row.dependent_id as string,
    name: (row.name as string | null) ?? null,
    callbackUrl: (row.callback_url as string | null) ?? null,
    registeredBy: row.registered_by as string,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  };
}

interface ConnectionKey {
  workspaceId: string;
  connectionId: string;
}

export const dependentStore = {
  async list(db: Db, ref: ConnectionKey): Promise<Dependent[]> {
    const rows = await db('connection_dependents')
      .where({ workspace_id: ref.workspaceId, connection_id: ref.connectionId })
      .orderBy([{ column: 'created_at' }, { column: 'kind' }, { column: 'dependent_id' }]);
    return rows.map(toDependent);
  },

  /** The workspace's dependents of one kind, by id, with how many connections each is registered on. */
  async idsOfKind(
    db: Db,
    workspaceId: string,
    kind: DependentKind,
  ): Promise<Array<{ id: string; connections: number }>> {
    const rows = await db('connection_dependents')
      .where({ workspace_id: workspaceId, kind })
      .groupBy('dependent_id')
      .orderBy('dependent_id')
      .select('dependent_id', db.raw('count(*)::int as connections'));
    return rows.map((row: Row) => ({
      id: row.dependent_id as string,
      connections: row.connections as number,
    }));
  },

  /** Registers a dependent, or updates its name and callback; answers whether it was new. */
  async put(
    db: Db,
    ref: ConnectionKey,
    dependent: { kind: DependentKind; id: string; name?: string; callbackUrl?: string; actor: string },
  ): Promise<{ dependent: Dependent; created: boolean }> {
    const [row] = await db('connection_dependents')
      .insert({
        connection_id: ref.connectionId,
        workspace_id: ref.workspaceId,
        kind: dependent.kind,
        dependent_id: dependent.id,
        name: dependent.name ?? null,
        callback_url: dependent.callbackUrl ?? null,
        registered_by: dependent.actor,
      })
      .onConflict(['connection_id', 'kind', 'dependent_id'])
      .merge({
        name: dependent.name ?? null,
        callback_url: dependent.callbackUrl ?? null,
        updated_at: db.fn.now(),
      })
      // xmax is 0 only for a row this statement inserted (Postgres).
      .returning(['*', db.raw('(xmax = 0) as inserted')]);
    return { dependent: toDependent(row), created: Boolean(row.inserted) };
  },

  /** Removes a dependent; answers whether there was one. */
  async remove(db: Db, ref: ConnectionKey, kind: DependentKind, id: string): Promise<boolean> {
    const removed = await db('connection_dependents')
      .where({ workspace_id: ref.workspaceId, connection_id: ref.connectionId, kind, dependent_id: id })
      .delete();
    return removed > 0;
  },

  /**
   * Records one notice per dependent that the connection is gone, and drops the registrations (there is
   * nothing left to depend on), in one transaction.
   */
  async notifyAll(
    db: Db,
    ref: ConnectionKey,
    notice: { event: string; actor: string },
  ): Promise<DependentNotification[]> {
    const run = async (tx: Db) => {
      const dependents = await this.list(tx, ref);
      if (dependents.length === 0) return [];
      const rows = await tx('dependent_notifications')
        .insert(
          dependents.map((dependent) => ({
            connection_id: ref.connectionId,
            workspace_id: ref.workspaceId,
            kind: dependent.kind,
            dependent_id: dependent.id,
            callback_url: dependent.callbackUrl,
            event: notice.event,
            actor: notice.actor,
          })),
        )
        .returning('*');
      await tx('connection_dependents')
        .where({ workspace_id: ref.workspaceId, connection_id: ref.connectionId })
        .delete();
      return rows.map(toNotification);
    };
    // On a transaction this is a savepoint inside it.
    return db.transaction(run);
  },

  async notifications(db: Db, ref: ConnectionKey): Promise<DependentNotification[]> {
    const rows = await db('dependent_notifications')
      .where({ workspace_id: ref.workspaceId, connection_id: ref.connectionId })
      .orderBy('id');
    return rows.map(toNotification);
  },
};

function toNotification(row: Row): DependentNotification {
  return {
    kind: row.kind as DependentKind,
    dependentId: row.dependent_id as string,
    callbackUrl: (row.callback_url as string | null) ?? null,
    event: row.event as string,
    actor: row.actor as string,
    createdAt: (row.created_at as Date).toISOString(),
  };
}
