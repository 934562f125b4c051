// The console's sessions (`console_sessions`) and spent sign-in tokens (`console_sign_ins`): the one owner of
// both tables. A session is stored and found by the SHA-256 of its cookie's value (the value itself is never
// stored); a sign-in token is spent by inserting the hash of its issuer and jti, in one statement, so that
// two browsers posting the same link cannot both sign in. Expired rows are purged in bounded batches.
import type { Db } from '../db/database.js';

export type ConsoleSessionKind = 'workspace' | 'operator';

export interface StoredConsoleSession {
  idHash: string;
  kind: ConsoleSessionKind;
  /** Null only for an operator session. */
  workspaceId: string | null;
  sub: string;
  /** owner, admin, member; `operator` for an operator session. */
  role: string;
  createdAt: Date;
  expiresAt: Date;
}

type Row = Record<string, unknown>;

function toSession(row: Row): StoredConsoleSession {
  return {
    idHash: row.id_hash as string,
    kind: row.kind as ConsoleSessionKind,
    workspaceId: (row.workspace_id as string | null) ?? null,
    sub: row.sub as string,
    role: row.role as string,
    createdAt: row.created_at as Date,
    expiresAt: row.expires_at as Date,
  };
}

const PURGE_BATCH = 1000;

export const consoleSessionStore = {
  async insert(db: Db, session: Omit<StoredConsoleSession, 'createdAt'>): Promise<void> {
    await db('console_sessions').insert({
      id_hash: session.idHash,
      kind: session.kind,
      workspace_id: session.workspaceId,
      sub: session.sub,
      role: session.role,
      expires_at: session.expiresAt,
    });
  },

  /** The session of a cookie's hash, of the given kind, while it has not expired. */
  async find(
    db: Db,
    idHash: string,
    kind: ConsoleSessionKind,
    now = new Date(),
  ): Promise<StoredConsoleSession | undefined> {
    const row = await db('console_sessions')
      .where({ id_hash: idHash, kind })
      .where('expires_at', '>', now)
      .first();
    return row ? toSession(row) : undefined;
  },

  async delete(db: Db, idHash: string): Promise<void> {
    await db('console_sessions').where({ id_hash: idHash }).delete();
  },

  /** Spends a sign-in token by its hash: 'spent' the first time, 'used' ever after (until purged). */
  async spendSignIn(db: Db, tokenHash: string, expiresAt: Date): Promise<'spent' | 'used'> {
    const inserted = await db('console_sign_ins')
      .insert({ token_hash: tokenHash, expires_at: expiresAt })
      .onConflict('token_hash')
      .ignore()
      .returning('token_hash');
    return inserted.length ? 'spent' : 'used';
  },

  async isSignInSpent(db: Db, tokenHash: string): Promise<boolean> {
    return (await db('console_sign_ins').where({ token_hash: tokenHash }).first('token_hash')) !== undefined;
  },

  /**
   * Deletes sessions and spent sign-ins that expired before `before`, at most `limit` of each; answers how
   * many. A spent sign-in is kept until its token has expired: until then it must stay refused.
   */
  async purgeExpired(
    db: Db,
    before: Date,
    limit = PURGE_BATCH,
  ): Promise<{ sessions: number; signIns: number }> {
    const sessions = await db('console_sessions')
      .whereIn(
        'id_hash',
        db('console_sessions').select('id_hash').where('expires_at', '<', before).limit(limit),
      )
      .delete();
    const signIns = await db('console_sign_ins')
      .whereIn(
        'token_hash',
        db('console_sign_ins').select('token_hash').where('expires_at', '<', before).limit(limit),
      )
      .delete();
    return { sessions, signIns };
  },
};
