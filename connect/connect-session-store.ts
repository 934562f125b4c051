// Connect sessions (`connect_sessions`): the one owner of the table. A session is found by its link's token,
// which is hashed here and never stored; it is bound to the first browser that starts it and spent when a
// connection results, each in one statement so that two browsers or two callbacks cannot both win.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { hashConnectToken } from './connect-links.js';

export type ConnectScope = 'workspace' | 'user';

export interface ConnectReason {
  agentId?: string;
  taskId?: string;
  text?: string;
}

export interface ConnectSession {
  id: string;
  workspaceId: string;
  /** The end user; null only for a workspace-scope link. */
  userId: string | null;
  scope: ConnectScope;
  /** The integrations the link may connect (at least one). */
  integrations: string[];
  /** The connection to reconnect in place, if any. */
  connectionId: string | null;
  params: Record<string, string> | null;
  reason: ConnectReason | null;
  returnTo: string | null;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  browserHash: string | null;
  spentAt: Date | null;
  resultConnectionId: string | null;
}

export type NewConnectSession = Omit<
  ConnectSession,
  'id' | 'createdAt' | 'browserHash' | 'spentAt' | 'resultConnectionId'
> & { tokenHash: string; noticeKey?: string };

type Row = Record<string, unknown>;

function toSession(row: Row): ConnectSession {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    userId: (row.user_id as string | null) ?? null,
    scope: row.scope as ConnectScope,
    integrations: row.integrations as string[],
    connectionId: (row.connection_id as string | null) ?? null,
    params: (row.params as Record<string, string> | null) ?? null,
    reason: (row.reason as ConnectReason | null) ?? null,
    returnTo: (row.return_to as string | null) ?? null,
    createdBy: row.created_by as string,
    createdAt: row.created_at as Date,
    expiresAt: row.expires_at as Date,
    browserHash: (row.browser_hash as string | null) ?? null,
    spentAt: (row.spent_at as Date | null) ?? null,
    resultConnectionId: (row.result_connection_id as string | null) ?? null,
  };
}

const columns = [
  'id',
  'workspace_id',
  'user_id',
  'scope',
  'integrations',
  'connection_id',
  'params',
  'reason',
  'return_to',
  'created_by',
  'created_at',
  'expires_at',
  'browser_hash',
  'spent_at',
  'result_connection_id',
];

export const connectSessionStore = {
  /** A new session; with a `noticeKey` already recorded, the existing one, unchanged. */
  async insert(db: Db, session: NewConnectSession): Promise<ConnectSession> {
    const row = {
      id: randomUUID(),
      token_hash: session.tokenHash,
      workspace_id: session.workspaceId,
      user_id: session.userId,
      scope: session.scope,
      integrations: session.integrations,
      connection_id: session.connectionId,
      params: session.params === null ? null : JSON.stringify(session.params),
      reason: session.reason === null ? null : JSON.stringify(session.reason),
      return_to: session.returnTo,
      created_by: session.createdBy,
      expires_at: session.expiresAt,
      notice_key: session.noticeKey ?? null,
    };
    if (session.noticeKey === undefined) {
      const [inserted] = await db('connect_sessions').insert(row).returning(columns);
      return toSession(inserted as Row);
    }
    const inserted = await db('connect_sessions')
      .insert(row)
      .onConflict('notice_key')
      .ignore()
      .returning(columns);
    if (inserted[0]) return toSession(inserted[0] as Row);
    const existing = await db('connect_sessions').where({ notice_key: session.noticeKey }).first(columns);
    return toSession(existing as Row);
  },

  async findByToken(db: Db, token: string): Promise<ConnectSession | undefined> {
    const row = await db('connect_sessions')
      .where({ token_hash: hashConnectToken(token) })
      .first(columns);
    return row ? toSession(row as Row) : undefined;
  },

  async get(db: Db, id: string): Promise<ConnectSession | undefined> {
    const row = await db('connect_sessions').where({ id }).first(columns);
    return row ? toSession(row as Row) : undefined;
  },

  /** Binds the session to a browser when none holds it; 'same' for the browser that does, 'other' else. */
  async bindBrowser(db: Db, id: string, browserHash: string): Promise<'bound' | 'same' | 'other'> {
    // One statement: the update takes the row when it is unbound, and the select sees who holds it.
    const result = await db.raw(
      `with bound as (
         update connect_sessions set browser_hash = ? where id = ? and browser_hash is null returning id
       )
       select (select count(*) from bound) as bound, browser_hash from connect_sessions where id = ?`,
      [browserHash, id, id],
    );
    const row = (result.rows as Array<{ bound: string; browser_hash: string | null }>)[0];
    if (!row) return 'other';
    if (Number(row.bound) > 0) return 'bound';
    return row.browser_hash === browserHash ? 'same' : 'other';
  },

  /** Marks the session spent by the connection it resulted in (the first one only). */
  async spend(db: Db, id: string, connectionId: string): Promise<void> {
    await db('connect_sessions')
      .where({ id })
      .whereNull('spent_at')
      .update({ spent_at: db.fn.now(), result_connection_id: connectionId });
  },

  /** Deletes sessions that expired before `before`; answers how many. */
  async purgeExpired(db: Db, before: Date, limit = 1000): Promise<number> {
    return db('connect_sessions')
      .whereIn('id', db('connect_sessions').select('id').where('expires_at', '<', before).limit(limit))
      .delete();
  },
};
