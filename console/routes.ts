// The console's one factory: the sign-in routes (sign-in.ts), and every page behind a session (ConsolePages:
// integrations, an integration's connections, a connection, the agents and their policies), mounted by the
// composition root like any feature's routes.
import type { AgentPolicies } from '../agent-policies/agent-policies.js';
import type { Route } from '../api/routes.js';
import type { RateLimits } from '../api/rate-limits.js';
import type { ConnectSessions } from '../connect/connect-sessions.js';
import type { ConnectionCommands } from '../connections/connection-commands.js';
import type { Db } from '../db/database.js';
import type { Catalogue } from '../integrations/connection-provider.js';
import type { Logger } from '../logging/logger.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import type { CredentialVault } from '../vault/index.js';
import { agentPages } from './agent-pages.js';
import { connectionPages } from './connection-pages.js';
import { ConsolePages, type ConsoleAuth } from './console-page.js';
import { integrationPages } from './integration-pages.js';
import { signInRoutes, type SignInDependencies } from './sign-in.js';

export interface ConsoleDependencies {
  db: Db;
  logger: Logger;
  /** The Temporal gateway: every change to a connection goes to its workflow through it, as from the API. */
  commands: ConnectionCommands;
  /** Connect links: connecting goes through the hosted connect page. */
  connectSessions: ConnectSessions;
  catalogue: Catalogue;
  /** Seals client secrets. */
  vault: CredentialVault;
  /** The address check of custom providers' URLs, and the API-key checks. */
  outbound: OutboundGuard;
  allowInsecureProviderUrls: boolean;
  publicUrl: string;
  limits: RateLimits;
  auth: ConsoleAuth;
  signIn: SignInDependencies;
  /** Agents' access policies: read and written only through it, so that its cache is dropped on changes. */
  policies: AgentPolicies;
  /** Where operators read a connection's workflow (the console links it for operators only). */
  temporalUi?: { url: string; namespace: string };
}

export function consoleRoutes(deps: ConsoleDependencies): Route[] {
  const pages = new ConsolePages({ auth: deps.auth, limits: deps.limits });
  integrationPages(pages, deps);
  connectionPages(pages, deps);
  agentPages(pages, deps);
  return [...signInRoutes(deps), ...pages.routes];
}
