// A workspace's integration settings, as both the API (integrations/routes.ts, agent-access/resolve-routes.ts)
// and the console's pages change them: the catalogue and custom providers with their configuration state,
// configuring a catalogue provider, registering a custom one, and the agent scope. The body schemas are
// defined here once, so that a JSON body and a console form are checked by the same rules; refusals are
// ApiErrors whose details name the body's field (`body.clientId`). A client secret is write-only: it is
// sealed through the vault on the way in and no view ever carries it (only whether one is stored).
import { z } from 'zod';
import { catalogueEntry, catalogueProvider, providerCatalogue } from '../catalogue/providers.js';
import {
  apiKeyProviderShape,
  catalogueCategories,
  checkOAuthTemplates,
  integrationKeySchema,
  oauthProviderShape,
  scopeSchema,
  type ProviderConfig,
} from '../providers/provider-config.js';
import { agentScopes, integrationStore, type AgentScope, type Integration } from './integration-store.js';
import type { Db } from '../db/database.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import type { CredentialVault } from '../vault/index.js';
import { ApiError } from '../api/errors.js';
import { credential, text, url } from '../api/validation.js';
import { agentScopeOf, defaultAgentScopeOf } from '../agent-access/resolve.js';
import { behaviourOf, behaviourSchema } from './catalogue-behaviour.js';
import { checkProviderUrls } from './provider-urls.js';

const clientId = credential(500);
const clientSecret = credential(4000);
const scopes = z.array(scopeSchema).max(100);

export const integrationView = z.object({
  key: z.string(),
  displayName: z.string(),
  source: z.enum(['catalogue', 'custom']),
  authType: z.enum(['oauth2', 'api_key']),
  personal: z.boolean(),
  /** The kind of tool; null for a custom provider. */
  category: z.enum(catalogueCategories).nullable(),
  /** The provider documentation the catalogue entry was checked against; empty for a custom provider. */
  docs: z.array(z.string()),
  /** What the provider documentedly does (PKCE, refresh, revocation, identity, parameters to ask for). */
  behaviour: behaviourSchema,
  configured: z.boolean(),
  enabled: z.boolean(),
  clientIdPresent: z.boolean(),
  clientSecretPresent: z.boolean(),
  /** The scopes requested: the workspace's own, or the provider's defaults. */
  scopes: z.array(z.string()),
  defaultScopes: z.array(z.string()),
  /** How the provider is spoken to: endpoints and methods, never a credential. */
  provider: z.record(z.string(), z.unknown()),
});
export type IntegrationView = z.infer<typeof integrationView>;

/** Configuring a catalogue provider: every field optional (an absent one keeps what is stored). */
export const configureBody = z.strictObject({
  clientId: clientId.optional(),
  clientSecret: clientSecret.optional(),
  scopes: scopes.optional(),
  enabled: z.boolean().optional(),
});
export type ConfigureBody = z.infer<typeof configureBody>;

const customFields = {
  key: integrationKeySchema,
  displayName: text(100),
  enabled: z.boolean().optional(),
};
// A custom provider speaks the same format as the catalogue, but its URLs are plain (they are checked for public
// addresses before it is stored, which a template cannot be) and it asks for no connection parameters.
const plainUrl = url({ schemes: ['https', 'http'] });
const { parameters: _parameters, providerData: _providerData, ...customOAuthShape } = oauthProviderShape;
const { parameters: _keyParameters, ...customApiKeyShape } = apiKeyProviderShape;
export const customBody = z.discriminatedUnion('authType', [
  z
    .strictObject({
      ...customOAuthShape,
      ...customFields,
      // Defaults to the authorization endpoint's origin; checked against `iss` when the provider sends one.
      issuer: plainUrl.optional(),
      authorizationEndpoint: plainUrl,
      tokenEndpoint: plainUrl,
      revocationEndpoint: plainUrl.optional(),
      apiBaseUrl: plainUrl.optional(),
      scopes: scopes.default([]),
      clientId,
      clientSecret: clientSecret.optional(),
    })
    .superRefine((value, context) =>
      checkOAuthTemplates({ ...value, issuer: value.issuer ?? value.authorizationEndpoint }, context),
    ),
  z.strictObject({ ...customApiKeyShape, ...customFields, apiBaseUrl: plainUrl }),
]);
export type CustomBody = z.infer<typeof customBody>;

export const agentScope = z.enum(agentScopes);
/** Setting the agent scope: one of agentScopes, or null for the catalogue's default. */
export const agentScopeBody = z.strictObject({ scope: agentScope.nullable() });

export interface AgentScopeSetting {
  integration: string;
  /** The integration's own setting; null: the default. */
  scope: AgentScope | null;
  /** What applies: the own setting, else the default. */
  effectiveScope: AgentScope;
}

export interface IntegrationSettingsDependencies {
  db: Db;
  /** Seals client secrets. */
  vault: CredentialVault;
  /** http:// and private-network provider URLs, for development and tests only. */
  allowInsecureProviderUrls: boolean;
  /** The address check of custom providers' URLs. */
  outbound: OutboundGuard;
}

/** Where a provider comes from: a catalogue entry's category and docs, or none for a custom provider. */
type Origin = Pick<IntegrationView, 'source' | 'category'> & { docs: readonly string[] };

function view(
  key: string,
  origin: Origin,
  provider: ProviderConfig,
  integration: Integration | undefined,
  hasSecret: boolean,
): IntegrationView {
  const { displayName, personal, ...rest } = provider;
  const defaultScopes = provider.authType === 'oauth2' ? provider.scopes : [];
  return {
    key,
    displayName: displayName ?? key,
    source: origin.source,
    authType: provider.authType,
    personal: personal ?? false,
    category: origin.category,
    docs: [...origin.docs],
    behaviour: behaviourOf(provider),
    configured: integration !== undefined,
    enabled: integration?.enabled ?? false,
    clientIdPresent: Boolean(integration?.clientId),
    clientSecretPresent: hasSecret,
    scopes: integration?.scopes ?? defaultScopes,
    defaultScopes,
    provider: rest,
  };
}

/** The catalogue, then the workspace's custom providers, each with the workspace's configuration state. */
export async function listIntegrations(db: Db, workspaceId: string): Promise<IntegrationView[]> {
  const [configured, withSecret] = await Promise.all([
    integrationStore.list(db, workspaceId),
    integrationStore.keysWithClientSecret(db, workspaceId),
  ]);
  const byKey = new Map(configured.map((integration) => [integration.key, integration]));
  const catalogue = providerCatalogue.map((entry) => {
    const integration = byKey.get(entry.key);
    // The catalogue's own description wins: the stored copy only records what was configured.
    const provider = catalogueProvider(entry) as ProviderConfig;
    const origin = { source: 'catalogue', category: entry.category, docs: entry.docs } as const;
    return view(entry.key, origin, provider, integration, withSecret.has(entry.key));
  });
  const custom = configured
    .filter((integration) => !catalogueEntry(integration.key))
    .map((integration) =>
      view(
        integration.key,
        { source: 'custom', category: null, docs: [] },
        integration.provider,
        integration,
        withSecret.has(integration.key),
      ),
    );
  return [...catalogue, ...custom];
}

/** One integration as listIntegrations shows it; not_found when the workspace has no such one. */
export async function integrationOf(db: Db, workspaceId: string, key: string): Promise<IntegrationView> {
  const found = (await listIntegrations(db, workspaceId)).find((item) => item.key === key);
  if (!found) throw new ApiError('not_found', `no integration ${key}`);
  return found;
}

/** Configures a catalogue provider for the workspace (absent fields keep what is stored). */
export async function configureIntegration(
  deps: IntegrationSettingsDependencies,
  workspaceId: string,
  key: string,
  body: ConfigureBody,
): Promise<IntegrationView> {
  const entry = catalogueEntry(key);
  if (!entry) throw new ApiError('not_found', `no catalogue provider ${key}`);
  const existing = await integrationStore.get(deps.db, workspaceId, key);
  if (entry.authType === 'api_key') {
    const misplaced = (['clientId', 'clientSecret', 'scopes'] as const).filter((f) => body[f] !== undefined);
    if (misplaced.length) {
      throw new ApiError(
        'invalid_request',
        `${entry.displayName} uses API keys: it takes no client id, secret or scopes`,
        misplaced.map((field) => ({ path: `body.${field}`, message: 'not used by an API-key provider' })),
      );
    }
  } else {
    const resultingClientId = body.clientId ?? existing?.clientId;
    if (!resultingClientId) {
      throw new ApiError('invalid_request', 'a client id is required', [
        { path: 'body.clientId', message: 'required when the provider is first configured' },
      ]);
    }
    const hasSecret =
      body.clientSecret !== undefined ||
      (await integrationStore.keysWithClientSecret(deps.db, workspaceId)).has(key);
    if (entry.tokenEndpointAuthMethod !== 'none' && !hasSecret) {
      throw new ApiError('invalid_request', 'a client secret is required', [
        { path: 'body.clientSecret', message: `required by ${entry.displayName}'s token endpoint` },
      ]);
    }
  }
  await integrationStore.configure(deps.db, deps.vault, {
    workspaceId,
    key,
    provider: catalogueProvider(entry),
    clientId: body.clientId ?? existing?.clientId,
    clientSecret: body.clientSecret,
    scopes: body.scopes ?? existing?.scopes,
    enabled: body.enabled ?? existing?.enabled ?? true,
  });
  return integrationOf(deps.db, workspaceId, key);
}

/** Registers a custom OAuth 2.0 or API-key provider, after checking its URLs (https and public). */
export async function registerCustomProvider(
  deps: IntegrationSettingsDependencies,
  workspaceId: string,
  body: CustomBody,
): Promise<IntegrationView> {
  if (catalogueEntry(body.key)) {
    throw new ApiError('invalid_request', `${body.key} is a catalogue provider: configure it with PUT`, [
      { path: 'body.key', message: 'clashes with a catalogue provider' },
    ]);
  }
  const urls =
    body.authType === 'oauth2'
      ? {
          issuer: body.issuer,
          authorizationEndpoint: body.authorizationEndpoint,
          tokenEndpoint: body.tokenEndpoint,
          revocationEndpoint: body.revocationEndpoint,
          apiBaseUrl: body.apiBaseUrl,
        }
      : { apiBaseUrl: body.apiBaseUrl };
  const problems = await checkProviderUrls(urls, {
    allowInsecure: deps.allowInsecureProviderUrls,
    outbound: deps.outbound,
  });
  if (problems.length) {
    throw new ApiError(
      'invalid_request',
      `provider URLs refused: ${problems.map((problem) => problem.path).join(', ')}`,
      problems.map((problem) => ({ path: `body.${problem.path}`, message: problem.message })),
    );
  }
  if (
    body.authType === 'oauth2' &&
    body.tokenEndpointAuthMethod !== 'none' &&
    body.clientSecret === undefined
  ) {
    throw new ApiError('invalid_request', 'a client secret is required', [
      { path: 'body.clientSecret', message: `required by ${body.tokenEndpointAuthMethod}` },
    ]);
  }
  if (await integrationStore.get(deps.db, workspaceId, body.key)) {
    throw new ApiError('conflict', `an integration ${body.key} already exists in this workspace`);
  }
  if (body.authType === 'oauth2') {
    const { key, enabled, clientId: id, clientSecret: secret, ...provider } = body;
    await integrationStore.configure(deps.db, deps.vault, {
      workspaceId,
      key,
      provider: { ...provider, issuer: provider.issuer ?? new URL(provider.authorizationEndpoint).origin },
      clientId: id,
      clientSecret: secret,
      enabled: enabled ?? true,
    });
  } else {
    const { key, enabled, ...provider } = body;
    await integrationStore.configure(deps.db, deps.vault, {
      workspaceId,
      key,
      provider,
      enabled: enabled ?? true,
    });
  }
  return integrationOf(deps.db, workspaceId, body.key);
}

/** Sets (null: clears) which connection shared agents use; not_found unless the integration is configured. */
export async function setAgentScope(
  db: Db,
  workspaceId: string,
  key: string,
  scope: AgentScope | null,
): Promise<AgentScopeSetting> {
  if (!(await integrationStore.setAgentScope(db, workspaceId, key, scope)))
    throw new ApiError('not_found', `no integration ${key} is configured in this workspace`);
  return { integration: key, scope, effectiveScope: await agentScopeOf(db, workspaceId, key) };
}

/** The agent scope as it stands, with the default that applies without an own setting (the console shows it). */
export interface AgentScopeState extends AgentScopeSetting {
  defaultScope: AgentScope;
}

/** The agent scope as it stands: an integration not configured yet has its default, and no own setting. */
export async function agentScopeSettingOf(
  db: Db,
  workspaceId: string,
  key: string,
): Promise<AgentScopeState> {
  const [own, defaultScope] = await Promise.all([
    integrationStore.agentScope(db, workspaceId, key),
    defaultAgentScopeOf(db, workspaceId, key),
  ]);
  return { integration: key, scope: own ?? null, effectiveScope: own ?? defaultScope, defaultScope };
}

/** What a settings form shows: the integration, its client id (not a secret) and its agent scope. */
export async function integrationSettingsOf(
  db: Db,
  workspaceId: string,
  key: string,
): Promise<{ integration: IntegrationView; clientId: string | undefined; agentScope: AgentScopeState }> {
  const integration = await integrationOf(db, workspaceId, key);
  const [stored, agentScope] = await Promise.all([
    integrationStore.get(db, workspaceId, key),
    agentScopeSettingOf(db, workspaceId, key),
  ]);
  return { integration, clientId: stored?.clientId, agentScope };
}
