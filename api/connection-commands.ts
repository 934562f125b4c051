// What the API (and anything else on the service side) may do to a connection: start its workflow, send it
// updates, and report what the workflow decided. It never writes a status itself. Secrets that must reach
// an activity (a pasted API key, an authorization code) are sealed here first, so that only ciphertext
// enters Temporal.
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { hashState } from '../activities/connection-activities.js';
import { integrationStore } from '../stores/integration-store.js';
import type { CredentialVault } from '../vault/index.js';
import type { connectionLifecycle } from '../workflows/connection-lifecycle.js';
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
  type ConnectionRef,
  type ConnectionSnapshot,
  type LifecycleSettings,
} from '../workflows/messages.js';
import {
  ConnectionIntegration,
  ConnectionScope,
  ConnectionStatus,
  WorkspaceId,
} from '../workflows/search-attributes.js';
import { ApiError } from './errors.js';

export interface ConnectionCommandDependencies {
  temporal: Client;
  db: Knex;
  vault: CredentialVault;
  settings: LifecycleSettings;
  /** The exact redirect URI registered with providers: `${PUBLIC_URL}/v1/oauth/callback`. */
  redirectUri: string;
  taskQueue?: string;
}

export interface NewConnection {
  workspaceId: string;
  integration: string;
  scope: 'workspace' | 'user';
  ownerUserId?: string;
  name?: string;
  actor: string;
}

export class ConnectionCommands {
  constructor(private readonly deps: ConnectionCommandDependencies) {}

  /** Starts an OAuth setup: the connection is `pending` until the provider redirects back. */
  async createOAuth(
    input: NewConnection & { scopes?: string[] },
  ): Promise<{ connectionId: string; authorizationUrl: string; expiresAt: number }> {
    await this.requireIntegration(input, 'oauth2');
    const ref = this.newRef(input, 'oauth2');
    const result = await this.withStart(ref, beginAuthorization, {
      actor: input.actor,
      redirectUri: this.deps.redirectUri,
      scopes: input.scopes,
    });
    return { connectionId: ref.id, ...result };
  }

  /** Verifies and stores an API key: `active`, or `failed` with reason `provider_rejected`. */
  async createApiKey(input: NewConnection & { apiKey: string }): Promise<ConnectionSnapshot> {
    await this.requireIntegration(input, 'api_key');
    const ref = this.newRef(input, 'api_key');
    const sealedKey = await this.deps.vault.seal(
      { workspace: ref.workspaceId, connection: ref.id, purpose: 'api_key_submission' },
      input.apiKey,
    );
    return this.withStart(ref, submitApiKey, { actor: input.actor, sealedKey });
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
    if (!row) throw new ApiError('invalid_request', 'this authorization link is unknown or has expired');
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
      if (!(error instanceof ApiError) || error.code !== 'conflict') throw error;
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
    await Promise.all(
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
    );
  }

  async describe(connectionId: string): Promise<ConnectionSnapshot> {
    return this.deps.temporal.workflow.getHandle(connectionWorkflowId(connectionId)).query(getConnection);
  }

  private async requireIntegration(input: NewConnection, authType: ConnectionRef['authType']): Promise<void> {
    const integration = await integrationStore.get(this.deps.db, input.workspaceId, input.integration);
    if (!integration || !integration.enabled) {
      throw new ApiError(
        'invalid_request',
        `integration ${input.integration} is not enabled in this workspace`,
      );
    }
    if (integration.provider.authType !== authType) {
      throw new ApiError(
        'invalid_request',
        authType === 'api_key'
          ? `integration ${input.integration} uses OAuth: create the connection without an apiKey`
          : `integration ${input.integration} needs an apiKey`,
      );
    }
    if (input.scope === 'user' && !input.ownerUserId) {
      throw new ApiError('invalid_request', 'a user connection needs its owner');
    }
  }

  private newRef(input: NewConnection, authType: ConnectionRef['authType']): ConnectionRef {
    return {
      id: randomUUID(),
      workspaceId: input.workspaceId,
      integration: input.integration,
      scope: input.scope,
      ownerUserId: input.scope === 'user' ? input.ownerUserId : undefined,
      authType,
      name: input.name,
      createdBy: input.actor,
    };
  }

  private async withStart<Ret, Args extends [unknown]>(
    ref: ConnectionRef,
    update: UpdateDefinition<Ret, Args>,
    arg: Args[0],
  ): Promise<Ret> {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof connectionLifecycle>(
      'connectionLifecycle',
      {
        workflowId: connectionWorkflowId(ref.id),
        taskQueue: this.deps.taskQueue ?? CONNECTIONS_TASK_QUEUE,
        args: [{ connection: ref, settings: this.deps.settings }],
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: [
          { key: ConnectionStatus, value: 'pending' },
          { key: ConnectionIntegration, value: ref.integration },
          { key: ConnectionScope, value: ref.scope },
          { key: WorkspaceId, value: ref.workspaceId },
        ],
      },
    );
    try {
      return await this.deps.temporal.workflow.executeUpdateWithStart(update, {
        args: [arg] as unknown as Args,
        startWorkflowOperation,
      });
    } catch (error) {
      throw translate(error);
    }
  }

  private async update<Ret, Args extends [unknown]>(
    connectionId: string,
    update: UpdateDefinition<Ret, Args>,
    arg: Args[0],
  ): Promise<Ret> {
    try {
      return await this.deps.temporal.workflow
        .getHandle(connectionWorkflowId(connectionId))
        .executeUpdate(update, { args: [arg] as unknown as Args });
    } catch (error) {
      throw translate(error);
    }
  }
}

/** What the workflow refused, as the API's error vocabulary. Unexpected errors pass through unchanged. */
function translate(error: unknown): unknown {
  if (error instanceof WorkflowNotFoundError) {
    return new ApiError('conflict', 'the connection has no running lifecycle (it is disconnected or failed)');
  }
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const failure = error.cause;
    if (failure.type === 'AuthorizationRefused') return new ApiError('invalid_request', failure.message);
    if (failure.type === 'ProviderRejected') return new ApiError('provider_rejected', failure.message);
    return new ApiError('conflict', failure.message);
  }
  return error;
}
