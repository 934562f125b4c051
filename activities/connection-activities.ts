// The connection workflow's side effects: provider calls (authorization request, code exchange, refresh,
// key verification, revocation), the credential vault, and the Postgres read model. Each activity that
// obtains a credential seals and stores it itself and returns metadata only: this module never returns a
// token, key, code or verifier to a workflow, and never logs one.
import { ApplicationFailure, Context } from '@temporalio/activity';
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
  type TokenSet,
} from '../providers/oauth-client.js';
import type { ApiKeyProviderConfig, OAuthProviderConfig } from '../providers/provider-config.js';
import { ProviderError } from '../providers/provider-error.js';
import { publishConnectionChange } from '../stores/connection-changes.js';
import { connectionStore } from '../stores/connection-store.js';
import { credentialStore } from '../stores/credential-store.js';
import { integrationStore } from '../stores/integration-store.js';
import type {
  CredentialPurpose,
  CredentialVault,
  EncryptionContext,
  SealedCredential,
} from '../vault/index.js';
import type { ConnectionRef, ConnectionStatus } from '../workflows/messages.js';

export interface ConnectionActivityDependencies {
  db: Knex;
  vault: CredentialVault;
  logger: Logger;
  /** Allow http:// provider URLs (development and tests only). */
  allowInsecureProviderUrls?: boolean;
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
  scopes?: string[];
  hasRefreshToken: boolean;
}

interface StoredTokens {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  expiresAt?: number;
  scopes?: string[];
}

const toDate = (ms: number | null) => (ms === null ? null : new Date(ms));

export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

function context(connection: ConnectionRef, purpose: CredentialPurpose): EncryptionContext {
  return { workspace: connection.workspaceId, connection: connection.id, purpose };
}

/** Maps a provider's answer onto the workflow's vocabulary: permanent failures are not retried. */
function providerFailure(error: unknown): ApplicationFailure {
  if (!(error instanceof ProviderError)) {
    return ApplicationFailure.create({ message: (error as Error).message, type: 'ProviderCallFailed' });
  }
  if (error.kind === 'invalid_grant')
    return ApplicationFailure.nonRetryable(error.message, 'CredentialRejected');
  if (error.kind === 'rejected') return ApplicationFailure.nonRetryable(error.message, 'ProviderRejected');
  return ApplicationFailure.create({
    message: error.message,
    type: error.kind === 'rate_limited' ? 'ProviderRateLimited' : 'ProviderUnavailable',
    nextRetryDelay: error.retryAfterMs,
  });
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'AuthorizationRefused');
}

export function createConnectionActivities(deps: ConnectionActivityDependencies) {
  const { db, vault, logger } = deps;
  const oauthOptions = { allowInsecureRequests: deps.allowInsecureProviderUrls ?? false };

  async function oauthIntegration(connection: ConnectionRef) {
    const integration = await integrationStore.get(db, connection.workspaceId, connection.integration);
    if (!integration || integration.provider.authType !== 'oauth2' || !integration.clientId) {
      throw ApplicationFailure.nonRetryable(
        `integration ${connection.integration} is not configured for OAuth in this workspace`,
        'IntegrationUnavailable',
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
      throw ApplicationFailure.nonRetryable(
        `integration ${connection.integration} is not configured for API keys in this workspace`,
        'IntegrationUnavailable',
      );
    }
    return integration.provider;
  }

  async function storeTokens(tx: Knex.Transaction | Knex, connection: ConnectionRef, tokens: StoredTokens) {
    const sealed = await vault.seal(context(connection, 'oauth_tokens'), JSON.stringify(tokens));
    await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
    await credentialStore.put(
      tx,
      { workspaceId: connection.workspaceId, connectionId: connection.id, purpose: 'oauth_tokens' },
      sealed,
    );
  }

  async function loadTokens(connection: ConnectionRef): Promise<StoredTokens | undefined> {
    const sealed = await credentialStore.get(db, {
      workspaceId: connection.workspaceId,
      connectionId: connection.id,
      purpose: 'oauth_tokens',
    });
    if (!sealed) return undefined;
    return JSON.parse(await vault.openText(context(connection, 'oauth_tokens'), sealed)) as StoredTokens;
  }

  function metadataOf(tokens: StoredTokens): TokenMetadata {
    return {
      expiresAt: tokens.expiresAt,
      scopes: tokens.scopes,
      hasRefreshToken: Boolean(tokens.refreshToken),
    };
  }

  /** The authorization request row for a callback's state, checked to belong to this setup. */
  async function authorizationState(
    tx: Knex.Transaction,
    connection: ConnectionRef,
    setupId: string,
    state: string,
  ) {
    const row = await tx('oauth_states')
      .where({ state_hash: hashState(state) })
      .forUpdate()
      .first();
    if (!row || row.connection_id !== connection.id || row.setup_id !== setupId) {
      throw refused('the authorization state does not belong to this connection');
    }
    return row as {
      issuer: string;
      redirect_uri: string;
      scopes: string[];
      verifier_envelope: SealedCredential | null;
      expires_at: Date;
      used_at: Date | null;
    };
  }

  return {
    /** Records a transition (or a notice, when from equals to) once, and mirrors it onto the connection row. */
    async recordTransition(record: TransitionRecord): Promise<void> {
      const { connection } = record;
      await db.transaction(async (tx) => {
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
        if (inserted.length === 0) return; // a retry of a transition already recorded
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
      });
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
     * Completes an authorization: checks the callback (state known, of this setup, unused, unexpired; iss),
     * exchanges the code with the PKCE verifier, and stores the tokens, all or nothing. A retry after a
     * crash that already stored them answers from the store; one that crashed before finds the code spent.
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
      const result = await db.transaction(async (tx) => {
        const row = await authorizationState(tx, connection, input.setupId, input.state);
        if (row.used_at) {
          const current = await tx('connections').where({ id: connection.id }).first('setup_id');
          const tokens = current?.setup_id === input.setupId ? await loadTokens(connection) : undefined;
          if (tokens) return metadataOf(tokens);
          throw refused('this authorization link was already used');
        }
        if (row.expires_at.getTime() <= Date.now()) throw refused('this authorization link has expired');
        if (!input.sealedCode || !row.verifier_envelope)
          throw refused('the callback carries no authorization code');
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
          throw refused((error as Error).message);
        }
        const verifier = await vault.openText(context(connection, 'pkce_verifier'), row.verifier_envelope);
        let tokens: TokenSet;
        try {
          tokens = await exchangeCode(
            provider,
            credentials,
            callback,
            row.redirect_uri,
            verifier,
            oauthOptions,
          );
        } catch (error) {
          // On a first attempt a refused code is someone else's or a forged one: the setup goes on waiting.
          // On a retry it is most likely our own, spent by an attempt that died before storing the tokens.
          if (
            error instanceof ProviderError &&
            error.kind === 'invalid_grant' &&
            Context.current().info.attempt === 1
          ) {
            throw refused('the provider refused the authorization code');
          }
          throw providerFailure(error);
        }
        deps.faults?.afterCodeExchange?.();
        // Without a `scope` in the answer, the provider granted what was asked (RFC 6749, 5.1).
        const stored: StoredTokens = { ...tokens, scopes: tokens.scopes ?? row.scopes };
        await storeTokens(tx, connection, stored);
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
        return metadataOf(stored);
      });
      deps.faults?.afterTokensStored?.();
      return result;
    },

    /** Spends a state without a code (the provider answered with an error such as access_denied). */
    async consumeAuthorizationState(input: {
      connection: ConnectionRef;
      setupId: string;
      state: string;
    }): Promise<void> {
      await db.transaction(async (tx) => {
        const row = await authorizationState(tx, input.connection, input.setupId, input.state);
        if (row.used_at) throw refused('this authorization link was already used');
        if (row.expires_at.getTime() <= Date.now()) throw refused('this authorization link has expired');
        await tx('oauth_states')
          .where({ state_hash: hashState(input.state) })
          .update({ used_at: new Date(), verifier_envelope: null });
      });
    },

    /** Refreshes the access token; a rotated refresh token replaces the old one in the same write. */
    async refreshAccessToken(input: { connection: ConnectionRef }): Promise<TokenMetadata> {
      const { connection } = input;
      const current = await loadTokens(connection);
      if (!current?.refreshToken)
        throw ApplicationFailure.nonRetryable('no refresh token is stored', 'CredentialMissing');
      const { provider, credentials } = await oauthIntegration(connection);
      let fresh: TokenSet;
      try {
        fresh = await refreshTokens(provider, credentials, current.refreshToken, oauthOptions);
      } catch (error) {
        logger.warn({ connectionId: connection.id, err: (error as Error).message }, 'refresh failed');
        const failure = providerFailure(error);
        const outcome: Record<string, string> = {
          CredentialRejected: 'rejected',
          ProviderRejected: 'failed',
        };
        refreshesTotal.inc({ outcome: outcome[failure.type ?? ''] ?? 'retried' });
        throw failure;
      }
      refreshesTotal.inc({ outcome: 'refreshed' });
      const next: StoredTokens = {
        accessToken: fresh.accessToken,
        tokenType: fresh.tokenType,
        refreshToken: fresh.refreshToken ?? current.refreshToken,
        expiresAt: fresh.expiresAt,
        scopes: fresh.scopes ?? current.scopes,
      };
      await storeTokens(db, connection, next);
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
      try {
        await verifyApiKey(provider, key);
      } catch (error) {
        throw providerFailure(error);
      }
      const sealed = await vault.seal(context(connection, 'api_key'), key);
      const keyCreatedAt = Date.now();
      await db.transaction(async (tx) => {
        await credentialStore.put(
          tx,
          { workspaceId: connection.workspaceId, connectionId: connection.id, purpose: 'api_key' },
          sealed,
        );
        await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
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
      if (!sealed) throw ApplicationFailure.nonRetryable('no API key is stored', 'CredentialMissing');
      try {
        return {
          verified: await verifyApiKey(
            provider,
            await vault.openText(context(connection, 'api_key'), sealed),
          ),
        };
      } catch (error) {
        if (error instanceof ProviderError && error.retryable) return { verified: false };
        throw providerFailure(error);
      }
    },

    async readKeyUsage(input: { connection: ConnectionRef }): Promise<{ lastUsedAt?: number }> {
      const lastUsed = await connectionStore.lastUsed(db, input.connection.id);
      return { lastUsedAt: lastUsed?.getTime() };
    },

    /**
     * Destroys every credential of the connection at once, then revokes the grant at the provider (RFC 7009)
     * from memory, retrying a provider outage a few times. The ciphertext is gone whatever the provider says.
     */
    async destroyCredentials(input: {
      connection: ConnectionRef;
      revoke: boolean;
    }): Promise<{ revoked: boolean }> {
      const { connection } = input;
      const tokens =
        connection.authType === 'oauth2' ? await loadTokens(connection).catch(() => undefined) : undefined;
      await db.transaction(async (tx) => {
        await credentialStore.destroyForConnection(tx, connection.id);
        await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
        await tx('oauth_states').where({ connection_id: connection.id }).delete();
      });
      if (!input.revoke || !tokens) return { revoked: false };
      const { provider, credentials } = await oauthIntegration(connection);
      const token = tokens.refreshToken ?? tokens.accessToken;
      for (let attempt = 1; ; attempt++) {
        try {
          return { revoked: await revokeToken(provider, credentials, token, oauthOptions) };
        } catch (error) {
          const retryable = error instanceof ProviderError && error.retryable;
          if (!retryable || attempt >= 5) {
            logger.warn(
              { connectionId: connection.id, err: (error as Error).message },
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
}

export type ConnectionActivities = ReturnType<typeof createConnectionActivities>;
