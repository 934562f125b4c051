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
    });
  },

  /** Any row of the state, used, claimed or expired. */
  async find(db: Db, state: string) {
    return db('oauth_states')
      .where({ state_hash: hashState(state) })
      .first();
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
