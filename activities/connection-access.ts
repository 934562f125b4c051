// What every connection activity shares: its dependencies, the way out to providers (an integration's
// configuration, the outbound guard, the call timeout) and the sealed storage of a connection's credentials.
// It never returns a credential to a workflow: only the activities' own code sees the plaintext, briefly.
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { OAuthOptions } from '../providers/oauth-client.js';
import { createOutboundGuard, type OutboundGuard } from '../providers/outbound-guard.js';
import type { ApiKeyProviderConfig, OAuthProviderConfig } from '../providers/provider-config.js';
import { publishConnectionChange } from '../connections/connection-changes.js';
import { connectionStore } from '../connections/connection-store.js';
import { credentialStore } from '../connections/credential-store.js';
import { connectionProvider, defaultCatalogue, type Catalogue } from '../integrations/connection-provider.js';
import { integrationStore } from '../integrations/integration-store.js';
import { TemplateError } from '../providers/templates.js';
import { parseStoredTokens, storedTokensText, type StoredTokens } from '../connections/stored-tokens.js';
import type { CredentialPurpose, CredentialVault, EncryptionContext } from '../vault/index.js';
import type { ConnectionRef } from '../workflows/messages.js';
import { failure } from './failures.js';

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
  /** The provider catalogue (catalogue/providers.ts by default): what catalogue integrations speak. */
  catalogue?: Catalogue;
  /** Deliberate fault injection for tests of crash recovery; never set in production. */
  faults?: { afterCodeExchange?: () => void; afterTokensStored?: () => void };
}

/** What an activity may tell the workflow of a connection's tokens: metadata, never the tokens. */
export interface TokenMetadata {
  expiresAt?: number;
  /** When the tokens were obtained; absent for tokens stored before it was recorded. */
  obtainedAt?: number;
  scopes?: string[];
  hasRefreshToken: boolean;
}

export function credentialContext(connection: ConnectionRef, purpose: CredentialPurpose): EncryptionContext {
  return { workspace: connection.workspaceId, connection: connection.id, purpose };
}

export function tokenMetadata(tokens: StoredTokens): TokenMetadata {
  return {
    expiresAt: tokens.expiresAt,
    obtainedAt: tokens.obtainedAt,
    scopes: tokens.scopes,
    hasRefreshToken: Boolean(tokens.refreshToken),
  };
}

export type ConnectionAccess = ReturnType<typeof createConnectionAccess>;

export function createConnectionAccess(deps: ConnectionActivityDependencies) {
  const { db, vault } = deps;
  const outbound = deps.outbound ?? createOutboundGuard({ checkAddresses: !deps.allowInsecureProviderUrls });

  async function storeCredential(
    connection: ConnectionRef,
    purpose: 'oauth_tokens' | 'api_key',
    plaintext: string,
    more?: (tx: Knex.Transaction) => Promise<void>,
  ): Promise<void> {
    const sealed = await vault.seal(credentialContext(connection, purpose), plaintext);
    await db.transaction(async (tx) => {
      // Refused once the credentials were destroyed: a command a disconnect cut short leaves no orphan.
      if (!(await connectionStore.lockUndestroyed(tx, connection.id))) {
        throw failure('ConnectionRemoved', 'the connection was disconnected: nothing is stored for it');
      }
      await credentialStore.put(
        tx,
        { workspaceId: connection.workspaceId, connectionId: connection.id, purpose },
        sealed,
      );
      await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
      await more?.(tx);
    });
  }

  /** The connection's integration with its provider resolved for it (providers' URLs filled). */
  async function resolved(connection: ConnectionRef) {
    try {
      return await connectionProvider(db, deps.catalogue ?? defaultCatalogue, connection, {
        allowInsecure: deps.allowInsecureProviderUrls ?? false,
      });
    } catch (error) {
      if (error instanceof TemplateError) throw failure('IntegrationUnavailable', error.message);
      throw error;
    }
  }

  return {
    deps,
    db,
    vault,
    outbound,
    timeoutMs: deps.providerCallTimeoutMs ?? 15_000,
    oauthOptions: (signal: AbortSignal): OAuthOptions => ({
      allowInsecureRequests: deps.allowInsecureProviderUrls ?? false,
      outbound,
      signal,
    }),

    async oauthIntegration(connection: ConnectionRef) {
      const found = await resolved(connection);
      if (!found || found.provider.authType !== 'oauth2' || !found.integration.clientId) {
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
        integration: found.integration,
        provider: found.provider as OAuthProviderConfig,
        credentials: { clientId: found.integration.clientId, clientSecret },
      };
    },

    async apiKeyProvider(connection: ConnectionRef): Promise<ApiKeyProviderConfig> {
      const found = await resolved(connection);
      if (!found || found.provider.authType !== 'api_key') {
        throw failure(
          'IntegrationUnavailable',
          `integration ${connection.integration} is not configured for API keys in this workspace`,
        );
      }
      return found.provider;
    },

    /**
     * Seals a credential, then stores it in place of any old one and announces the change, in one
     * transaction in which `more` runs too; refused once the connection's credentials were destroyed.
     */
    storeCredential,

    storeTokens: (
      connection: ConnectionRef,
      tokens: StoredTokens,
      more?: (tx: Knex.Transaction) => Promise<void>,
    ) => storeCredential(connection, 'oauth_tokens', storedTokensText(tokens), more),

    async loadTokens(connection: ConnectionRef): Promise<StoredTokens | undefined> {
      const sealed = await credentialStore.get(db, {
        workspaceId: connection.workspaceId,
        connectionId: connection.id,
        purpose: 'oauth_tokens',
      });
      if (!sealed) return undefined;
      return parseStoredTokens(await vault.openText(credentialContext(connection, 'oauth_tokens'), sealed));
    },
  };
}
