// Which connection applies when an agent (or a person) asks for an integration: the workspace's shared
// connection, or the acting user's own `user` connection, as the integration's agent scope says. Reads the
// Postgres read model only; never creates, changes or opens a connection.
import { catalogueEntry } from '../catalogue/providers.js';
import type { Db } from '../db/database.js';
import { connectionStore, type ConnectionMetadata } from '../connections/connection-store.js';
import { integrationStore, type AgentScope } from '../integrations/integration-store.js';
import type { ConnectionStatus } from '../workflows/messages.js';
import type { Claims } from '../api/auth.js';
import { ApiError } from '../api/errors.js';

/** Statuses that can still become (or are) usable; failed and disconnected ones never will. */
const preference: ConnectionStatus[] = ['active', 'pending', 'inactive', 'expired'];

export type Resolution =
  | { kind: 'resolved'; scope: AgentScope; connection: ConnectionMetadata }
  | {
      kind: 'connection_required';
      integration: string;
      scope: AgentScope;
      userId?: string;
      /** The most recent unusable (failed or disconnected) connection, so a waiting task can tell why. */
      latest?: { id: string; status: ConnectionStatus; reason: string | null };
    };

/**
 * The integration's agent scope: its own setting (integrations.agent_connection_scope), else the catalogue's
 * default (personal tools: user), else a custom provider's `personal` flag; workspace otherwise.
 */
export async function agentScopeOf(db: Db, workspaceId: string, key: string): Promise<AgentScope> {
  const own = await integrationStore.agentScope(db, workspaceId, key);
  if (own === undefined)
    throw new ApiError('not_found', `no integration ${key} is configured in this workspace`);
  return own ?? defaultAgentScopeOf(db, workspaceId, key);
}

/** The agent scope of an integration without a setting of its own (configured or not: the console shows it). */
export async function defaultAgentScopeOf(db: Db, workspaceId: string, key: string): Promise<AgentScope> {
  const entry = catalogueEntry(key);
  if (entry) return entry.personal ? 'user' : 'workspace';
  const integration = await integrationStore.get(db, workspaceId, key);
  return integration?.provider.personal ? 'user' : 'workspace';
}

/** The user a caller acts for: an agent's `on_behalf_of`, anyone else themselves. */
export function actingUserOf(caller: Claims): string | undefined {
  return caller.role === 'agent' ? caller.on_behalf_of : caller.sub;
}

export async function resolveConnection(db: Db, caller: Claims, integration: string): Promise<Resolution> {
  const scope = await agentScopeOf(db, caller.workspace, integration);
  const userId = scope === 'user' ? actingUserOf(caller) : undefined;
  if (scope === 'user' && !userId) {
    throw new ApiError(
      'invalid_request',
      `${integration} uses personal connections: the agent must act on behalf of a user`,
    );
  }
  const candidates = (
    await connectionStore.list(db, caller.workspace, { all: true }, { integration, scope })
  ).filter((connection) => scope === 'workspace' || connection.ownerUserId === userId);
  const best = candidates
    .filter((connection) => preference.includes(connection.status))
    .sort(
      (a, b) =>
        preference.indexOf(a.status) - preference.indexOf(b.status) || b.updatedAt.localeCompare(a.updatedAt),
    )[0];
  if (best) return { kind: 'resolved', scope, connection: best };
  const latest = candidates.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  return {
    kind: 'connection_required',
    integration,
    scope,
    ...(userId ? { userId } : {}),
    ...(latest ? { latest: { id: latest.id, status: latest.status, reason: latest.statusReason } } : {}),
  };
}
