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

/** Which connection shared agents use for an integration: the workspace's, or each acting user's own. */
export const agentScopes = ['workspace', 'user'] as const;
export type AgentScope = (typeof agentScopes)[number];

type Row = Record<string, unknown>;

const toIntegration = (row: Row): Integration => ({
  workspaceId: row.workspace_id as string,
  key: row.key as string,
  provider: providerConfigSchema.parse(row.provider),
  clientId: (row.client_id as string | null) ?? undefined,
  scopes: (row.scopes as string[] | null) ?? undefined,
  enabled: row.enabled as boolean,
});

/** Integrations kept parsed by the read path, by workspace and key, with the version each was read at. */
const CACHED_INTEGRATIONS = 1_000;
const cached = new Map<string, { version: string; integration: Integration }>();

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
    return row ? toIntegration(row) : undefined;
  },

  /**
   * The integration as configured at `version` (its updated_at as text, which the credential read path reads
   * with the connection): parsed once per version and process, so a read costs no query and no parse while
   * the configuration stands; a reconfiguration (in any process) bumps the version and is read again.
   */
  async getAt(db: Db, workspaceId: string, key: string, version: string): Promise<Integration | undefined> {
    const id = `${workspaceId}\0${key}`;
    const hit = cached.get(id);
    if (hit?.version === version) return hit.integration;
    const row = await db('integrations')
      .where({ workspace_id: workspaceId, key })
      .first('*', db.raw('updated_at::text as version'));
    if (!row) return undefined;
    const integration = toIntegration(row);
    cached.delete(id);
    // The oldest entry leaves first once the cache is full (a Map iterates in insertion order).
    if (cached.size >= CACHED_INTEGRATIONS) cached.delete(cached.keys().next().value!);
    cached.set(id, { version: row.version as string, integration });
    return integration;
  },

  /** Every integration configured in the workspace, by key. */
  async list(db: Db, workspaceId: string): Promise<Integration[]> {
    const rows = await db('integrations').where({ workspace_id: workspaceId }).orderBy('key');
    return rows.map(toIntegration);
  },

  /**
   * The integration's own agent scope (null when it has none), or undefined when it is not configured in
   * the workspace.
   */
  async agentScope(db: Db, workspaceId: string, key: string): Promise<AgentScope | null | undefined> {
    const row: { agent_connection_scope: AgentScope | null } | undefined = await db('integrations')
      .where({ workspace_id: workspaceId, key })
      .first('agent_connection_scope');
    return row ? row.agent_connection_scope : undefined;
  },

  /** Sets (or, with null, clears) the integration's agent scope; false when it is not configured. */
  async setAgentScope(db: Db, workspaceId: string, key: string, scope: AgentScope | null): Promise<boolean> {
    const updated = await db('integrations')
      .where({ workspace_id: workspaceId, key })
      .update({ agent_connection_scope: scope, updated_at: db.fn.now() });
    return updated > 0;
  },

  /** The keys of the workspace's integrations that hold a client secret (never the secret itself). */
  keysWithClientSecret(db: Db, workspaceId: string): Promise<Set<string>> {
    return credentialStore.integrationsWithClientSecret(db, workspaceId);
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
