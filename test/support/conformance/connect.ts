// Drives a connection through a conformance stand-in the way a user does: the integration configured with
// the stand-in's client (its secret registered with the harness's log scan), create, sign in and consent at the
// stand-in, callback. The connection's credentials are read back only to assert what a provider received.
import { catalogueEntry, catalogueProvider } from '../../../catalogue/providers.js';
import { integrationStore } from '../../../integrations/integration-store.js';
import type { CatalogueEntry, ProviderConfigInput } from '../../../providers/provider-config.js';
import { connectionStore } from '../../../connections/connection-store.js';
import type { LifecycleSettings } from '../../../workflows/messages.js';
import { startLifecycleHarness } from '../lifecycle.js';
import { catalogueWith, pointAt } from '../catalogue.js';
import { callbackParams, type LifecycleHarness } from '../lifecycle.js';
import { signInAndConsent } from './stand-in-server.js';

export interface StandInClient {
  origin: string;
  clientId: string;
  clientSecret: string;
}

/** Configures `provider` as the workspace's integration `key`, with the stand-in's client credentials. */
export async function configureIntegration(
  harness: LifecycleHarness,
  key: string,
  provider: ProviderConfigInput,
  standIn: StandInClient,
): Promise<void> {
  harness.addSecret(standIn.clientSecret);
  await integrationStore.configure(harness.db, harness.vault, {
    workspaceId: harness.workspaceId,
    key,
    provider,
    clientId: standIn.clientId,
    clientSecret: standIn.clientSecret,
  });
}

/**
 * A lifecycle harness whose worker speaks the real catalogue with the given entries (by key) pointed at their
 * stand-ins, each configured as the workspace's integration with the stand-in's client.
 */
export async function startConformanceHarness(
  pointed: Record<string, StandInClient>,
  settings: Partial<LifecycleSettings> = {},
): Promise<LifecycleHarness> {
  const origins = Object.fromEntries(Object.entries(pointed).map(([key, standIn]) => [key, standIn.origin]));
  const harness = await startLifecycleHarness({ settings, catalogue: catalogueWith(origins) });
  for (const [key, standIn] of Object.entries(pointed)) await configureEntry(harness, key, standIn);
  return harness;
}

/** The connection as the API shows it: status, account, provider data, token expiry. */
export async function shown(harness: LifecycleHarness, connectionId: string) {
  return (await connectionStore.get(harness.db, harness.workspaceId, connectionId))!;
}

/**
 * Configures the real catalogue entry `key` for the workspace with the stand-in's client, as
 * PUT /v1/integrations/{key} would; the worker's catalogue (catalogueWith) points the entry at the stand-in.
 */
export async function configureEntry(
  harness: LifecycleHarness,
  key: string,
  standIn: StandInClient,
): Promise<CatalogueEntry> {
  const entry = catalogueEntry(key);
  if (!entry) throw new Error(`the catalogue has no entry ${key}`);
  await configureIntegration(harness, key, catalogueProvider(entry), standIn);
  return pointAt(entry, standIn.origin);
}

export interface ConnectOptions {
  scope?: 'workspace' | 'user';
  ownerUserId?: string;
  /** The connection parameters asked for at connect (a tenant, a My Domain). */
  params?: Record<string, string>;
}

/** Create, sign in as `login` at the stand-in and consent, callback: what the user saw at each step. */
export async function connectAs(
  harness: LifecycleHarness,
  key: string,
  login: string,
  options: ConnectOptions = {},
) {
  const created = await harness.commands.createOAuth({
    workspaceId: harness.workspaceId,
    integration: key,
    scope: options.scope ?? 'workspace',
    ownerUserId: options.ownerUserId,
    actor: 'admin-1',
    ...(options.params ? { params: options.params } : {}),
  });
  const callback = await signInAndConsent(created.authorizationUrl, login);
  const completed = await harness.commands.completeCallback(callbackParams(callback));
  return { ...created, callback, snapshot: completed.snapshot };
}

/** The connection's stored tokens, opened: to compare with what the stand-in issued and received. */
export async function storedTokens(
  harness: LifecycleHarness,
  connectionId: string,
): Promise<{ accessToken: string; refreshToken?: string; expiresAt?: number }> {
  const row = await harness
    .db('credentials')
    .where({ connection_id: connectionId, purpose: 'oauth_tokens' })
    .first();
  return JSON.parse(
    await harness.vault.openText(
      { workspace: harness.workspaceId, connection: connectionId, purpose: 'oauth_tokens' },
      row.envelope,
    ),
  );
}

/** Every credential the connection still has (none once it is disconnected). */
export function credentialsOf(harness: LifecycleHarness, connectionId: string) {
  return harness.db('credentials').where({ connection_id: connectionId });
}

/** The connection's status-change events, as the API lists them. */
export async function eventsOf(harness: LifecycleHarness, connectionId: string) {
  const rows = await harness
    .db('connection_events')
    .where({ connection_id: connectionId })
    .orderBy('sequence')
    .select('from_status', 'to_status', 'reason');
  return rows.map((row) => [row.from_status, row.to_status, row.reason]);
}

/** The messages of the activity failures the service logged (fixed words and codes only, never a value). */
export function loggedFailures(harness: LifecycleHarness): string[] {
  return harness.logLines
    .map((line) => JSON.parse(line) as { msg?: string; err?: { message?: string } })
    .filter((line) => line.msg === 'activity failed' && line.err?.message)
    .map((line) => line.err!.message!);
}
