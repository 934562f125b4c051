// The credential read path for agent tasks (and owners, admins): the token route, and the credential the
// proxy injects. It reads Postgres and opens the envelope (through the credential cache, so KMS is not
// asked on every request); it neither calls Temporal nor takes a lock, except to ask the connection's
// workflow for a refresh when the token is about to expire (or the provider refused it): refreshes stay
// serialised by the workflow. Nor does it write per read: grants are counted in memory and written in
// batches (agent-access/grant-recorder.ts). Credentials are returned to the caller only, never logged.
import { z } from 'zod';
import type { Knex } from 'knex';
import { connectionStore } from '../connections/connection-store.js';
import {
  credentialPurposeOf,
  credentialStore,
  type UsableConnection,
} from '../connections/credential-store.js';
import type { GrantRecorder } from './grant-recorder.js';
import type { CredentialCache } from '../vault/credential-cache.js';
import type { Claims, Role } from '../api/auth.js';
import type { ConnectionCommands } from '../connections/connection-commands.js';
import { ApiError } from '../api/errors.js';
import { idSchema, type RouteList } from '../api/routes.js';
import { platformId } from '../api/validation.js';
import { notFound, sees, visibilityOf } from '../connections/access.js';
import type { SealedCredential } from '../vault/index.js';
import { parseStoredTokens } from '../connections/stored-tokens.js';
import { dueForRefresh } from '../workflows/refresh-policy.js';
import { callerKey, connectionKey, rateLimited, type RateLimits } from '../api/rate-limits.js';
import { connectionProvider, type Catalogue } from '../integrations/connection-provider.js';
import type { ProviderConfig } from '../providers/provider-config.js';
import type { ConnectLinks } from '../connect/connect-sessions.js';
import { TemplateError } from '../providers/templates.js';
import {
  decide,
  type AccessUse,
  type PolicyLookup,
  type PolicyRule,
} from '../agent-policies/access-policy.js';

export const agentAccessRoles: Role[] = ['agent', 'owner', 'admin'];

export type UsableCredential =
  | {
      authType: 'oauth2';
      accessToken: string;
      tokenType: string;
      expiresAt: number | null;
      obtainedAt: number | null;
    }
  | { authType: 'api_key'; apiKey: string };

export interface AgentAccess {
  db: Knex;
  /** What catalogue integrations speak (catalogue/providers.ts by default). */
  catalogue: Catalogue;
  /** http:// URLs in provider data are used too (development and tests only). */
  allowInsecureProviderUrls: boolean;
  commands: ConnectionCommands;
  cache: CredentialCache;
  refreshMarginMs: number;
  /** Grants are counted in memory and written in batches; `grants.flush()` writes them now. */
  grants: GrantRecorder;
  /** The refreshes this path asks for on its own spend the `refresh` limit of the caller and the connection. */
  limits: RateLimits;
  /** Reconnect links for an expired connection, when the caller may mint one. */
  connectLinks?: ConnectLinks;
  /** Agents' access policies (agent-policies/); absent: none anywhere, every use allowed as before. */
  policies?: PolicyLookup;
}

/** A use of a connection as its grant records it: what the policy judges, the task, and the channel. */
export type ConnectionUse = AccessUse & { taskId?: string; via: 'api' | 'mcp' };

/** The longest proxied path a grant keeps (the rest is cut). */
const GRANT_PATH_MAX = 1024;

/**
 * 403 `policy_denied` naming the rule when the agent's access policy refuses the use, recorded with the
 * grants; before the credential is opened, refreshed or a reconnect link minted.
 */
async function checkPolicy(
  access: AgentAccess,
  caller: Claims,
  connection: Pick<UsableConnection, 'id' | 'integration'>,
  use: ConnectionUse,
): Promise<void> {
  if (caller.role !== 'agent' || !access.policies) return;
  const decision = decide(await access.policies.effectiveFor(caller), connection.integration, use);
  if (decision.allowed) return;
  recordGrant(access, caller, connection.id, use, decision.rule);
  throw new ApiError('policy_denied', decision.message, {
    rule: decision.rule,
    integration: connection.integration,
    ...(use.kind === 'proxy' ? { method: use.method, path: use.path.slice(0, GRANT_PATH_MAX) } : {}),
  });
}

const notActive = (status: string, details: Record<string, string> = {}) =>
  new ApiError('connection_not_active', `the connection is ${status}`, { status, ...details });

/**
 * 409 `connection_not_active` unless the connection is active; an expired one's details carry a reconnect
 * link (a connect session for this connection) when the caller may mint it for the connection's user.
 */
async function requireActive(
  access: AgentAccess,
  caller: Claims,
  connection: Pick<UsableConnection, 'id' | 'integration' | 'scope' | 'ownerUserId' | 'status'>,
): Promise<void> {
  if (connection.status === 'active') return;
  if (connection.status !== 'expired' || !access.connectLinks) throw notActive(connection.status);
  const link = await access.connectLinks.linkFor(caller, {
    integration: connection.integration,
    scope: connection.scope,
    userId: connection.ownerUserId ?? undefined,
    connectionId: connection.id,
    reason: caller.role === 'agent' ? { agentId: caller.sub } : undefined,
  });
  throw notActive(
    connection.status,
    link ? { reconnectUrl: link.url, reconnectUrlExpiresAt: link.expiresAt } : {},
  );
}

/** The connection the caller may see (404 otherwise) and its sealed credential. */
async function readForUse(
  access: AgentAccess,
  caller: Claims,
  connectionId: string,
): Promise<{ connection: UsableConnection; sealed?: SealedCredential }> {
  const read = await credentialStore.getForUse(access.db, caller.workspace, connectionId);
  if (!read || !sees(visibilityOf(caller), read.connection)) throw notFound(connectionId);
  return read;
}

async function openCredential(
  access: AgentAccess,
  connection: UsableConnection,
  workspaceId: string,
  sealed: SealedCredential | undefined,
): Promise<UsableCredential> {
  const purpose = credentialPurposeOf(connection);
  // Active without a credential: it was destroyed in between (a disconnect racing this read).
  if (!sealed) throw notActive('disconnected');
  const plaintext = await access.cache.openText(
    { workspace: workspaceId, connection: connection.id, purpose },
    sealed,
  );
  if (connection.authType === 'api_key') return { authType: 'api_key', apiKey: plaintext } as const;
  const tokens = parseStoredTokens(plaintext);
  return {
    authType: 'oauth2',
    accessToken: tokens.accessToken,
    // Token types are case-insensitive (RFC 6749 5.1) but some APIs accept only the canonical `Bearer`.
    tokenType: !tokens.tokenType || /^bearer$/i.test(tokens.tokenType) ? 'Bearer' : tokens.tokenType,
    expiresAt: tokens.expiresAt ?? null,
    obtainedAt: tokens.obtainedAt ?? null,
  } as const;
}

/** Asks the workflow for a refresh; the connection must still be active afterwards. */
async function refreshThroughWorkflow(
  access: AgentAccess,
  caller: Claims,
  connectionId: string,
): Promise<UsableConnection> {
  let refused: unknown;
  try {
    const snapshot = await access.commands.refresh(connectionId, caller.sub);
    // Told from the connection as recorded below, with its reconnect link when it expired.
    if (snapshot.status !== 'active') refused = notActive(snapshot.status);
  } catch (error) {
    refused = error;
  }
  const connection = await connectionStore.get(access.db, caller.workspace, connectionId);
  if (!connection) throw new ApiError('not_found', `no connection ${connectionId}`);
  await requireActive(access, caller, connection);
  if (refused) throw refused;
  return connection;
}

/**
 * The credential of a connection the caller may use: visible to it (404 otherwise, as for an unknown id),
 * allowed by the agent's access policy for this use (403 `policy_denied` otherwise), active (409
 * `connection_not_active` otherwise), refreshed first when it expires within the margin or when `refresh`
 * is asked for (the provider refused it).
 */
export async function usableCredential(
  access: AgentAccess,
  caller: Claims,
  connectionId: string,
  use: ConnectionUse,
  options: { refresh?: boolean } = {},
): Promise<{ connection: UsableConnection; credential: UsableCredential }> {
  const read = await readForUse(access, caller, connectionId);
  let connection = read.connection;
  await checkPolicy(access, caller, connection, use);
  await requireActive(access, caller, connection);
  let credential = await openCredential(access, connection, caller.workspace, read.sealed);
  // Due by the workflow's own rule, so that a token whose whole lifetime is shorter than the margin is not
  // refreshed on every read.
  const expiring =
    credential.authType === 'oauth2' &&
    dueForRefresh(
      { expiresAt: credential.expiresAt ?? undefined, obtainedAt: credential.obtainedAt ?? undefined },
      Date.now(),
      access.refreshMarginMs,
    );
  if (credential.authType === 'oauth2' && (options.refresh || expiring)) {
    // Over the limit no refresh is asked for: a token that still works is handed out as it is.
    const admission = await access.limits.take('refresh', callerKey(caller), connectionKey(connectionId));
    if (!admission.allowed) {
      const stillValid = credential.expiresAt === null || credential.expiresAt > Date.now();
      if (!options.refresh && stillValid) return { connection, credential };
      throw rateLimited('refresh', admission.retryAfterSeconds);
    }
    connection = await refreshThroughWorkflow(access, caller, connectionId);
    const sealed = await credentialStore.get(access.db, {
      workspaceId: caller.workspace,
      connectionId,
      purpose: credentialPurposeOf(connection),
    });
    credential = await openCredential(access, connection, caller.workspace, sealed);
  }
  return { connection, credential };
}

/**
 * The connection's provider, its URLs filled for the connection (its parameters, the data its provider
 * answered): what the proxy forwards to and the token route names as the API base URL.
 */
export async function providerForUse(
  access: AgentAccess,
  workspaceId: string,
  connection: UsableConnection,
): Promise<ProviderConfig> {
  let found;
  try {
    found = await connectionProvider(
      access.db,
      access.catalogue,
      {
        id: connection.id,
        workspaceId,
        integration: connection.integration,
        // Read with the connection and its credential: no second query on the read path.
        values: { params: connection.params, providerData: connection.providerData },
        integrationVersion: connection.integrationVersion,
      },
      { allowInsecure: access.allowInsecureProviderUrls },
    );
  } catch (error) {
    if (error instanceof TemplateError) throw new ApiError('invalid_request', error.message);
    throw error;
  }
  if (!found)
    throw new ApiError('invalid_request', `integration ${connection.integration} is not configured`);
  return found.provider;
}

/**
 * Counts the grant (or, with the rule, the refusal) in memory (no database write here): it reaches
 * credential_grants with the next flush.
 */
export function recordGrant(
  access: AgentAccess,
  caller: Claims,
  connectionId: string,
  use: ConnectionUse,
  refusedRule?: PolicyRule,
): void {
  access.grants.record({
    workspaceId: caller.workspace,
    connectionId,
    kind: use.kind,
    caller: caller.sub,
    role: caller.role,
    onBehalfOf: caller.on_behalf_of,
    taskId: use.taskId,
    outcome: refusedRule ? 'refused' : 'allowed',
    refusedRule,
    ...(use.kind === 'proxy' ? { method: use.method, path: use.path.slice(0, GRANT_PATH_MAX) } : {}),
    via: use.via,
  });
}

/** The task a grant is made for: the token route's `taskId`, the proxy's X-Task-Id header. */
export const taskIdSchema = platformId();

const tokenAnswer = z.union([
  z.strictObject({
    accessToken: z.string(),
    tokenType: z.string(),
    expiresAt: z.iso.datetime().nullable(),
    /** Where the provider's API is for this connection (a Salesforce instance, a tenant's host). */
    apiBaseUrl: z.url().optional(),
  }),
  z.strictObject({ apiKey: z.string(), apiBaseUrl: z.url().optional() }),
]);

export function registerTokenRoute(registry: RouteList, access: AgentAccess): void {
  registry.add({
    method: 'post',
    path: '/v1/connections/:id/token',
    summary:
      'Short-lived access for an active connection: the current access token (refreshed first when it ' +
      'expires within the refresh margin, or half its lifetime if that is shorter) or the API key; every ' +
      'grant is recorded',
    tags: ['agents'],
    roles: agentAccessRoles,
    hot: true,
    params: z.strictObject({ id: idSchema }),
    body: z.strictObject({ taskId: taskIdSchema.optional() }).optional(),
    response: tokenAnswer,
    errors: [403, 404, 409, 429],
    async handler({ params, body, caller, res }) {
      const use: ConnectionUse = { kind: 'token', taskId: body?.taskId, via: 'api' };
      const { connection, credential } = await usableCredential(access, caller, params.id, use);
      // Where to call, when it can be told; the credential is handed out without it otherwise.
      const apiBaseUrl = await providerForUse(access, caller.workspace, connection).then(
        (provider) => provider.apiBaseUrl,
        (error: unknown) => {
          if (error instanceof ApiError) return undefined;
          throw error;
        },
      );
      recordGrant(access, caller, params.id, use);
      res.setHeader('cache-control', 'no-store');
      const where = apiBaseUrl === undefined ? {} : { apiBaseUrl };
      if (credential.authType === 'api_key') return { apiKey: credential.apiKey, ...where };
      return {
        accessToken: credential.accessToken,
        tokenType: credential.tokenType,
        expiresAt: credential.expiresAt === null ? null : new Date(credential.expiresAt).toISOString(),
        ...where,
      };
    },
  });
}
