// The OAuth authorization requests waiting for their callback (`oauth_states`), keyed by the hash of their
// `state`: the one owner of the table. It never stores a state in clear, nor a PKCE verifier unsealed, and
// it holds no lock while a provider is called (a state is claimed by one statement instead).
import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { SealedCredential } from '../vault/index.js';

/** The only form in which a `state` is stored or looked up. */
export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

export interface NewOAuthState {
  state: string;
  connectionId: string;
  workspaceId: string;
  setupId: string;
  issuer: string;
  redirectUri: string;
  scopes: string[];
  sealedVerifier: SealedCredential;
  expiresAt: Date;
  /** The hash of the browser cookie of the browser that started it (its callback then requires that cookie). */
  browserHash?: string | null;
  /** The connect session the setup was started from. */
  connectSessionId?: string | null;
  /** The provider authorization URL, sealed under a key derived from the state (never the state in clear). */
  authorizationUrlBox?: string | null;
}

/** Any row of a state, as stored. */
export interface OAuthStateRow {
  state_hash: string;
  connection_id: string;
  workspace_id: string;
  setup_id: string;
  issuer: string;
  redirect_uri: string;
  scopes: string[];
  verifier_envelope: SealedCredential | null;
  expires_at: Date;
  used_at: Date | null;
  claimed_by: string | null;
  created_at: Date;
  browser_hash: string | null;
  connect_session_id: string | null;
  authorization_url_box: string | null;
}

/** An authorization request's row, as the code exchange needs it. */
export interface ClaimedState {
  redirect_uri: string;
  scopes: string[];
  verifier_envelope: SealedCredential | null;
}

export const oauthStateStore = {
  async insert(db: Db, row: NewOAuthState): Promise<void> {
    await db('oauth_states').insert({
      state_hash: hashState(row.state),
      connection_id: row.connectionId,
      workspace_id: row.workspaceId,
      setup_id: row.setupId,
      issuer: row.issuer,
      redirect_uri: row.redirectUri,
      scopes: row.scopes,
      verifier_envelope: JSON.stringify(row.sealedVerifier),
      expires_at: row.expiresAt,
      browser_hash: row.browserHash ?? null,
      connect_session_id: row.connectSessionId ?? null,
      authorization_url_box: row.authorizationUrlBox ?? null,
    });
  },

  /** Any row of the state, used, claimed or expired, with its browser binding. */
  async find(db: Db, state: string): Promise<OAuthStateRow | undefined> {
    return db('oauth_states')
      .where({ state_hash: hashState(state) })
      .first();
  },

  /**
   * Binds an unused, unexpired state to a browser (and its connect session) when none holds it, in one
   * statement: 'same' for the browser that holds it, 'other' for another, 'gone' when used, expired or unknown.
   */
  async bindBrowser(
    db: Db,
    state: string,
    binding: { browserHash: string; connectSessionId?: string },
  ): Promise<'bound' | 'same' | 'other' | 'gone'> {
    const stateHash = hashState(state);
    const result = await db.raw(
      `with bound as (
         update oauth_states
            set browser_hash = ?, connect_session_id = coalesce(?::uuid, connect_session_id)
          where state_hash = ? and browser_hash is null and used_at is null and expires_at > now()
          returning state_hash
       )
       select (select count(*) from bound) as bound, browser_hash from oauth_states
        where state_hash = ? and used_at is null and expires_at > now()`,
      [binding.browserHash, binding.connectSessionId ?? null, stateHash, stateHash],
    );
    const row = (result.rows as Array<{ bound: string; browser_hash: string | null }>)[0];
    if (!row) return 'gone';
    if (Number(row.bound) > 0) return 'bound';
    return row.browser_hash === binding.browserHash ? 'same' : 'other';
  },

  /**
   * Claims an unused, unexpired state of this connection's setup for `claim` (or again for the same claim),
   * in one statement. Undefined when it cannot be claimed.
   */
  async claim(
    db: Db,
    key: { state: string; connectionId: string; setupId: string },
    claim: string | null,
  ): Promise<ClaimedState | undefined> {
    const claimed: ClaimedState[] = await db('oauth_states')
      .where({ state_hash: hashState(key.state), connection_id: key.connectionId, setup_id: key.setupId })
      .whereNull('used_at')
      .where('expires_at', '>', db.fn.now())
      .andWhere((q) => {
        q.whereNull('claimed_by');
        if (claim) q.orWhere({ claimed_by: claim });
      })
      .update({ claimed_by: claim ?? 'error-callback' })
      .returning(['redirect_uri', 'scopes', 'verifier_envelope']);
    return claimed[0];
  },

  /** Gives a claimed, unused state back (a callback refused before any token was obtained). */
  async release(db: Db, state: string, claim: string): Promise<void> {
    await db('oauth_states')
      .where({ state_hash: hashState(state), claimed_by: claim })
      .whereNull('used_at')
      .update({ claimed_by: null });
  },

  /** Spends a state for good, and forgets its verifier. */
  async spend(db: Db, state: string): Promise<void> {
    await db('oauth_states')
      .where({ state_hash: hashState(state) })
      .update({ used_at: new Date(), verifier_envelope: null });
  },

  async deleteForConnection(db: Db, connectionId: string): Promise<void> {
    await db('oauth_states').where({ connection_id: connectionId }).delete();
  },
};
