// The connection workflow's side effects: provider calls (authorization request, code exchange, refresh,
// key verification, revocation), the credential vault, and the Postgres read model. Each activity that
// obtains a credential seals and stores it itself and returns metadata only: this module never returns a
// token, key, code or verifier to a workflow, and never logs one. No transaction is ever open across a
// provider or KMS call: credentials are sealed before the transaction that stores them, and an authorization
// state is claimed by one statement before the code exchange rather than locked during it.
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import { refreshesTotal, transitionsTotal } from '../observability/metrics.js';
import { verifyApiKey } from '../providers/api-key-client.js';
import {
  buildAuthorizationUrl,
  exchangeCode,
  newAuthorizationSecrets,
  refreshTokens,
  revokeToken,
  validateCallback,
  type OAuthOptions,
  type TokenSet,
} from '../providers/oauth-client.js';
import { createOutboundGuard, type OutboundGuard } from '../providers/outbound-guard.js';
import type { ApiKeyProviderConfig, OAuthProviderConfig } from '../providers/provider-config.js';
import { ProviderError } from '../providers/provider-error.js';
import { publishConnectionChange } from '../connections/connection-changes.js';
import { connectionStore } from '../connections/connection-store.js';
import { credentialStore } from '../connections/credential-store.js';
import { integrationStore } from '../integrations/integration-store.js';
import { parseStoredTokens, type StoredTokens } from '../connections/stored-tokens.js';
import type {
  CredentialPurpose,
  CredentialVault,
  EncryptionContext,
  SealedCredential,
} from '../vault/index.js';
import type { ConnectionRef, ConnectionStatus } from '../workflows/messages.js';
import { cancellableCall, classify, failure, withClassifiedFailures } from './failures.js';

export interface ConnectionActivityDependencies {
  db: Knex;
  vault: CredentialVault;
  logger: Logger;
  /** Allow http:// provider URLs (development and tests only). */
  allowInsecureProviderUrls?: boolean;
  /** How long one provider request may take; 15 s by default. */
  providerCallTimeoutMs?: number;
  /** The way out to providers; by default one that checks addresses unless insecure URLs are allowed. */
  outbound?: OutboundGuard;
  /** Deliberate fault injection for tests of crash recovery; never set in production. */
  faults?: { afterCodeExchange?: () => void; afterTokensStored?: () => void };
}

export interface TransitionRecord {
  connection: ConnectionRef;
  sequence: number;
  from: ConnectionStatus | null;
  to: ConnectionStatus;
  reason: string | null;
  actor: string;
  at: number;
  metadata: ScheduleMetadata;
}

export interface ScheduleMetadata {
  tokenExpiresAt: number | null;
  nextRefreshAt: number | null;
  keyCreatedAt: number | null;
  keyRotationDueAt: number | null;
}

export interface TokenMetadata {
  expiresAt?: number;
  /** When the tokens were obtained; absent for tokens stored before it was recorded. */
  obtainedAt?: number;
  scopes?: string[];
  hasRefreshToken: boolean;
}

const toDate = (ms: number | null) => (ms === null ? null : new Date(ms));

export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

function context(connection: ConnectionRef, purpose: CredentialPurpose): EncryptionContext {
  return { workspace: connection.workspaceId, connection: connection.id, purpose };
}

function refused(message: string) {
  return failure('AuthorizationRefused', message);
}

/**
 * Inside a transaction that stores a credential: locks the connection's row and refuses once its credentials
 * have been destroyed, so that a command a disconnect cut short cannot leave an orphan credential behind.
 */
async function requireNotDestroyed(tx: Knex.Transaction, connectionId: string): Promise<void> {
  const row = await tx('connections')
    .where({ id: connectionId })
    .forUpdate()
    .first('credentials_destroyed_at');
  if (!row || row.credentials_destroyed_at) {
    throw failure('ConnectionRemoved', 'the connection was disconnected: nothing is stored for it');
  }
}

/**
 * Records a transition (or a notice, when from equals to) once, and mirrors it onto the connection row, inside
 * the caller's transaction; answers whether it was new (false for a retry of one already recorded).
 */
export async function writeTransition(tx: Knex.Transaction, record: TransitionRecord): Promise<boolean> {
  const { connection } = record;
  if (record.from === null) {
    await tx('connections')
      .insert({
        id: connection.id,
        workspace_id: connection.workspaceId,
        integration: connection.integration,
        scope: connection.scope,
        owner_user_id: connection.ownerUserId ?? null,
        name: connection.name ?? null,
        auth_type: connection.authType,
        status: record.to,
        status_reason: record.reason,
        created_by: connection.createdBy,
        created_at: new Date(record.at),
        updated_at: new Date(record.at),
      })
      .onConflict('id')
      .ignore();
  }
  const inserted = await tx('connection_events')
    .insert({
      connection_id: connection.id,
      workspace_id: connection.workspaceId,
      sequence: record.sequence,
      from_status: record.from,
      to_status: record.to,
      reason: record.reason,
      actor: record.actor,
      occurred_at: new Date(record.at),
    })
    .onConflict(['connection_id', 'sequence'])
    .ignore()
    .returning('id');
  if (inserted.length === 0) return false; // a retry of a transition already recorded
  transitionsTotal.inc({ from: record.from ?? 'none', to: record.to });
  await publishConnectionChange(tx, {
    connectionId: connection.id,
    kind: 'status',
    from: record.from,
    status: record.to,
    ...(record.reason ? { reason: record.reason } : {}),
  });
  await tx('connections')
    .where({ id: connection.id })
    .update({
      status: record.to,
      status_reason: record.reason,
      updated_at: new Date(record.at),
      token_expires_at: toDate(record.metadata.tokenExpiresAt),
      next_refresh_at: toDate(record.metadata.nextRefreshAt),
      key_created_at: toDate(record.metadata.keyCreatedAt),
      key_rotation_due_at: toDate(record.metadata.keyRotationDueAt),
      ...(record.to === 'disconnected' ? { disconnected_at: new Date(record.at) } : {}),
    });
  return true;
}

/** An authorization request's row, as the code exchange needs it. */
interface ClaimedState {
  redirect_uri: string;
  scopes: string[];
  verifier_envelope: SealedCredential | null;
}

export function createConnectionActivities(deps: ConnectionActivityDependencies) {
  const { db, vault } = deps;
  const timeoutMs = deps.providerCallTimeoutMs ?? 15_000;
  const outbound = deps.outbound ?? createOutboundGuard({ checkAddresses: !deps.allowInsecureProviderUrls });
  const oauthOptions = (signal: AbortSignal): OAuthOptions => ({
    allowInsecureRequests: deps.allowInsecureProviderUrls ?? false,
    outbound,
    signal,
  });

  async function oauthIntegration(connection: ConnectionRef) {
    const integration = await integrationStore.get(db, connection.workspaceId, connection.integration);
    if (!integration || integration.provider.authType !== 'oauth2' || !integration.clientId) {
      throw failure(
        'IntegrationUnavailable',
        `integration ${connection.integration} is not configured for OAuth in this workspace`,
      );
    }
    const clientSecret = await integrationStore.openClientSecret(
      db,
      vault,
      connection.workspaceId,
      connection.integration,
    );
    return {
      integration,
      provider: integration.provider as OAuthProviderConfig,
      credentials: { clientId: integration.clientId, clientSecret },
    };
  }

  async function apiKeyProvider(connection: ConnectionRef): Promise<ApiKeyProviderConfig> {
    const integration = await integrationStore.get(db, connection.workspaceId, connection.integration);
    if (!integration || integration.provider.authType !== 'api_key') {
      throw failure(
        'IntegrationUnavailable',
        `integration ${connection.integration} is not configured for API keys in this workspace`,
      );
    }
    return integration.provider;
  }

  /**
   * Seals a credential, then stores it in place of any old one and announces the change, in one transaction
   * in which `more` runs too; refused once the connection's credentials were destroyed.
   */
  async function storeCredential(
    connection: ConnectionRef,
    purpose: 'oauth_tokens' | 'api_key',
    plaintext: string,
    more?: (tx: Knex.Transaction) => Promise<void>,
  ): Promise<void> {
    const sealed = await vault.seal(context(connection, purpose), plaintext);
    await db.transaction(async (tx) => {
      await requireNotDestroyed(tx, connection.id);
      await credentialStore.put(
        tx,
        { workspaceId: connection.workspaceId, connectionId: connection.id, purpose },
        sealed,
      );
      await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
      await more?.(tx);
    });
  }

  const storeTokens = (
    connection: ConnectionRef,
    tokens: StoredTokens,
    more?: (tx: Knex.Transaction) => Promise<void>,
  ) => storeCredential(connection, 'oauth_tokens', JSON.stringify(tokens), more);

  async function loadTokens(connection: ConnectionRef): Promise<StoredTokens | undefined> {
    const sealed = await credentialStore.get(db, {
      workspaceId: connection.workspaceId,
      connectionId: connection.id,
      purpose: 'oauth_tokens',
    });
    if (!sealed) return undefined;
    return parseStoredTokens(await vault.openText(context(connection, 'oauth_tokens'), sealed));
  }

  function metadataOf(tokens: StoredTokens): TokenMetadata {
    return {
      expiresAt: tokens.expiresAt,
      obtainedAt: tokens.obtainedAt,
      scopes: tokens.scopes,
      hasRefreshToken: Boolean(tokens.refreshToken),
    };
  }

  /**
   * Claims a callback's authorization state for one code exchange (`claim`: its workflow run and activity, so
   * that the activity's own retries may claim it again), in one statement: no lock is held while the
   * provider is called. Refuses a state that does not belong to this setup, was used, or expired.
   */
  async function claimState(
    connection: ConnectionRef,
    input: { setupId: string; state: string },
    claim: string | null,
  ): Promise<ClaimedState | { alreadyStored: TokenMetadata }> {
    const stateHash = hashState(input.state);
    const claimed: ClaimedState[] = await db('oauth_states')
      .where({ state_hash: stateHash, connection_id: connection.id, setup_id: input.setupId })
      .whereNull('used_at')
      .where('expires_at', '>', db.fn.now())
      .andWhere((q) => {
        q.whereNull('claimed_by');
        if (claim) q.orWhere({ claimed_by: claim });
      })
      .update({ claimed_by: claim ?? 'error-callback' })
      .returning(['redirect_uri', 'scopes', 'verifier_envelope']);
    if (claimed[0]) return claimed[0];
    const row = await db('oauth_states').where({ state_hash: stateHash }).first();
    if (!row || row.connection_id !== connection.id || row.setup_id !== input.setupId) {
      throw refused('the authorization state does not belong to this connection');
    }
    if (row.used_at && claim && row.claimed_by === claim) {
      // A retry of an exchange that stored the tokens but died before reporting: answer from the store.
      const current = await db('connections').where({ id: connection.id }).first('setup_id');
      const tokens = current?.setup_id === input.setupId ? await loadTokens(connection) : undefined;
      if (tokens) return { alreadyStored: metadataOf(tokens) };
    }
    if (row.used_at || row.claimed_by) throw refused('this authorization link was already used');
    throw refused('this authorization link has expired');
  }

  const activities = {
    /** Records a transition (or a notice, when from equals to) once, and mirrors it onto the connection row. */
    async recordTransition(record: TransitionRecord): Promise<void> {
      await db.transaction((tx) => writeTransition(tx, record));
    },

    async recordSchedule(input: { connection: ConnectionRef; metadata: ScheduleMetadata }): Promise<void> {
      await db('connections')
        .where({ id: input.connection.id })
        .update({
          token_expires_at: toDate(input.metadata.tokenExpiresAt),
          next_refresh_at: toDate(input.metadata.nextRefreshAt),
        });
    },

    async createAuthorizationRequest(input: {
      connection: ConnectionRef;
      setupId: string;
      redirectUri: string;
      scopes?: string[];
      expiresAt: number;
    }): Promise<{ authorizationUrl: string }> {
      const { connection } = input;
      const { integration, provider } = await oauthIntegration(connection);
      const scopes = input.scopes ?? integration.scopes ?? provider.scopes;
      const { state, codeVerifier } = newAuthorizationSecrets();
      const authorizationUrl = await buildAuthorizationUrl(provider, integration.clientId!, {
        state,
        codeVerifier,
        redirectUri: input.redirectUri,
        scopes,
      });
      const sealedVerifier = await vault.seal(context(connection, 'pkce_verifier'), codeVerifier);
      await db('oauth_states').insert({
        state_hash: hashState(state),
        connection_id: connection.id,
        workspace_id: connection.workspaceId,
        setup_id: input.setupId,
        issuer: provider.issuer,
        redirect_uri: input.redirectUri,
        scopes,
        verifier_envelope: JSON.stringify(sealedVerifier),
        expires_at: new Date(input.expiresAt),
      });
      return { authorizationUrl };
    },

    /**
     * Completes an authorization: claims the callback's state (known, of this setup, unused, unexpired),
     * checks the callback (iss), exchanges the code with the PKCE verifier, then stores the tokens and spends
     * the state in one transaction. A retry after a crash that already stored them answers from the store;
     * one that crashed before finds the code spent at the provider.
     */
    async exchangeAuthorizationCode(input: {
      connection: ConnectionRef;
      setupId: string;
      state: string;
      sealedCode?: SealedCredential;
      iss?: string;
    }): Promise<TokenMetadata> {
      const { connection } = input;
      const { provider, credentials } = await oauthIntegration(connection);
      const info = Context.current().info;
      const claim = `${info.workflowExecution?.runId ?? info.workflowType}:${info.activityId}`;
      const claimed = await claimState(connection, input, claim);
      if ('alreadyStored' in claimed) return claimed.alreadyStored;
      // A callback refused before any token was obtained changes nothing: the state is released again.
      const refuseAndRelease = async (message: string) => {
        await db('oauth_states')
          .where({ state_hash: hashState(input.state), claimed_by: claim })
          .whereNull('used_at')
          .update({ claimed_by: null });
        return refused(message);
      };
      if (!input.sealedCode || !claimed.verifier_envelope) {
        throw await refuseAndRelease('the callback carries no authorization code');
      }
      let callback: URLSearchParams;
      try {
        const code = await vault.openText(context(connection, 'authorization_code'), input.sealedCode);
        callback = validateCallback(
          provider,
          credentials.clientId,
          { code, state: input.state, iss: input.iss },
          input.state,
        );
      } catch (error) {
        throw await refuseAndRelease(
          error instanceof ProviderError ? error.message : 'the callback could not be checked',
        );
      }
      const verifier = await vault.openText(context(connection, 'pkce_verifier'), claimed.verifier_envelope);
      let tokens: TokenSet;
      try {
        tokens = await cancellableCall(timeoutMs, (signal) =>
          exchangeCode(provider, credentials, callback, claimed.redirect_uri, verifier, oauthOptions(signal)),
        );
      } catch (error) {
        // On a first attempt a refused code is someone else's or a forged one: the setup goes on waiting.
        // On a retry it is most likely our own, spent by an attempt that died before storing the tokens.
        if (error instanceof ProviderError && error.kind === 'invalid_grant' && info.attempt === 1) {
          throw await refuseAndRelease('the provider refused the authorization code');
        }
        throw error;
      }
      deps.faults?.afterCodeExchange?.();
      // Without a `scope` in the answer, the provider granted what was asked (RFC 6749, 5.1).
      const stored: StoredTokens = { ...tokens, scopes: tokens.scopes ?? claimed.scopes };
      await storeTokens(connection, stored, async (tx) => {
        await tx('oauth_states')
          .where({ state_hash: hashState(input.state) })
          .update({ used_at: new Date(), verifier_envelope: null });
        await tx('connections')
          .where({ id: connection.id })
          .update({
            setup_id: input.setupId,
            granted_scopes: stored.scopes ?? null,
            has_refresh_token: Boolean(stored.refreshToken),
            token_expires_at: toDate(stored.expiresAt ?? null),
          });
      });
      deps.faults?.afterTokensStored?.();
      return metadataOf(stored);
    },

    /** Spends a state without a code (the provider answered with an error such as access_denied). */
    async consumeAuthorizationState(input: {
      connection: ConnectionRef;
      setupId: string;
      state: string;
    }): Promise<void> {
      const claimed = await claimState(input.connection, input, null);
      if ('alreadyStored' in claimed) return;
      await db('oauth_states')
        .where({ state_hash: hashState(input.state) })
        .update({ used_at: new Date(), verifier_envelope: null });
    },

    /** Refreshes the access token; a rotated refresh token replaces the old one in the same write. */
    async refreshAccessToken(input: { connection: ConnectionRef }): Promise<TokenMetadata> {
      const { connection } = input;
      const current = await loadTokens(connection);
      if (!current?.refreshToken) throw failure('CredentialMissing', 'no refresh token is stored');
      const { provider, credentials } = await oauthIntegration(connection);
      let fresh: TokenSet;
      try {
        fresh = await cancellableCall(timeoutMs, (signal) =>
          refreshTokens(provider, credentials, current.refreshToken!, oauthOptions(signal)),
        );
      } catch (error) {
        const classified = classify(error, 'refreshAccessToken');
        const outcome: Record<string, string> = {
          CredentialRejected: 'rejected',
          ProviderRejected: 'failed',
        };
        refreshesTotal.inc({ outcome: outcome[classified.type ?? ''] ?? 'retried' });
        deps.logger.warn({ connectionId: connection.id, type: classified.type }, 'refresh failed');
        throw classified;
      }
      refreshesTotal.inc({ outcome: 'refreshed' });
      const next: StoredTokens = {
        accessToken: fresh.accessToken,
        tokenType: fresh.tokenType,
        refreshToken: fresh.refreshToken ?? current.refreshToken,
        expiresAt: fresh.expiresAt,
        obtainedAt: fresh.obtainedAt,
        scopes: fresh.scopes ?? current.scopes,
      };
      await storeTokens(connection, next);
      return metadataOf(next);
    },

    /** Verifies a submitted key with the provider, then stores it in place of any old one. */
    async storeApiKey(input: {
      connection: ConnectionRef;
      sealedKey: SealedCredential;
    }): Promise<{ keyCreatedAt: number }> {
      const { connection } = input;
      const provider = await apiKeyProvider(connection);
      const key = await vault.openText(context(connection, 'api_key_submission'), input.sealedKey);
      // A refusal is classified (and the original logged) by withClassifiedFailures, like any failure here.
      await cancellableCall(timeoutMs, (signal) => verifyApiKey(provider, key, { signal, outbound }));
      const keyCreatedAt = Date.now();
      await storeCredential(connection, 'api_key', key, async (tx) => {
        await tx('connections')
          .where({ id: connection.id })
          .update({ key_created_at: new Date(keyCreatedAt) });
      });
      return { keyCreatedAt };
    },

    /** The scheduled check of a stored key. A provider outage is not the key's fault: it answers unknown. */
    async probeApiKey(input: { connection: ConnectionRef }): Promise<{ verified: boolean }> {
      const { connection } = input;
      const provider = await apiKeyProvider(connection);
      const sealed = await credentialStore.get(db, {
        workspaceId: connection.workspaceId,
        connectionId: connection.id,
        purpose: 'api_key',
      });
      if (!sealed) throw failure('CredentialMissing', 'no API key is stored');
      const key = await vault.openText(context(connection, 'api_key'), sealed);
      try {
        return {
          verified: await cancellableCall(timeoutMs, (signal) =>
            verifyApiKey(provider, key, { signal, outbound }),
          ),
        };
      } catch (error) {
        if (error instanceof ProviderError && error.retryable) return { verified: false };
        throw error;
      }
    },

    async readKeyUsage(input: { connection: ConnectionRef }): Promise<{ lastUsedAt?: number }> {
      const lastUsed = await connectionStore.lastUsed(db, input.connection.id);
      return { lastUsedAt: lastUsed?.getTime() };
    },

    /**
     * Destroys every credential of the connection at once (and marks them destroyed, so that nothing is stored
     * after), then revokes the grant at the provider (RFC 7009) from memory, retrying a provider outage a few
     * times. The ciphertext is gone whatever the provider says.
     */
    async destroyCredentials(input: {
      connection: ConnectionRef;
      revoke: boolean;
    }): Promise<{ revoked: boolean }> {
      const { connection } = input;
      const tokens =
        connection.authType === 'oauth2' ? await loadTokens(connection).catch(() => undefined) : undefined;
      await db.transaction(async (tx) => {
        await tx('connections').where({ id: connection.id }).update({ credentials_destroyed_at: new Date() });
        await credentialStore.destroyForConnection(tx, connection.id);
        await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
        await tx('oauth_states').where({ connection_id: connection.id }).delete();
      });
      if (!input.revoke || !tokens) return { revoked: false };
      const { provider, credentials } = await oauthIntegration(connection);
      const token = tokens.refreshToken ?? tokens.accessToken;
      for (let attempt = 1; ; attempt++) {
        try {
          return {
            revoked: await cancellableCall(timeoutMs, (signal) =>
              revokeToken(provider, credentials, token, oauthOptions(signal)),
            ),
          };
        } catch (error) {
          const retryable = error instanceof ProviderError && error.retryable;
          if (!retryable || attempt >= 5 || Context.current().cancellationSignal.aborted) {
            deps.logger.warn(
              { connectionId: connection.id, type: classify(error, 'revocation').type },
              'revocation at the provider failed',
            );
            return { revoked: false };
          }
          Context.current().heartbeat({ attempt });
          const delay = Math.min((error as ProviderError).retryAfterMs ?? 1000 * 2 ** (attempt - 1), 30_000);
          await Context.current().sleep(delay);
        }
      }
    },
  };
  return withClassifiedFailures(activities, deps.logger);
}

export type ConnectionActivities = ReturnType<typeof createConnectionActivities>;
