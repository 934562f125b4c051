// The composition root of the API: builds, once per app, what the features share (the rate-limit counters,
// the ready long-poll admission, the credential cache and the read path of agent access), hands each feature
// its own dependencies through its factory, and gives the app their routes. Features never look anything up
// and never import the app; whoever builds the parts that need stopping (grants, the change listener, the
// outbound guard) stops them. Used by platform/service.ts and, through test/support/api.ts, by the tests.
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Express } from 'express';
import { agentAccessRoutes } from '../agent-access/routes.js';
import { AgentPolicies } from '../agent-policies/agent-policies.js';
import { agentPolicyRoutes } from '../agent-policies/routes.js';
import type { GrantRecorder } from '../agent-access/grant-recorder.js';
import { defaultReadyWaitLimits, ReadyWaits, type ReadyWaitLimits } from '../agent-access/ready.js';
import {
  CONNECT_SESSION_TTL_BOUNDS_SECONDS,
  DEFAULT_CONNECT_SESSION_TTL_SECONDS,
  DEFAULT_CONSOLE_SESSION_TTL_SECONDS,
  DEFAULT_REFRESH_MARGIN_SECONDS,
} from '../config/config.js';
import { createApp, type ApiDependencies } from '../api/app.js';
import type { TokenVerifier } from '../api/auth.js';
import { defaultRateLimits, RateLimits, type RateLimitSettings } from '../api/rate-limits.js';
import { ConnectSessions } from '../connect/connect-sessions.js';
import { connectPageRoutes } from '../connect/pages.js';
import { connectRoutes } from '../connect/routes.js';
import type { ConnectionChangeListener } from '../connections/connection-changes.js';
import type { ConnectionCommands } from '../connections/connection-commands.js';
import { connectionRoutes } from '../connections/routes.js';
import { dependentRoutes } from '../dependents/routes.js';
import { defaultCatalogue, type Catalogue } from '../integrations/connection-provider.js';
import { integrationRoutes } from '../integrations/routes.js';
import { defaultMcpSessionLimits, type McpSessionLimits } from '../mcp/mcp-sessions.js';
import { mcpRoutes } from '../mcp/routes.js';
import type { Logger } from '../logging/logger.js';
import { trackConnectionsByStatus } from '../observability/metrics.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import { createConsoleAuth } from '../console/console-auth.js';
import { consoleRoutes } from '../console/routes.js';
import { noSignIn, type SignInVerifier } from '../console/sign-in-links.js';
import { CredentialCache } from '../vault/credential-cache.js';
import type { CredentialVault, KeyProvider } from '../vault/index.js';

export interface ApiParts {
  db: Knex;
  temporal: Client;
  keys: KeyProvider;
  logger: Logger;
  vault: CredentialVault;
  /** The Temporal gateway: every change to a connection goes to its workflow through it. */
  commands: ConnectionCommands;
  verifyToken: TokenVerifier;
  publicUrl: string;
  /** http:// and private-network provider URLs, for development and tests only. */
  allowInsecureProviderUrls: boolean;
  /** The provider catalogue: catalogue/providers.ts unless a test points entries at stand-ins. */
  catalogue?: Catalogue;
  /** The way out to providers (the proxy, and the address check of custom providers' URLs). */
  outbound: OutboundGuard;
  /** Where the token route and the proxy record grants; whoever creates it stops it, after the server. */
  grants: GrantRecorder;
  /** Transitions and credential changes announced by the worker (Postgres LISTEN/NOTIFY). */
  changes: ConnectionChangeListener;
  /** Requests a minute per caller (per address on public routes), by limit; defaults for those absent. */
  rateLimits?: Partial<RateLimitSettings>;
  /** READY_WAITS_PER_CALLER, READY_WAITS_PER_PROCESS: long-polls waiting at once. */
  readyWaits?: Partial<ReadyWaitLimits>;
  /** MCP_SESSIONS_MAX, MCP_SESSION_IDLE_SECONDS: the MCP server's sessions in this process. */
  mcpSessions?: Partial<McpSessionLimits>;
  /** AUTH_JWT_ISSUER: the authorization server the MCP server's resource metadata names. */
  authIssuer?: string;
  /** Origins besides PUBLIC_URL's that an OAuth callback may return to (RETURN_TO_ORIGINS). */
  returnToOrigins?: string[];
  /** CONNECT_SESSION_TTL_SECONDS: how long a connect link works when its creator gives no `ttl`. */
  connectSessionTtlMs?: number;
  /** REFRESH_MARGIN_SECONDS: the token route refreshes a token expiring sooner before handing it out. */
  refreshMarginMs?: number;
  trustProxy?: ApiDependencies['trustProxy'];
  checkResponses?: boolean;
  /** The codec server; its operator-session check is the console's (added here). */
  codec?: Omit<NonNullable<ApiDependencies['codec']>, 'operatorSession'>;
  /** The console (console/): sign-in (without a verifier no sign-in token is accepted), session lifetime. */
  console?: {
    /** Verifies sign-in tokens (console/sign-in-links.ts); a composition without it refuses every one. */
    signIn?: SignInVerifier;
    /** CONSOLE_SESSION_TTL_SECONDS, in ms. */
    sessionTtlMs?: number;
    /** Where operators read workflows (linked for operator sessions only). */
    temporalUi?: { url: string; namespace: string };
  };
}

export function composeApi(parts: ApiParts): Express {
  const { db, logger, commands, grants, changes, verifyToken, outbound } = parts;
  const limits = new RateLimits({ ...defaultRateLimits, ...parts.rateLimits });
  const cache = new CredentialCache(parts.vault);
  cache.follow(changes);
  const catalogue = parts.catalogue ?? defaultCatalogue;
  const connectSessions = new ConnectSessions({
    db,
    publicUrl: parts.publicUrl,
    returnToOrigins: parts.returnToOrigins ?? [],
    defaultTtlMs: parts.connectSessionTtlMs ?? DEFAULT_CONNECT_SESSION_TTL_SECONDS * 1000,
    maxTtlMs: CONNECT_SESSION_TTL_BOUNDS_SECONDS.max * 1000,
    catalogue,
  });
  const policies = new AgentPolicies(db);
  policies.follow(changes);
  const access = {
    db,
    policies,
    catalogue,
    allowInsecureProviderUrls: parts.allowInsecureProviderUrls,
    commands,
    cache,
    grants,
    limits,
    refreshMarginMs: parts.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_SECONDS * 1000,
    connectLinks: connectSessions,
  };
  const waits = new ReadyWaits({ ...defaultReadyWaitLimits, ...parts.readyWaits });
  const agentAccess = agentAccessRoutes({
    access,
    verifyToken,
    outbound,
    db,
    changes,
    waits,
    connectLinks: connectSessions,
  });
  const mcp = mcpRoutes({
    access,
    outbound,
    db,
    changes,
    waits,
    connectLinks: connectSessions,
    logger,
    verifyToken,
    publicUrl: parts.publicUrl,
    issuer: parts.authIssuer,
    sessions: { ...defaultMcpSessionLimits, ...parts.mcpSessions },
  });
  // The console's sessions: the codec server's operator check reads them too.
  const consoleAuth = createConsoleAuth({ db, publicUrl: parts.publicUrl });
  void trackConnectionsByStatus(db, changes, logger);
  return createApp({
    logger,
    trustProxy: parts.trustProxy,
    checkResponses: parts.checkResponses,
    health: { db, temporal: parts.temporal, keys: parts.keys },
    verifyToken,
    limits,
    routes: [
      ...integrationRoutes({
        db,
        vault: parts.vault,
        allowInsecureProviderUrls: parts.allowInsecureProviderUrls,
        outbound,
      }),
      ...connectionRoutes({
        db,
        commands,
        publicUrl: parts.publicUrl,
        returnToOrigins: parts.returnToOrigins ?? [],
        logger,
        catalogue,
      }),
      ...dependentRoutes({ db }),
      ...connectRoutes({ sessions: connectSessions }),
      ...connectPageRoutes({
        db,
        commands,
        publicUrl: parts.publicUrl,
        catalogue,
        outbound,
        allowInsecureProviderUrls: parts.allowInsecureProviderUrls,
        logger,
      }),
      ...agentAccess.routes,
      ...mcp.routes,
      ...agentPolicyRoutes({ policies, db }),
      ...consoleRoutes({
        db,
        logger,
        commands,
        connectSessions,
        catalogue,
        vault: parts.vault,
        outbound,
        allowInsecureProviderUrls: parts.allowInsecureProviderUrls,
        publicUrl: parts.publicUrl,
        limits,
        policies,
        auth: consoleAuth,
        signIn: {
          verify: parts.console?.signIn ?? noSignIn,
          sessionTtlMs: parts.console?.sessionTtlMs ?? DEFAULT_CONSOLE_SESSION_TTL_SECONDS * 1000,
          sessions: consoleAuth,
        },
        temporalUi: parts.console?.temporalUi,
      }),
    ],
    streaming: [agentAccess.proxy, mcp.streaming],
    // Temporal UI sends the operator's browser cookies, not a token: the operator session opens the codec
    // too (for the UI's origins only: api/codec-server.ts).
    codec: parts.codec && {
      ...parts.codec,
      operatorSession: async (req) => (await consoleAuth.operator(req)) !== undefined,
    },
  });
}
