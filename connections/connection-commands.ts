// What the API (and anything else on the service side) may do to a connection: start its workflow, send it
// updates, and report what the workflow decided. It never writes a status itself, and it refuses in the
// domain's words (ConnectionError, connections/connection-errors.ts), never in HTTP's. Secrets that must
// reach an activity (a pasted API key, an authorization code) are sealed here first, so that only ciphertext
// enters Temporal. Creation and its Idempotency-Key are in connections/connection-creation.ts.
import type { UpdateDefinition } from '@temporalio/common';
import {
  activateConnection,
  beginAuthorization,
  completeAuthorization,
  deactivateConnection,
  disconnectConnection,
  refreshConnection,
  submitApiKey,
  type ConnectionSnapshot,
  type DependentNoticeRecord,
} from '../workflows/messages.js';
import {
  ConnectionCreation,
  type CreationDependencies,
  type EndedSetup,
  type NewConnection,
  type OAuthInput,
  type OAuthSetup,
} from './connection-creation.js';
import { ConnectionError } from './connection-errors.js';
import { oauthStateStore } from './oauth-state-store.js';
import { connectionStore } from './connection-store.js';
import { sendUpdate } from './workflow-calls.js';

/** A removal the workflow carried out: how the connection stands, and the dependents told of it. */
export interface Removal {
  snapshot: ConnectionSnapshot;
  notified: DependentNoticeRecord[];
}

/** What the commands need: Temporal (and its deadline), the database, the vault, the redirect URI. */
export type ConnectionCommandDependencies = CreationDependencies;

export class ConnectionCommands {
  private readonly creation: ConnectionCreation;

  constructor(private readonly deps: ConnectionCommandDependencies) {
    this.creation = new ConnectionCreation(deps);
  }

  /**
   * Starts an OAuth setup: the connection is `pending` until the provider redirects back. A retry under the
   * same Idempotency-Key answers the first setup's authorization URL, or, once that setup has ended, how the
   * connection stands.
   */
  async createOAuth(input: OAuthInput & { idempotency?: undefined }): Promise<OAuthSetup>;
  async createOAuth(input: OAuthInput): Promise<OAuthSetup | EndedSetup>;
  async createOAuth(input: OAuthInput): Promise<OAuthSetup | EndedSetup> {
    return this.creation.createOAuth(input);
  }

  /**
   * Verifies and stores an API key: `active`, or `failed` with reason `provider_rejected`. A retry under the
   * same Idempotency-Key answers the first one's outcome (the key is verified once), or how the connection
   * stands now.
   */
  async createApiKey(input: NewConnection & { apiKey: string }): Promise<ConnectionSnapshot> {
    return this.creation.createApiKey(input);
  }

  /**
   * The provider's redirect. An unknown, foreign, used or expired state, or a wrong `iss`, is refused with
   * 400 and changes nothing. A state bound to a browser (started from the connect page or the start URL)
   * is completed only with that browser's cookie (`browserHash`, the hash of the one the request carries):
   * from any other it is refused (`authorization_refused`, details `{ boundElsewhere: true }`) before
   * anything is sealed or sent, so the state stays unused and the connection pending. Answers where the
   * browser goes next as the setup carried it (`returnTo`: null for nowhere; undefined for a setup begun
   * before setups carried it), and the connect session the setup was started from, if any.
   */
  async completeCallback(params: {
    state: string;
    code?: string;
    iss?: string;
    error?: string;
    browserHash?: string;
  }): Promise<{
    connectionId: string;
    workspaceId: string;
    snapshot: ConnectionSnapshot;
    returnTo?: string | null;
    /** Why the authorization ended without new tokens, if it did (AuthorizationOutcome.ended). */
    ended?: { reason: string; existingConnectionId?: string };
    connectSessionId: string | null;
  }> {
    const row = await oauthStateStore.find(this.deps.db, params.state);
    if (!row)
      throw new ConnectionError('unknown_authorization', 'this authorization link is unknown or has expired');
    if (row.browser_hash !== null && row.browser_hash !== params.browserHash) {
      throw new ConnectionError(
        'authorization_refused',
        'this authorization was started in another browser and can be finished only there',
        { boundElsewhere: true },
      );
    }
    const sealedCode = params.code
      ? await this.deps.vault.seal(
          { workspace: row.workspace_id, connection: row.connection_id, purpose: 'authorization_code' },
          params.code,
        )
      : undefined;
    const { snapshot, returnTo, ended } = await this.update(row.connection_id, completeAuthorization, {
      state: params.state,
      sealedCode,
      iss: params.iss,
      error: params.error,
    });
    return {
      connectionId: row.connection_id,
      workspaceId: row.workspace_id,
      snapshot,
      returnTo,
      ended,
      connectSessionId: row.connect_session_id,
    };
  }

  async reauthorize(
    connectionId: string,
    request: { actor: string; scopes?: string[]; returnTo?: string },
  ): Promise<{ authorizationUrl: string; expiresAt: number }> {
    return this.update(connectionId, beginAuthorization, { ...request, redirectUri: this.deps.redirectUri });
  }

  async rotateApiKey(ref: { id: string; workspaceId: string }, request: { actor: string; apiKey: string }) {
    const sealedKey = await this.deps.vault.seal(
      { workspace: ref.workspaceId, connection: ref.id, purpose: 'api_key_submission' },
      request.apiKey,
    );
    return this.update(ref.id, submitApiKey, { actor: request.actor, sealedKey });
  }

  refresh(connectionId: string, actor: string): Promise<ConnectionSnapshot> {
    return this.update(connectionId, refreshConnection, { actor, requestedAt: Date.now() });
  }

  deactivate(connectionId: string, actor: string): Promise<ConnectionSnapshot> {
    return this.update(connectionId, deactivateConnection, { actor });
  }

  activate(connectionId: string, actor: string): Promise<ConnectionSnapshot> {
    return this.update(connectionId, activateConnection, { actor });
  }

  /**
   * Removes the connection through its workflow, which checks the dependents, records the removal and the
   * notices in one transaction, destroys the credentials and tells each dependent durably. Refused with
   * `has_dependents` (changing nothing) while dependents remain, unless forced. A connection already
   * disconnected (its workflow closed) stays as it is.
   */
  async remove(
    connectionId: string,
    request: { actor: string; force: boolean; reason?: string },
  ): Promise<Removal> {
    let result;
    try {
      result = await this.update(connectionId, disconnectConnection, request);
    } catch (error) {
      if (!(error instanceof ConnectionError) || error.code !== 'conflict') throw error;
      const row = await connectionStore.status(this.deps.db, connectionId);
      if (row?.status === 'disconnected') {
        const snapshot: ConnectionSnapshot = {
          id: connectionId,
          status: 'disconnected',
          reason: row.statusReason ?? undefined,
          authorizationPending: false,
        };
        return { snapshot, notified: [] };
      }
      throw error;
    }
    if (!result.disconnected) {
      throw new ConnectionError('has_dependents', 'the connection has dependents; remove them or force', {
        dependents: result.dependents,
      });
    }
    return { snapshot: result.snapshot, notified: result.notified };
  }

  /** Removes the connection whatever depends on it (its dependents are told): as an operator would. */
  async disconnect(connectionId: string, actor: string, reason?: string): Promise<ConnectionSnapshot> {
    return (await this.remove(connectionId, { actor, reason, force: true })).snapshot;
  }

  private update<Ret, Args extends [unknown]>(
    connectionId: string,
    update: UpdateDefinition<Ret, Args>,
    arg: Args[0],
  ): Promise<Ret> {
    return sendUpdate(this.deps, connectionId, update, arg);
  }
}
