// The connection read model: what the API shows of a connection, its lifecycle events and listings, read
// from Postgres. Read-only by design: statuses are written by the connection's workflow alone, and this
// store never selects a credential.
import type { Knex } from 'knex';
import type { Db } from '../db/database.js';
import type { ConnectionStatus } from '../workflows/messages.js';

/** A key (or, for OAuth, nothing) counts as unused when neither used nor created for this long. */
export const KEY_UNUSED_AFTER_MS = 30 * 86_400_000;

export interface ConnectionMetadata {
  id: string;
  integration: string;
  scope: 'workspace' | 'user';
  ownerUserId: string | null;
  name: string | null;
  authType: 'oauth2' | 'api_key';
  status: ConnectionStatus;
  statusReason: string | null;
  createdAt: string;
  updatedAt: string;
  tokenExpiresAt: string | null;
  nextRefreshAt: string | null;
  lastUsedAt: string | null;
  keyCreatedAt: string | null;
  keyRotationDueAt: string | null;
  keyUnused: boolean;
  grantedScopes: string[] | null;
}

export interface ConnectionEvent {
  sequence: number;
  from: ConnectionStatus | null;
  to: ConnectionStatus;
  reason: string | null;
  actor: string;
  occurredAt: string;
}

/** Who may see which connections: everything of the workspace, or its shared ones plus one person's own. */
export type Visibility = { all: true } | { all: false; userId: string | undefined };

export interface ConnectionFilter {
  status?: ConnectionStatus;
  integration?: string;
  scope?: 'workspace' | 'user';
}

/**
 * A connection's last use: the latest grant written by the API's grant recorder (credential_grants, indexed
 * by connection and last_granted_at), or the last_used_at the read path wrote itself before grants were
 * aggregated, whichever is later. The read path never updates the connection's row.
 */
export function lastUsedAt(db: Db): Knex.Raw {
  return db.raw(
    `greatest(connections.last_used_at,
       (select max(g.last_granted_at) from credential_grants g where g.connection_id = connections.id))
     as last_used_at`,
  );
}

const columns = (db: Db) => [
  'id',
  'integration',
  'scope',
  'owner_user_id',
  'name',
  'auth_type',
  'status',
  'status_reason',
  'created_at',
  'updated_at',
  'token_expires_at',
  'next_refresh_at',
  lastUsedAt(db),
  'key_created_at',
  'key_rotation_due_at',
  'granted_scopes',
];

type Row = Record<string, unknown>;

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);

function toMetadata(row: Row, now = Date.now()): ConnectionMetadata {
  const lastSign = (row.last_used_at ?? row.key_created_at ?? row.created_at) as Date | null;
  return {
    id: row.id as string,
    integration: row.integration as string,
    scope: row.scope as ConnectionMetadata['scope'],
    ownerUserId: (row.owner_user_id as string | null) ?? null,
    name: (row.name as string | null) ?? null,
    authType: row.auth_type as ConnectionMetadata['authType'],
    status: row.status as ConnectionStatus,
    statusReason: (row.status_reason as string | null) ?? null,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    tokenExpiresAt: iso(row.token_expires_at),
    nextRefreshAt: iso(row.next_refresh_at),
    lastUsedAt: iso(row.last_used_at),
    keyCreatedAt: iso(row.key_created_at),
    keyRotationDueAt: iso(row.key_rotation_due_at),
    keyUnused:
      row.auth_type === 'api_key' &&
      row.status !== 'disconnected' &&
      lastSign !== null &&
      now - lastSign.getTime() > KEY_UNUSED_AFTER_MS,
    grantedScopes: (row.granted_scopes as string[] | null) ?? null,
  };
}

export const connectionStore = {
  /** One connection of the workspace, or undefined: a foreign id and an unknown one look the same. */
  async get(db: Db, workspaceId: string, id: string): Promise<ConnectionMetadata | undefined> {
    const row = await db('connections').where({ workspace_id: workspaceId, id }).first(columns(db));
    return row ? toMetadata(row) : undefined;
  },

  /** When the connection was last used (see lastUsedAt), by id alone: for the worker's unused-key check. */
  async lastUsed(db: Db, connectionId: string): Promise<Date | undefined> {
    const row = await db('connections').where({ id: connectionId }).first(lastUsedAt(db));
    return row?.last_used_at instanceof Date ? row.last_used_at : undefined;
  },

  /**
   * Locks the connection's row for the rest of the transaction `tx` and reads its status: `update` for the
   * removal (which changes it), `share` for what must not overlap a removal (registering a dependent).
   */
  async lockStatus(
    tx: Db,
    connectionId: string,
    mode: 'update' | 'share',
  ): Promise<{ status: ConnectionStatus; reason: string | null } | undefined> {
    const query = tx('connections').where({ id: connectionId });
    const row = await (mode === 'update' ? query.forUpdate() : query.forShare()).first(
      'status',
      'status_reason',
    );
    return row ? { status: row.status, reason: row.status_reason ?? null } : undefined;
  },

  async list(
    db: Db,
    workspaceId: string,
    visibility: Visibility,
    filter: ConnectionFilter,
  ): Promise<ConnectionMetadata[]> {
    const query = db('connections').where({ workspace_id: workspaceId });
    if (filter.status) query.andWhere({ status: filter.status });
    if (filter.integration) query.andWhere({ integration: filter.integration });
    if (filter.scope) query.andWhere({ scope: filter.scope });
    if (!visibility.all) {
      const userId = visibility.userId;
      query.andWhere((q) => {
        q.where({ scope: 'workspace' });
        if (userId) q.orWhere({ scope: 'user', owner_user_id: userId });
      });
    }
    const rows = await query.orderBy([{ column: 'created_at' }, { column: 'id' }]).select(columns(db));
    const now = Date.now();
    return rows.map((row: Row) => toMetadata(row, now));
  },

  async events(db: Db, workspaceId: string, connectionId: string): Promise<ConnectionEvent[]> {
    const rows = await db('connection_events')
      .where({ workspace_id: workspaceId, connection_id: connectionId })
      .orderBy('sequence')
      .select('sequence', 'from_status', 'to_status', 'reason', 'actor', 'occurred_at');
    return rows.map((row: Row) => ({
      sequence: row.sequence as number,
      from: (row.from_status as ConnectionStatus | null) ?? null,
      to: row.to_status as ConnectionStatus,
      reason: (row.reason as string | null) ?? null,
      actor: row.actor as string,
      occurredAt: iso(row.occurred_at)!,
    }));
  },
};
