// OAuth for the connection's workflow: the authorization request (state and PKCE verifier, stored sealed),
// the callback's code exchange, an error callback, and the refresh of the tokens. Each activity that obtains
// tokens seals and stores them itself and returns metadata only. No transaction is open across a provider or
// KMS call: an authorization state is claimed by one statement before the exchange rather than locked.
import { Context } from '@temporalio/activity';
import { sealAuthorizationUrl } from '../connections/authorization-url-box.js';
import { connectionStore } from '../connections/connection-store.js';
import { oauthStateStore, type ClaimedState } from '../connections/oauth-state-store.js';
import type { StoredTokens } from '../connections/stored-tokens.js';
import { refreshesTotal } from '../observability/metrics.js';
import {
  buildAuthorizationUrl,
  exchangeCode,
  newAuthorizationSecrets,
  refreshTokens,
  validateCallback,
  type TokenSet,
} from '../providers/oauth-client.js';
import { ProviderError } from '../providers/provider-error.js';
import type { SealedCredential } from '../vault/index.js';
import type { FailureType } from '../workflows/failure-types.js';
import type { ConnectionRef } from '../workflows/messages.js';
import {
  credentialContext,
  tokenMetadata,
  type ConnectionAccess,
  type TokenMetadata,
} from './connection-access.js';
import { cancellableCall, classify, failure } from './failures.js';
import { readConnectionIdentity, recordIdentity } from './identity.js';

const refused = (message: string) => failure('AuthorizationRefused', message);

/** The refresh metric's outcome for a failure type; any other failure is retried. */
const refreshOutcomes: Partial<Record<FailureType, string>> = {
  CredentialRejected: 'rejected',
  ProviderRejected: 'failed',
};

export function createOAuthActivities(access: ConnectionAccess) {
  const { db, vault, deps, timeoutMs } = access;

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
    const key = { state: input.state, connectionId: connection.id, setupId: input.setupId };
    const claimed = await oauthStateStore.claim(db, key, claim);
    if (claimed) return claimed;
    const row = await oauthStateStore.find(db, input.state);
    if (!row || row.connection_id !== connection.id || row.setup_id !== input.setupId) {
      throw refused('the authorization state does not belong to this connection');
    }
    if (row.used_at && claim && row.claimed_by === claim) {
      // A retry of an exchange that stored the tokens but died before reporting: answer from the store.
      const setupId = await connectionStore.setupIdOf(db, connection.id);
      const tokens = setupId === input.setupId ? await access.loadTokens(connection) : undefined;
      if (tokens) return { alreadyStored: tokenMetadata(tokens) };
    }
    if (row.used_at || row.claimed_by) throw refused('this authorization link was already used');
    throw refused('this authorization link has expired');
  }

  return {
    async createAuthorizationRequest(input: {
      connection: ConnectionRef;
      setupId: string;
      redirectUri: string;
      scopes?: string[];
      expiresAt: number;
    }): Promise<{ authorizationUrl: string }> {
      const { connection } = input;
      const { integration, provider } = await access.oauthIntegration(connection);
      const scopes = input.scopes ?? integration.scopes ?? provider.scopes;
      const { state, codeVerifier } = newAuthorizationSecrets();
      const authorizationUrl = await buildAuthorizationUrl(provider, integration.clientId!, {
        state,
        codeVerifier,
        redirectUri: input.redirectUri,
        scopes,
      });
      const sealedVerifier = await vault.seal(credentialContext(connection, 'pkce_verifier'), codeVerifier);
      await oauthStateStore.insert(db, {
        state,
        connectionId: connection.id,
        workspaceId: connection.workspaceId,
        setupId: input.setupId,
        issuer: provider.issuer,
        redirectUri: input.redirectUri,
        scopes,
        sealedVerifier,
        expiresAt: new Date(input.expiresAt),
        authorizationUrlBox: sealAuthorizationUrl(state, authorizationUrl),
      });
      return { authorizationUrl };
    },

    /**
     * Completes an authorization: claims the callback's state (known, of this setup, unused, unexpired),
     * checks the callback (iss), exchanges the code with the PKCE verifier, reads the upstream account, then
     * stores the tokens and the account and spends the state in one transaction (or, the account being
     * another connection's or not this one's, stores nothing). A retry after a crash that already stored them answers from the store;
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
      const { provider, credentials } = await access.oauthIntegration(connection);
      const info = Context.current().info;
      const claim = `${info.workflowExecution?.runId ?? info.workflowType}:${info.activityId}`;
      const claimed = await claimState(connection, input, claim);
      if ('alreadyStored' in claimed) return claimed.alreadyStored;
      // A callback refused before any token was obtained changes nothing: the state is released again.
      const refuseAndRelease = async (message: string) => {
        await oauthStateStore.release(db, input.state, claim);
        return refused(message);
      };
      if (!input.sealedCode || !claimed.verifier_envelope) {
        throw await refuseAndRelease('the callback carries no authorization code');
      }
      let callback: URLSearchParams;
      try {
        const code = await vault.openText(
          credentialContext(connection, 'authorization_code'),
          input.sealedCode,
        );
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
      const verifier = await vault.openText(
        credentialContext(connection, 'pkce_verifier'),
        claimed.verifier_envelope,
      );
      let tokens: TokenSet;
      try {
        tokens = await cancellableCall(timeoutMs, (signal) =>
          exchangeCode(
            provider,
            credentials,
            callback,
            claimed.redirect_uri,
            verifier,
            access.oauthOptions(signal),
          ),
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
      // Which account was connected, before anything is stored: a refusal stores nothing.
      const identity = await readConnectionIdentity(access, provider, tokens.accessToken, tokens.read, true);
      // Without a `scope` in the answer, the provider granted what was asked (RFC 6749, 5.1).
      const stored: StoredTokens = {
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        refreshToken: tokens.refreshToken,
        expiresAt: tokens.expiresAt,
        obtainedAt: tokens.obtainedAt,
        scopes: tokens.scopes ?? claimed.scopes,
        refreshTokenExpiresAt: tokens.refreshToken ? tokens.refreshTokenExpiresAt : undefined,
      };
      await access.storeTokens(connection, stored, async (tx) => {
        await recordIdentity(tx, connection, identity);
        await oauthStateStore.spend(tx, input.state);
        await connectionStore.recordAuthorization(tx, connection.id, {
          setupId: input.setupId,
          scopes: stored.scopes ?? null,
          hasRefreshToken: Boolean(stored.refreshToken),
          expiresAt: stored.expiresAt ?? null,
          refreshTokenExpiresAt: stored.refreshTokenExpiresAt ?? null,
        });
      });
      deps.faults?.afterTokensStored?.();
      return tokenMetadata(stored);
    },

    /** Spends a state without a code (the provider answered with an error such as access_denied). */
    async consumeAuthorizationState(input: {
      connection: ConnectionRef;
      setupId: string;
      state: string;
    }): Promise<void> {
      const claimed = await claimState(input.connection, input, null);
      if ('alreadyStored' in claimed) return;
      await oauthStateStore.spend(db, input.state);
    },

    /** Refreshes the access token; a rotated refresh token replaces the old one in the same write. */
    async refreshAccessToken(input: { connection: ConnectionRef }): Promise<TokenMetadata> {
      const { connection } = input;
      const current = await access.loadTokens(connection);
      if (!current?.refreshToken) throw failure('CredentialMissing', 'no refresh token is stored');
      const { provider, credentials } = await access.oauthIntegration(connection);
      let fresh: TokenSet;
      try {
        fresh = await cancellableCall(timeoutMs, (signal) =>
          refreshTokens(provider, credentials, current.refreshToken!, access.oauthOptions(signal)),
        );
      } catch (error) {
        const classified = classify(error, 'refreshAccessToken');
        const outcome = refreshOutcomes[classified.type as FailureType] ?? 'retried';
        refreshesTotal.inc({ outcome });
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
        // A new refresh token lapses as this answer says; a kept one as before, unless this refresh renewed it.
        refreshTokenExpiresAt: fresh.refreshToken
          ? fresh.refreshTokenExpiresAt
          : (fresh.refreshTokenExpiresAt ?? current.refreshTokenExpiresAt),
      };
      await access.storeTokens(connection, next, (tx) =>
        connectionStore.recordRefreshTokenExpiry(tx, connection.id, next.refreshTokenExpiresAt ?? null),
      );
      return tokenMetadata(next);
    },
  };
}
