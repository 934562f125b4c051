// Connect sessions: who may mint a connect link for whom, and for what. Owners and admins for any user of
// their workspace, and for the workspace itself; a member for themselves; an agent for the user it acts on
// behalf of, user scope only. A link names the integrations it may connect (each configured and enabled in
// the workspace), or one connection to reconnect in place. The token leaves only in the answer that creates
// it (as the link's URL); the table holds its hash.
import type { Db } from '../db/database.js';
import { connectionStore } from '../connections/connection-store.js';
import { checkReturnTo } from '../connections/return-to.js';
import { integrationStore } from '../integrations/integration-store.js';
import { checkParameters, integrationProvider, type Catalogue } from '../integrations/connection-provider.js';
import type { Claims } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { connectUrl, derivedConnectToken, hashConnectToken, newConnectToken } from './connect-links.js';
import {
  connectSessionStore,
  type ConnectReason,
  type ConnectScope,
  type ConnectSession,
} from './connect-session-store.js';

export interface ConnectSessionRequest {
  integration?: string;
  allowedIntegrations?: string[];
  scope: ConnectScope;
  userId?: string;
  connectionId?: string;
  reason?: ConnectReason;
  returnTo?: string;
  /** Seconds. */
  ttl?: number;
  params?: Record<string, string>;
}

export interface ConnectLink {
  url: string;
  expiresAt: string;
}

/** What minting a link for a need takes: resolve's connect links and the token route's reconnect links. */
export type ConnectLinks = Pick<ConnectSessions, 'linkFor'>;

export interface ConnectSessionsDependencies {
  db: Db;
  publicUrl: string;
  returnToOrigins: string[];
  defaultTtlMs: number;
  maxTtlMs: number;
  catalogue: Catalogue;
}

/** The shortest link a caller may ask for. */
export const MIN_CONNECT_TTL_MS = 60_000;
/** Sessions expired longer ago than this are purged. */
const PURGE_AFTER_MS = 24 * 60 * 60 * 1000;
/** Sessions purged at most per create, so a backlog never slows one down much. */
const PURGE_BATCH = 100;

export class ConnectSessions {
  constructor(private readonly deps: ConnectSessionsDependencies) {}

  async create(caller: Claims, request: ConnectSessionRequest): Promise<ConnectLink & { id: string }> {
    const { db } = this.deps;
    let integrations = this.integrationsOf(request);
    let userId: string | null;
    if (request.connectionId === undefined) {
      userId = this.endUserOf(caller, request.scope, request.userId);
    } else {
      const connection = await connectionStore.get(db, caller.workspace, request.connectionId);
      // A connection the caller does not see answers as one that does not exist.
      if (!connection || (connection.scope === 'user' && !this.sees(caller, connection.ownerUserId))) {
        throw new ApiError('not_found', `no connection ${request.connectionId}`);
      }
      if (connection.scope !== request.scope) {
        throw invalid('scope', `connection ${request.connectionId} has scope ${connection.scope}`);
      }
      userId = this.endUserOf(caller, request.scope, request.userId ?? connection.ownerUserId ?? undefined);
      if (connection.scope === 'user' && userId !== connection.ownerUserId) {
        throw invalid('userId', `connection ${request.connectionId} belongs to another user`);
      }
      // A disconnected connection is final, and so is one whose setup failed: a new link creates anew.
      if (connection.status === 'disconnected' || connection.status === 'failed') {
        throw new ApiError(
          'conflict',
          `connection ${request.connectionId} is ${connection.status} and cannot be reconnected`,
        );
      }
      if (integrations.length && (integrations.length > 1 || integrations[0] !== connection.integration)) {
        throw invalid(
          request.integration !== undefined ? 'integration' : 'allowedIntegrations',
          `connection ${request.connectionId} is of integration ${connection.integration}`,
        );
      }
      if (request.params !== undefined) {
        throw invalid('params', "a reconnect keeps the connection's own parameters");
      }
      integrations = [connection.integration];
    }
    if (!integrations.length) {
      throw invalid('integration', 'give integration, allowedIntegrations or connectionId');
    }
    const params = await this.checkIntegrations(
      caller.workspace,
      integrations,
      request.params,
      request.connectionId !== undefined,
    );
    const returnTo =
      request.returnTo === undefined
        ? null
        : checkReturnTo(request.returnTo, this.deps.publicUrl, this.deps.returnToOrigins);
    const ttlMs = this.ttlMsOf(request.ttl);

    await connectSessionStore.purgeExpired(db, new Date(Date.now() - PURGE_AFTER_MS), PURGE_BATCH);
    const token = newConnectToken();
    const session = await connectSessionStore.insert(db, {
      tokenHash: hashConnectToken(token),
      workspaceId: caller.workspace,
      userId,
      scope: request.scope,
      integrations,
      connectionId: request.connectionId ?? null,
      params,
      reason: reasonOf(request.reason),
      returnTo,
      createdBy: caller.sub,
      expiresAt: new Date(Date.now() + ttlMs),
    });
    return { id: session.id, ...this.linkOf(session, token) };
  }

  /**
   * The link the caller may mint for this need, or undefined when its role may not (or the need cannot be
   * met by a link: an integration not enabled, a connection it does not see).
   */
  async linkFor(
    caller: Claims,
    need: {
      integration: string;
      scope: ConnectScope;
      userId?: string;
      connectionId?: string;
      reason?: ConnectReason;
    },
  ): Promise<ConnectLink | undefined> {
    try {
      const { url, expiresAt } = await this.create(caller, {
        ...(need.connectionId === undefined ? { integration: need.integration } : {}),
        scope: need.scope,
        userId: need.userId,
        connectionId: need.connectionId,
        reason: need.reason,
      });
      return { url, expiresAt };
    } catch (error) {
      if (error instanceof ApiError && [400, 403, 404, 409].includes(error.status)) return undefined;
      throw error;
    }
  }

  /**
   * The reconnect link of a health event's notice: its token derived from `key` (the webhook secret) and the
   * notice id, created once, so every delivery of the notice carries the same link.
   */
  async mintForNotice(
    key: string,
    target: {
      workspaceId: string;
      connectionId: string;
      integration: string;
      scope: ConnectScope;
      userId: string | null;
    },
    noticeId: string,
  ): Promise<ConnectLink> {
    const token = derivedConnectToken(key, `connect-notice:${noticeId}`);
    const session = await connectSessionStore.insert(this.deps.db, {
      tokenHash: hashConnectToken(token),
      noticeKey: noticeId,
      workspaceId: target.workspaceId,
      userId: target.scope === 'user' ? target.userId : null,
      scope: target.scope,
      integrations: [target.integration],
      connectionId: target.connectionId,
      params: null,
      reason: null,
      returnTo: null,
      createdBy: 'health-events',
      expiresAt: new Date(Date.now() + this.deps.maxTtlMs),
    });
    return this.linkOf(session, token);
  }

  private linkOf(session: ConnectSession, token: string): ConnectLink {
    return { url: connectUrl(this.deps.publicUrl, token), expiresAt: session.expiresAt.toISOString() };
  }

  /** Whether the caller sees a user's personal connections (404 otherwise, as for a foreign id). */
  private sees(caller: Claims, ownerUserId: string | null): boolean {
    if (caller.role === 'owner' || caller.role === 'admin') return true;
    const own = caller.role === 'agent' ? caller.on_behalf_of : caller.sub;
    return ownerUserId !== null && ownerUserId === own;
  }

  /** The end user of the link, as the caller's role allows; null for a workspace link. */
  private endUserOf(caller: Claims, scope: ConnectScope, userId: string | undefined): string | null {
    if (caller.role === 'owner' || caller.role === 'admin') {
      if (scope === 'workspace') {
        if (userId !== undefined) throw invalid('userId', 'a workspace link is for no one user');
        return null;
      }
      return userId ?? caller.sub;
    }
    if (scope === 'workspace') {
      throw new ApiError('forbidden', `the ${caller.role} role may create user links only`);
    }
    const own = caller.role === 'agent' ? caller.on_behalf_of : caller.sub;
    if (own === undefined) {
      throw new ApiError('forbidden', 'an agent creates links only for the user it acts on behalf of');
    }
    if (userId !== undefined && userId !== own) {
      throw new ApiError(
        'forbidden',
        caller.role === 'agent'
          ? 'an agent creates links only for the user it acts on behalf of'
          : 'a member creates links only for themselves',
      );
    }
    return own;
  }

  private integrationsOf(request: ConnectSessionRequest): string[] {
    if (request.integration !== undefined && request.allowedIntegrations !== undefined) {
      throw invalid('allowedIntegrations', 'give integration or allowedIntegrations, not both');
    }
    if (request.integration !== undefined) return [request.integration];
    return [...new Set(request.allowedIntegrations ?? [])];
  }

  /**
   * Every integration configured and enabled; for a new connection the parameters checked against each, so
   * that a link is never made that cannot connect (one its provider's required parameters are missing from).
   * A reconnect keeps its connection's own.
   */
  private async checkIntegrations(
    workspaceId: string,
    keys: string[],
    given: Record<string, string> | undefined,
    reconnect: boolean,
  ): Promise<Record<string, string> | null> {
    const unavailable: string[] = [];
    const problems: Array<{ path: string; message: string }> = [];
    for (const key of keys) {
      const integration = await integrationStore.get(this.deps.db, workspaceId, key);
      if (!integration || !integration.enabled) {
        unavailable.push(key);
        continue;
      }
      if (reconnect) continue;
      const checked = checkParameters(integrationProvider(integration, this.deps.catalogue), given ?? {});
      for (const { name, message } of checked.problems) {
        problems.push({
          path: `body.params.${name}`,
          message: keys.length > 1 ? `${key}: ${message}` : message,
        });
      }
    }
    if (unavailable.length) {
      throw new ApiError(
        'invalid_request',
        `not configured and enabled in this workspace: ${unavailable.join(', ')}`,
        unavailable.map((key) => ({ path: 'body.integration', message: `${key} is not enabled here` })),
      );
    }
    if (problems.length) {
      throw new ApiError(
        'invalid_request',
        `connection parameters refused: ${[...new Set(problems.map((problem) => problem.path.slice(12)))].join(', ')}`,
        problems,
      );
    }
    return given ?? null;
  }

  private ttlMsOf(ttl: number | undefined): number {
    if (ttl === undefined) return this.deps.defaultTtlMs;
    const ms = ttl * 1000;
    if (!Number.isInteger(ttl) || ms < MIN_CONNECT_TTL_MS || ms > this.deps.maxTtlMs) {
      throw invalid(
        'ttl',
        `ttl must be whole seconds from ${MIN_CONNECT_TTL_MS / 1000} to ${this.deps.maxTtlMs / 1000}`,
      );
    }
    return ms;
  }
}

function invalid(field: string, message: string): ApiError {
  return new ApiError('invalid_request', message, [{ path: `body.${field}`, message }]);
}

function reasonOf(reason: ConnectReason | undefined): ConnectReason | null {
  if (!reason) return null;
  const kept: ConnectReason = {};
  if (reason.agentId !== undefined) kept.agentId = reason.agentId;
  if (reason.taskId !== undefined) kept.taskId = reason.taskId;
  if (reason.text !== undefined) kept.text = reason.text;
  return Object.keys(kept).length ? kept : null;
}
