// What the API (and anything else on the service side) may do to a connection: start its workflow, send it
// updates, and report what the workflow decided. It never writes a status itself, and it refuses in the
// domain's words (ConnectionError, connections/connection-errors.ts), never in HTTP's. Secrets that must
// reach an activity (a pasted API key, an authorization code) are sealed here first, so that only ciphertext
// enters Temporal. Creation and its Idempotency-Key are in connections/connection-creation.ts.
import type { UpdateDefinition } from '@temporalio/common';
import type { notifyDependent } from '../workflows/dependent-notification.js';
import {
  activateConnection,
  beginAuthorization,
  completeAuthorization,
  connectionWorkflowId,
  CONNECTIONS_TASK_QUEUE,
  deactivateConnection,
  disconnectConnection,
  getConnection,
  refreshConnection,
  submitApiKey,
  type ConnectionSnapshot,
} from '../workflows/messages.js';
import { WorkspaceId } from '../workflows/search-attributes.js';
import {
  ConnectionCreation,
  type CreationDependencies,
  type EndedSetup,
  type NewConnection,
  type OAuthInput,
  type OAuthSetup,
} from './connection-creation.js';
import { ConnectionError } from './connection-errors.js';
import { hashState } from './oauth-state-store.js';
import { sendUpdate, withDeadline } from './workflow-calls.js';

export { COMMAND_TIMEOUT_MS } from './workflow-calls.js';

export interface ConnectionCommandDependencies extends CreationDependencies {
  /** COMMAND_TIMEOUT_SECONDS: how long a caller waits for the workflow's answer before a 503. */
  commandTimeoutMs?: number;
}

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
   * The provider's redirect. Bound only by `state`: an unknown, foreign, used or expired state, or a wrong
   * `iss`, is refused with 400 and changes nothing.
   */
  async completeCallback(params: {
    state: string;
    code?: string;
    iss?: string;
    error?: string;
  }): Promise<{ connectionId: string; workspaceId: string; snapshot: ConnectionSnapshot }> {
    const row = await this.deps
      .db('oauth_states')
      .where({ state_hash: hashState(params.state) })
      .first();
    if (!row)
      throw new ConnectionError('unknown_authorization', 'this authorization link is unknown or has expired');
    const sealedCode = params.code
      ? await this.deps.vault.seal(
          { workspace: row.workspace_id, connection: row.connection_id, purpose: 'authorization_code' },
          params.code,
        )
      : undefined;
    const snapshot = await this.update(row.connection_id, completeAuthorization, {
      state: params.state,
      sealedCode,
      iss: params.iss,
      error: params.error,
    });
    return { connectionId: row.connection_id, workspaceId: row.workspace_id, snapshot };
  }

  async reauthorize(
    connectionId: string,
    request: { actor: string; scopes?: string[] },
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

  /** Disconnects; a connection that is already disconnected (its workflow closed) stays as it is. */
  async disconnect(connectionId: string, actor: string, reason?: string): Promise<ConnectionSnapshot> {
    try {
      return await this.update(connectionId, disconnectConnection, { actor, reason });
    } catch (error) {
      if (!(error instanceof ConnectionError) || error.code !== 'conflict') throw error;
      const row = await this.deps
        .db('connections')
        .where({ id: connectionId })
        .first('status', 'status_reason');
      if (row?.status === 'disconnected') {
        return {
          id: connectionId,
          status: 'disconnected',
          reason: row.status_reason,
          authorizationPending: false,
        };
      }
      throw error;
    }
  }

  /**
   * Tells each dependent, durably, that the connection is gone: one `notifyDependent` workflow per dependent
   * (a webhook, retried by Temporal; nothing is sent when no webhook is configured). Idempotent per
   * connection and dependent.
   */
  async notifyDependents(
    ref: { id: string; workspaceId: string },
    dependents: Array<{ kind: string; id: string }>,
    reason: string,
  ): Promise<void> {
    const occurredAt = new Date().toISOString();
    await this.withDeadline(() =>
      Promise.all(
        dependents.map((dependent) =>
          this.deps.temporal.workflow.start<typeof notifyDependent>('notifyDependent', {
            taskQueue: this.deps.taskQueue ?? CONNECTIONS_TASK_QUEUE,
            workflowId: `dependent-notice-${ref.id}-${dependent.kind}-${dependent.id}`,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [
              {
                type: 'connection.disconnected',
                workspaceId: ref.workspaceId,
                connectionId: ref.id,
                dependent,
                reason,
                occurredAt,
              },
            ],
            typedSearchAttributes: [{ key: WorkspaceId, value: ref.workspaceId }],
          }),
        ),
      ),
    );
  }

  async describe(connectionId: string): Promise<ConnectionSnapshot> {
    return this.withDeadline(() =>
      this.deps.temporal.workflow.getHandle(connectionWorkflowId(connectionId)).query(getConnection),
    );
  }

  private withDeadline<T>(call: () => Promise<T>): Promise<T> {
    return withDeadline(this.deps, call);
  }

  private update<Ret, Args extends [unknown]>(
    connectionId: string,
    update: UpdateDefinition<Ret, Args>,
    arg: Args[0],
  ): Promise<Ret> {
    return sendUpdate(this.deps, connectionId, update, arg);
  }
}
