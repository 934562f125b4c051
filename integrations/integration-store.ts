// A workspace's integrations: which provider, how it is spoken to, its client id; the client secret is
// sealed in the credential store (context: workspace, integration, purpose client_secret) and only ever
// opened by an activity that needs it for a provider call.
import type { Db } from '../db/database.js';
import {
  providerConfigSchema,
  type ProviderConfig,
  type ProviderConfigInput,
} from '../providers/provider-config.js';
import type { CredentialVault } from '../vault/index.js';
import { credentialStore } from '../connections/credential-store.js';

export interface Integration {
  workspaceId: string;
  key: string;
  provider: ProviderConfig;
  clientId?: string;
  scopes?: string[];
  enabled: boolean;
}

export interface IntegrationInput {
  workspaceId: string;
  key: string;
  provider: ProviderConfigInput;
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  enabled?: boolean;
}

export const integrationStore = {
  async configure(db: Db, vault: CredentialVault, input: IntegrationInput): Promise<Integration> {
    const provider = providerConfigSchema.parse(input.provider);
    const sealedSecret = input.clientSecret
      ? await vault.seal(
          { workspace: input.workspaceId, integration: input.key, purpose: 'client_secret' },
          input.clientSecret,
        )
      : undefined;
    await db.transaction(async (tx) => {
      await tx('integrations')
        .insert({
          workspace_id: input.workspaceId,
          key: input.key,
          auth_type: provider.authType,
          provider: JSON.stringify(provider),
          client_id: input.clientId ?? null,
          scopes: input.scopes ?? null,
          enabled: input.enabled ?? true,
        })
        .onConflict(['workspace_id', 'key'])
        .merge(['auth_type', 'provider', 'client_id', 'scopes', 'enabled', 'updated_at']);
      if (sealedSecret) {
        await credentialStore.putForIntegration(
          tx,
          { workspaceId: input.workspaceId, integration: input.key },
          sealedSecret,
        );
      }
    });
    return (await this.get(db, input.workspaceId, input.key))!;
  },

  async get(db: Db, workspaceId: string, key: string): Promise<Integration | undefined> {
    const row = await db('integrations').where({ workspace_id: workspaceId, key }).first();
    if (!row) return undefined;
    return {
      workspaceId,
      key,
      provider: providerConfigSchema.parse(row.provider),
      clientId: row.client_id ?? undefined,
      scopes: row.scopes ?? undefined,
      enabled: row.enabled,
    };
  },

  /** Every integration configured in the workspace, by key. */
  async list(db: Db, workspaceId: string): Promise<Integration[]> {
    const rows = await db('integrations').where({ workspace_id: workspaceId }).orderBy('key');
    return rows.map((row) => ({
      workspaceId,
      key: row.key,
      provider: providerConfigSchema.parse(row.provider),
      clientId: row.client_id ?? undefined,
      scopes: row.scopes ?? undefined,
      enabled: row.enabled,
    }));
  },

  /** The keys of the workspace's integrations that hold a client secret (never the secret itself). */
  async keysWithClientSecret(db: Db, workspaceId: string): Promise<Set<string>> {
    const rows: Array<{ integration: string }> = await db('credentials')
      .where({ workspace_id: workspaceId, purpose: 'client_secret' })
      .whereNotNull('integration')
      .select('integration');
    return new Set(rows.map((row) => row.integration));
  },

  async openClientSecret(
    db: Db,
    vault: CredentialVault,
    workspaceId: string,
    key: string,
  ): Promise<string | undefined> {
    const sealed = await credentialStore.getForIntegration(db, { workspaceId, integration: key });
    if (!sealed) return undefined;
    return vault.openText({ workspace: workspaceId, integration: key, purpose: 'client_secret' }, sealed);
  },
};
