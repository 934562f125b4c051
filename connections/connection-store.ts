// The connection read model (`connections`, `connection_events`): what the API shows of a connection, its
// lifecycle events and listings, and the writes that keep them. The API only reads here: statuses and times
// are written by the connection's workflow alone, through its activities (the `record…` methods). This store
// never selects a credential.
import type { Knex } from 'knex';
import { REFRESH_TOKEN_EXPIRY_WARNING_MS } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { ConnectionRef, ConnectionStatus, KeyNotice } from '../workflows/messages.js';
import { recordIdentity } from './connection-accounts.js';

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
  /** The upstream account, as its provider names it; null until read (or for a provider that says none). */
  account: { id: string; displayName: string } | null;
  /** Non-secret data the provider answered (Salesforce's instance_url, Slack's team). */
  providerData: Record<string, string>;
  /** The values asked for at connect (defaults applied), substituted into the provider's URLs. */
  params: Record<string, string>;
  refreshTokenExpiresAt: string | null;
  /** What a person should act on before it breaks: `refresh_token_expiring`. */
  warnings: ConnectionWarning[];
}

export type ConnectionWarning = 'refresh_token_expiring';

export type { AccountConflict, ConnectionIdentity } from './connection-accounts.js';

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
  /** The upstream account's id. */
  account?: string;
}

// A connection's last use: its latest grant as written by the API's grant recorder (credential_grants,
// indexed by connection and last_granted_at). The read path never updates the connection's row.
const latestGrant = `(select max(g.last_granted_at) from credential_grants g where g.connection_id = connections.id)`;

function lastUsedAt(db: Db): Knex.Raw {
  return db.raw(`${latestGrant} as last_used_at`);
}

const unusedNotice: KeyNotice = 'key_unused';

/**
 * Whether the key is unused is the workflow's finding, not a second reckoning: its `key_unused` notice for the
 * current key (API_KEY_UNUSED_DAYS without a grant, checked with each probe), as long as no grant has come
 * since. A rotation (a newer key_created_at) leaves the old key's notice behind.
 */
function keyUnused(db: Db): Knex.Raw {
  return db.raw(
    `(connections.auth_type = 'api_key' and connections.status <> 'disconnected' and exists (
        select 1 from connection_events e
         where e.connection_id = connections.id and e.reason = ?
           and e.occurred_at >= coalesce(connections.key_created_at, connections.created_at)
           and e.occurred_at > coalesce(${latestGrant}, '-infinity'))) as key_unused`,
    [unusedNotice],
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
  keyUnused(db),
  'key_created_at',
  'key_rotation_due_at',
  'granted_scopes',
  'account_id',
  'account_display_name',
  'provider_data',
  'params',
  'refresh_token_expires_at',
];

type Row = Record<string, unknown>;

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);

/** A refresh token lapsing within the warning window, on a connection that still relies on it. */
function warningsOf(row: Row, now: number): ConnectionWarning[] {
  const lapses = row.refresh_token_expires_at;
  const relied = row.status === 'active' || row.status === 'inactive';
  return relied && lapses instanceof Date && lapses.getTime() - now <= REFRESH_TOKEN_EXPIRY_WARNING_MS
    ? ['refresh_token_expiring']
    : [];
}

function toMetadata(row: Row): ConnectionMetadata {
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
    keyUnused: row.key_unused === true,
    grantedScopes: (row.granted_scopes as string[] | null) ?? null,
    account:
      typeof row.account_id === 'string'
        ? { id: row.account_id, displayName: (row.account_display_name as string | null) ?? row.account_id }
        : null,
    providerData: (row.provider_data as Record<string, string> | null) ?? {},
    params: (row.params as Record<string, string> | null) ?? {},
    refreshTokenExpiresAt: iso(row.refresh_token_expires_at),
    warnings: warningsOf(row, Date.now()),
  };
}

/** One event of a connection's lifecycle, as the workflow numbered it. */
export interface EventRecord {
  connection: ConnectionRef;
  sequence: number;
  from: ConnectionStatus | null;
  to: ConnectionStatus;
  reason: string | null;
  actor: string;
  at: Date;
}

/** The times mirrored on the connection's row (epoch ms, null when none). */
export interface ScheduleMetadata {
  tokenExpiresAt: number | null;
  nextRefreshAt: number | null;
  keyCreatedAt: number | null;
  keyRotationDueAt: number | null;
}

const toDate = (ms: number | null) => (ms === null ? null : new Date(ms));

export const connectionStore = {
  /** The connection's row, created by its first event; a retry of that event finds it there. */
  async recordCreation(db: Db, event: EventRecord): Promise<void> {
    const { connection } = event;
    await db('connections')
      .insert({
        id: connection.id,
        workspace_id: connection.workspaceId,
        integration: connection.integration,
        scope: connection.scope,
        owner_user_id: connection.ownerUserId ?? null,
        name: connection.name ?? null,
        params: JSON.stringify(connection.params ?? {}),
        auth_type: connection.authType,
        status: event.to,
        status_reason: event.reason,
        created_by: connection.createdBy,
        created_at: event.at,
        updated_at: event.at,
      })
      .onConflict('id')
      .ignore();
  },

  /** Appends an event once: false when its sequence number was recorded already (a retry). */
  async recordEvent(db: Db, event: EventRecord): Promise<boolean> {
    const inserted = await db('connection_events')
      .insert({
        connection_id: event.connection.id,
        workspace_id: event.connection.workspaceId,
        sequence: event.sequence,
        from_status: event.from,
        to_status: event.to,
        reason: event.reason,
        actor: event.actor,
        occurred_at: event.at,
      })
      .onConflict(['connection_id', 'sequence'])
      .ignore()
      .returning('id');
    return inserted.length > 0;
  },

  /** Mirrors an event's status and the connection's times onto its row. */
  async recordStatus(db: Db, event: EventRecord, metadata: ScheduleMetadata): Promise<void> {
    await db('connections')
      .where({ id: event.connection.id })
      .update({
        status: event.to,
        status_reason: event.reason,
        updated_at: event.at,
        token_expires_at: toDate(metadata.tokenExpiresAt),
        next_refresh_at: toDate(metadata.nextRefreshAt),
        key_created_at: toDate(metadata.keyCreatedAt),
        key_rotation_due_at: toDate(metadata.keyRotationDueAt),
        ...(event.to === 'disconnected' ? { disconnected_at: event.at } : {}),
      });
  },

  /** A new token expiry and refresh time, without a change of status. */
  async recordSchedule(db: Db, connectionId: string, metadata: ScheduleMetadata): Promise<void> {
    await db('connections')
      .where({ id: connectionId })
      .update({
        token_expires_at: toDate(metadata.tokenExpiresAt),
        next_refresh_at: toDate(metadata.nextRefreshAt),
      });
  },

  /** What a completed authorization leaves on the row: its setup, the granted scopes, the token's expiry. */
  async recordAuthorization(
    db: Db,
    connectionId: string,
    authorization: {
      setupId: string;
      scopes: string[] | null;
      hasRefreshToken: boolean;
      expiresAt: number | null;
      refreshTokenExpiresAt: number | null;
    },
  ): Promise<void> {
    await db('connections')
      .where({ id: connectionId })
      .update({
        setup_id: authorization.setupId,
        granted_scopes: authorization.scopes,
        has_refresh_token: authorization.hasRefreshToken,
        token_expires_at: toDate(authorization.expiresAt),
        refresh_token_expires_at: toDate(authorization.refreshTokenExpiresAt),
      });
  },

  /** When the stored refresh token lapses (null: not known), written with the tokens of a refresh. */
  async recordRefreshTokenExpiry(db: Db, connectionId: string, expiresAt: number | null): Promise<void> {
    await db('connections')
      .where({ id: connectionId })
      .update({ refresh_token_expires_at: toDate(expiresAt) });
  },

  /** Records a new credential's account and provider data, or answers why not (connection-accounts.ts). */
  recordIdentity,

  /** The setup whose tokens are stored, if any. */
  async setupIdOf(db: Db, connectionId: string): Promise<string | undefined> {
    const row = await db('connections').where({ id: connectionId }).first('setup_id');
    return (row?.setup_id as string | null | undefined) ?? undefined;
  },

  async recordKeyCreated(db: Db, connectionId: string, at: Date): Promise<void> {
    await db('connections').where({ id: connectionId }).update({ key_created_at: at });
  },

  async recordCredentialsDestroyed(db: Db, connectionId: string): Promise<void> {
    await db('connections').where({ id: connectionId }).update({ credentials_destroyed_at: new Date() });
  },

  /**
   * Inside a transaction that stores a credential: locks the connection's row and answers whether its
   * credentials are still there to replace (false once destroyed, or for an unknown connection).
   */
  async lockUndestroyed(tx: Knex.Transaction, connectionId: string): Promise<boolean> {
    const row = await tx('connections')
      .where({ id: connectionId })
      .forUpdate()
      .first('credentials_destroyed_at');
    return Boolean(row) && !row.credentials_destroyed_at;
  },

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
    if (filter.account) query.andWhere({ account_id: filter.account });
    if (!visibility.all) {
      const userId = visibility.userId;
      query.andWhere((q) => {
        q.where({ scope: 'workspace' });
        if (userId) q.orWhere({ scope: 'user', owner_user_id: userId });
      });
    }
    const rows = await query.orderBy([{ column: 'created_at' }, { column: 'id' }]).select(columns(db));
    return rows.map(toMetadata);
  },

  /** How many connections there are in each status, across workspaces (the metrics' gauge). */
  async countByStatus(db: Db): Promise<Map<ConnectionStatus, number>> {
    const rows: Array<{ status: ConnectionStatus; count: string | number }> = await db('connections')
      .select('status')
      .count({ count: '*' })
      .groupBy('status');
    return new Map(rows.map((row) => [row.status, Number(row.count)]));
  },

  /** A connection's status and its reason, by id alone (the commands' own reads); undefined when unknown. */
  async status(
    db: Db,
    connectionId: string,
  ): Promise<{ status: ConnectionStatus; statusReason: string | null } | undefined> {
    const row = await db('connections').where({ id: connectionId }).first('status', 'status_reason');
    return row ? { status: row.status, statusReason: row.status_reason ?? null } : undefined;
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
