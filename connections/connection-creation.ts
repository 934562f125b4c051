// How a connection comes to be: its workflow started together with its setup update (an OAuth authorization,
// or an API key to verify), retry-safe under an Idempotency-Key. The key stands for one connection id
// (connections/create-requests.ts), the workflow is started with USE_EXISTING and the setup update has an id
// derived from the connection, so Temporal runs it once and answers every retry, even a concurrent one, with
// its result. A pasted API key is sealed before it enters Temporal; nothing here writes a status.
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { CredentialVault } from '../vault/index.js';
import { integrationStore } from '../integrations/integration-store.js';
import type { connectionLifecycle } from '../workflows/connection-lifecycle.js';
import {
  beginAuthorization,
  connectionWorkflowId,
  CONNECTIONS_TASK_QUEUE,
  submitApiKey,
  type ConnectionRef,
  type ConnectionSnapshot,
  type ConnectionStatus as Status,
} from '../workflows/messages.js';
import {
  ConnectionIntegration,
  ConnectionScope,
  ConnectionStatus,
  WorkspaceId,
} from '../workflows/search-attributes.js';
import { ConnectionError } from './connection-errors.js';
import { connectionStore } from './connection-store.js';
import { createRequestStore, type CreateIdempotency } from './create-requests.js';
import { withDeadline, type WorkflowCalls } from './workflow-calls.js';

export interface CreationDependencies extends WorkflowCalls {
  db: Knex;
  vault: CredentialVault;
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
  /** The connection's parameters, checked against its provider's (defaults applied) by the caller. */
  params?: Record<string, string>;
  actor: string;
  /** Makes the create safe to retry; `actor` (the caller's sub) is part of the key's scope. */
  idempotency?: CreateIdempotency;
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

export type OAuthInput = NewConnection & {
  scopes?: string[];
  /** Where the browser goes after the callback, already checked (checkReturnTo). */
  returnTo?: string;
};

type Started<Ret> =
  { ref: ConnectionRef; result: Ret } | { ref: ConnectionRef; ended: Omit<EndedSetup, 'connectionId'> };

export class ConnectionCreation {
  constructor(private readonly deps: CreationDependencies) {}

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

  private async requireIntegration(input: NewConnection, authType: ConnectionRef['authType']): Promise<void> {
    const integration = await integrationStore.get(this.deps.db, input.workspaceId, input.integration);
    if (!integration || !integration.enabled) {
      throw new ConnectionError(
        'invalid_setup',
        `integration ${input.integration} is not enabled in this workspace`,
      );
    }
    if (integration.provider.authType !== authType) {
      throw new ConnectionError(
        'invalid_setup',
        authType === 'api_key'
          ? `integration ${input.integration} uses OAuth: create the connection without an apiKey`
          : `integration ${input.integration} needs an apiKey`,
      );
    }
    if (input.scope === 'user' && !input.ownerUserId) {
      throw new ConnectionError('invalid_setup', 'a user connection needs its owner');
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
  ): Promise<Started<Ret>> {
    if (!input.idempotency) {
      const ref = this.newRef(input, authType, randomUUID());
      return { ref, result: await this.withStart(ref, update, await arg(ref)) };
    }
    const id = await createRequestStore.claim(
      this.deps.db,
      { workspaceId: input.workspaceId, caller: input.actor },
      input.idempotency,
    );
    const ref = this.newRef(input, authType, id);
    const ended = await this.endedSetup(ref.id);
    if (ended) return { ref, ended };
    try {
      return { ref, result: await this.withStart(ref, update, await arg(ref), `create-${ref.id}`) };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // The workflow closed after the check above (the setup failed, or the connection was removed).
      const closed = await this.endedSetup(ref.id);
      if (closed) return { ref, ended: closed };
      throw new ConnectionError(
        'conflict',
        'the connection of this Idempotency-Key has no running lifecycle',
      );
    }
  }

  /** The connection's status once its setup has ended (anything but `pending`); undefined before. */
  private async endedSetup(connectionId: string): Promise<Omit<EndedSetup, 'connectionId'> | undefined> {
    const row = await connectionStore.status(this.deps.db, connectionId);
    if (!row || row.status === 'pending') return undefined;
    return { status: row.status, reason: row.statusReason ?? undefined };
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
      ...(input.params && Object.keys(input.params).length ? { params: input.params } : {}),
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
        args: [{ connection: ref }],
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
    return withDeadline(this.deps, () =>
      this.deps.temporal.workflow.executeUpdateWithStart(update, {
        args: [arg] as unknown as Args,
        startWorkflowOperation,
        ...(updateId ? { updateId } : {}),
      }),
    );
  }
}
