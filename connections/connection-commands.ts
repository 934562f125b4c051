// What the API (and anything else on the service side) may do to a connection: start its workflow, send it
// updates, and report what the workflow decided. It never writes a status itself. Secrets that must reach
// an activity (a pasted API key, an authorization code) are sealed here first, so that only ciphertext
// enters Temporal.
//
// A create that carries an Idempotency-Key is safe to retry: the key stands for one connection id (claimed in
// connection_create_requests by the first request), the workflow is started with USE_EXISTING and the setup
// update has an id derived from the connection, so Temporal runs it once and answers every retry, even a
// concurrent one, with its result.
import {
  isGrpcDeadlineError,
  isGrpcServiceError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { hashState } from '../activities/connection-activities.js';
import { integrationStore } from '../integrations/integration-store.js';
import type { CredentialVault } from '../vault/index.js';
import type { connectionLifecycle } from '../workflows/connection-lifecycle.js';
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
  type ConnectionStatus as Status,
  type DependentNoticeRecord,
  type LifecycleSettings,
} from '../workflows/messages.js';
import {
  ConnectionIntegration,
  ConnectionScope,
  ConnectionStatus,
  WorkspaceId,
} from '../workflows/search-attributes.js';
import { ApiError } from '../api/errors.js';

export interface ConnectionCommandDependencies {
  temporal: Client;
  db: Knex;
  vault: CredentialVault;
  settings: LifecycleSettings;
  /** The exact redirect URI registered with providers: `${PUBLIC_URL}/v1/oauth/callback`. */
  redirectUri: string;
  taskQueue?: string;
  /** COMMAND_TIMEOUT_SECONDS: how long a caller waits for the workflow's answer before a 503. */
  commandTimeoutMs?: number;
}

/** The default of COMMAND_TIMEOUT_SECONDS. */
export const COMMAND_TIMEOUT_MS = 60_000;

export interface NewConnection {
  workspaceId: string;
  integration: string;
  scope: 'workspace' | 'user';
  ownerUserId?: string;
  name?: string;
  actor: string;
  /** Makes the create safe to retry; `actor` (the caller's sub) is part of the key's scope. */
  idempotency?: CreateIdempotency;
}

/** A caller's Idempotency-Key and the fingerprint of the request it came with. */
export interface CreateIdempotency {
  key: string;
  /** `createRequestFingerprint` of the request. */
  fingerprint: string;
}

export interface OAuthSetup {
  connectionId: string;
  authorizationUrl: string;
  expiresAt: number;
}

/** A retried create whose setup has already ended (authorized, failed, removed): nothing was started again. */
export interface EndedSetup {
  connectionId: string;
  status: Status;
  reason?: string;
}

type OAuthInput = NewConnection & {
  scopes?: string[];
  /** Where the browser goes after the callback, already checked (checkReturnTo). */
  returnTo?: string;
};

/** A removal the workflow carried out: how the connection stands, and the dependents told of it. */
export interface Removal {
  snapshot: ConnectionSnapshot;
  notified: DependentNoticeRecord[];
}

/**
 * What a create request asks for, as one SHA-256 (hex) of a canonical JSON: a retry under the same
 * Idempotency-Key must match it. An API key enters only as its own SHA-256, never in clear.
 */
export function createRequestFingerprint(request: {
  integration: string;
  scope: string;
  name?: string;
  scopes?: string[];
  returnTo?: string;
  apiKey?: string;
}): string {
  return sha256(
    JSON.stringify({
      apiKeySha256: request.apiKey === undefined ? null : sha256(request.apiKey),
      integration: request.integration,
      name: request.name ?? null,
      returnTo: request.returnTo ?? null,
      scope: request.scope,
      scopes: request.scopes ?? null,
    }),
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ConnectionCommands {
  constructor(private readonly deps: ConnectionCommandDependencies) {}

  /**
   * Starts an OAuth setup: the connection is `pending` until the provider redirects back. A retry under the
   * same Idempotency-Key answers the first setup's authorization URL, or, once that setup has ended, how the
   * connection stands.
   */
  async createOAuth(input: OAuthInput & { idempotency?: undefined }): Promise<OAuthSetup>;
  async createOAuth(input: OAuthInput): Promise<OAuthSetup | EndedSetup>;
  async createOAuth(input: OAuthInput): Promise<OAuthSetup | EndedSetup> {
    await this.requireIntegration(input, 'oauth2');
    const started = await this.start(input, 'oauth2', beginAuthorization, () => ({
      actor: input.actor,
      redirectUri: this.deps.redirectUri,
      scopes: input.scopes,
      returnTo: input.returnTo,
    }));
    if ('ended' in started) return { connectionId: started.ref.id, ...started.ended };
    return { connectionId: started.ref.id, ...started.result };
  }

  /**
   * Verifies and stores an API key: `active`, or `failed` with reason `provider_rejected`. A retry under the
   * same Idempotency-Key answers the first one's outcome (the key is verified once), or how the connection
   * stands now.
   */
  async createApiKey(input: NewConnection & { apiKey: string }): Promise<ConnectionSnapshot> {
    await this.requireIntegration(input, 'api_key');
    const started = await this.start(input, 'api_key', submitApiKey, async (ref) => ({
      actor: input.actor,
      sealedKey: await this.deps.vault.seal(
        { workspace: ref.workspaceId, connection: ref.id, purpose: 'api_key_submission' },
        input.apiKey,
      ),
    }));
    if ('ended' in started) {
      return { id: started.ref.id, ...started.ended, authorizationPending: false };
    }
    return started.result;
  }

  /**
   * The provider's redirect. Bound only by `state`: an unknown, foreign, used or expired state, or a wrong
   * `iss`, is refused with 400 and changes nothing. Answers where the browser goes next as the setup carried
   * it (`returnTo`: null for nowhere; undefined for a setup begun before setups carried it).
   */
  async completeCallback(params: { state: string; code?: string; iss?: string; error?: string }): Promise<{
    connectionId: string;
    workspaceId: string;
    snapshot: ConnectionSnapshot;
    returnTo?: string | null;
  }> {
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
    const { snapshot, returnTo } = await this.update(row.connection_id, completeAuthorization, {
      state: params.state,
      sealedCode,
      iss: params.iss,
      error: params.error,
    });
    return { connectionId: row.connection_id, workspaceId: row.workspace_id, snapshot, returnTo };
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
      if (!(error instanceof ApiError) || error.code !== 'conflict') throw error;
      const row = await this.deps
        .db('connections')
        .where({ id: connectionId })
        .first('status', 'status_reason');
      if (row?.status === 'disconnected') {
        const snapshot: ConnectionSnapshot = {
          id: connectionId,
          status: 'disconnected',
          reason: row.status_reason,
          authorizationPending: false,
        };
        return { snapshot, notified: [] };
      }
      throw error;
    }
    if (!result.disconnected) {
      throw new ApiError('has_dependents', 'the connection has dependents; remove them or force', {
        dependents: result.dependents,
      });
    }
    return { snapshot: result.snapshot, notified: result.notified };
  }

  /** Removes the connection whatever depends on it (its dependents are told): as an operator would. */
  async disconnect(connectionId: string, actor: string, reason?: string): Promise<ConnectionSnapshot> {
    return (await this.remove(connectionId, { actor, reason, force: true })).snapshot;
  }

  async describe(connectionId: string): Promise<ConnectionSnapshot> {
    return this.withDeadline(() =>
      this.deps.temporal.workflow.getHandle(connectionWorkflowId(connectionId)).query(getConnection),
    );
  }

  /**
   * Runs Temporal calls under the command deadline: a workflow that cannot answer in time (its worker is down,
   * Temporal is unreachable) is a 503 for the caller, never a request that hangs. The command itself may still
   * complete; the read model shows whether it did.
   */
  private async withDeadline<T>(call: () => Promise<T>): Promise<T> {
    const timeoutMs = this.deps.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    try {
      return await this.deps.temporal.withDeadline(Date.now() + timeoutMs, call);
    } catch (error) {
      throw translate(error, timeoutMs);
    }
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

  /**
   * Starts a new connection's workflow with its setup update. With an Idempotency-Key, the connection id is
   * the key's, and a connection whose setup has already ended is answered as it stands, without starting
   * or sending anything: the workflow may have closed, or continued as new and forgotten the update's id.
   */
  private async start<Ret, Args extends [unknown]>(
    input: NewConnection,
    authType: ConnectionRef['authType'],
    update: UpdateDefinition<Ret, Args>,
    arg: (ref: ConnectionRef) => Args[0] | Promise<Args[0]>,
  ): Promise<
    { ref: ConnectionRef; result: Ret } | { ref: ConnectionRef; ended: Omit<EndedSetup, 'connectionId'> }
  > {
    if (!input.idempotency) {
      const ref = this.newRef(input, authType, randomUUID());
      return { ref, result: await this.withStart(ref, update, await arg(ref)) };
    }
    const ref = this.newRef(input, authType, await this.claimConnectionId(input, input.idempotency));
    const ended = await this.endedSetup(ref.id);
    if (ended) return { ref, ended };
    try {
      return { ref, result: await this.withStart(ref, update, await arg(ref), `create-${ref.id}`) };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // The workflow closed after the check above (the setup failed, or the connection was removed).
      const closed = await this.endedSetup(ref.id);
      if (closed) return { ref, ended: closed };
      throw new ApiError('conflict', 'the connection of this Idempotency-Key has no running lifecycle');
    }
  }

  /**
   * The connection id an Idempotency-Key stands for: claimed by the first request with the key (per
   * workspace and caller), read back by every retry. The same key with a different request is refused.
   */
  private async claimConnectionId(input: NewConnection, idempotency: CreateIdempotency): Promise<string> {
    const key = { workspace_id: input.workspaceId, caller: input.actor, key_hash: sha256(idempotency.key) };
    await this.deps
      .db('connection_create_requests')
      .insert({ ...key, fingerprint: idempotency.fingerprint, connection_id: randomUUID() })
      .onConflict(['workspace_id', 'caller', 'key_hash'])
      .ignore();
    const claimed = await this.deps
      .db('connection_create_requests')
      .where(key)
      .first('fingerprint', 'connection_id');
    if (!claimed) throw new ApiError('internal', 'the Idempotency-Key was not recorded');
    if (claimed.fingerprint !== idempotency.fingerprint) {
      throw new ApiError(
        'idempotency_key_reused',
        'this Idempotency-Key was already used for a different request; use a new key for a new connection',
      );
    }
    return claimed.connection_id;
  }

  /** The connection's status once its setup has ended (anything but `pending`); undefined before. */
  private async endedSetup(connectionId: string): Promise<Omit<EndedSetup, 'connectionId'> | undefined> {
    const row = await this.deps
      .db('connections')
      .where({ id: connectionId })
      .first('status', 'status_reason');
    if (!row || row.status === 'pending') return undefined;
    return { status: row.status, reason: row.status_reason ?? undefined };
  }

  private newRef(input: NewConnection, authType: ConnectionRef['authType'], id: string): ConnectionRef {
    return {
      id,
      workspaceId: input.workspaceId,
      integration: input.integration,
      scope: input.scope,
      ownerUserId: input.scope === 'user' ? input.ownerUserId : undefined,
      authType,
      name: input.name,
      createdBy: input.actor,
    };
  }

  /**
   * Starts the connection's workflow with its first update. With an update id (a retry-safe create), an
   * existing workflow is joined instead of refused and Temporal answers an update it has seen with its
   * result; a closed one is never started again.
   */
  private async withStart<Ret, Args extends [unknown]>(
    ref: ConnectionRef,
    update: UpdateDefinition<Ret, Args>,
    arg: Args[0],
    updateId?: string,
  ): Promise<Ret> {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof connectionLifecycle>(
      'connectionLifecycle',
      {
        workflowId: connectionWorkflowId(ref.id),
        taskQueue: this.deps.taskQueue ?? CONNECTIONS_TASK_QUEUE,
        args: [{ connection: ref, settings: this.deps.settings }],
        workflowIdConflictPolicy: updateId ? 'USE_EXISTING' : 'FAIL',
        ...(updateId ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
        typedSearchAttributes: [
          { key: ConnectionStatus, value: 'pending' },
          { key: ConnectionIntegration, value: ref.integration },
          { key: ConnectionScope, value: ref.scope },
          { key: WorkspaceId, value: ref.workspaceId },
        ],
      },
    );
    return this.withDeadline(() =>
      this.deps.temporal.workflow.executeUpdateWithStart(update, {
        args: [arg] as unknown as Args,
        startWorkflowOperation,
        ...(updateId ? { updateId } : {}),
      }),
    );
  }

  private async update<Ret, Args extends [unknown]>(
    connectionId: string,
    update: UpdateDefinition<Ret, Args>,
    arg: Args[0],
  ): Promise<Ret> {
    return this.withDeadline(() =>
      this.deps.temporal.workflow
        .getHandle(connectionWorkflowId(connectionId))
        .executeUpdate(update, { args: [arg] as unknown as Args }),
    );
  }
}

/** What the workflow refused, as the API's error vocabulary. Unexpected errors pass through unchanged. */
function translate(error: unknown, timeoutMs: number): unknown {
  if (error instanceof ApiError || error instanceof WorkflowExecutionAlreadyStartedError) return error;
  if (error instanceof WorkflowNotFoundError) {
    return new ApiError('conflict', 'the connection has no running lifecycle (it is disconnected or failed)');
  }
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const failure = error.cause;
    if (failure.type === 'AuthorizationRefused') return new ApiError('invalid_request', failure.message);
    if (failure.type === 'ProviderRejected') return new ApiError('provider_rejected', failure.message);
    if (failure.type === 'ProviderUnavailable') return new ApiError('provider_unavailable', failure.message);
    return new ApiError('conflict', failure.message);
  }
  if (isGrpcDeadlineError(error)) {
    return new ApiError(
      'service_unavailable',
      `the connection did not answer within ${Math.round(timeoutMs / 1000)} s; the command may still ` +
        'complete: read the connection to see how it stands',
    );
  }
  if (isGrpcServiceError(error)) {
    // The server's own words can name internals; the caller learns only that it is unavailable.
    return new ApiError('service_unavailable', 'the workflow service is unavailable; try again shortly');
  }
  return error;
}
