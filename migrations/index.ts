// Every migration, in order. Listed here rather than discovered on disk so that they load the same way
// under tsx, jest and compiled JavaScript.
import type { Knex } from 'knex';
import * as connections from './20261126000001_connections.js';
import * as oauthSetup from './20261126000002_oauth_setup.js';
import * as dependents from './20261127000001_dependents.js';
import * as agentAccess from './20261127000002_agent_access.js';
import * as idempotentCreates from './20261128000001_idempotent_creates.js';
import * as grantAggregates from './20261128000002_grant_aggregates.js';
import * as hardening from './20261201000001_hardening.js';
import * as lastUseFromGrants from './20261202000001_last_use_from_grants.js';
import * as connectionParams from './20261202000002_connection_params.js';
import * as connectionAccounts from './20261203000001_connection_accounts.js';
import * as connectSessions from './20261204000001_connect_sessions.js';
import * as consoleSessions from './20261205000001_console_sessions.js';
import * as agentPolicies from './20261206000001_agent_policies.js';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

export const migrations: Array<[name: string, migration: Migration]> = [
  ['20261126000001_connections', connections],
  ['20261126000002_oauth_setup', oauthSetup],
  ['20261127000001_dependents', dependents],
  ['20261127000002_agent_access', agentAccess],
  ['20261128000001_idempotent_creates', idempotentCreates],
  ['20261128000002_grant_aggregates', grantAggregates],
  ['20261201000001_hardening', hardening],
  ['20261202000001_last_use_from_grants', lastUseFromGrants],
  ['20261202000002_connection_params', connectionParams],
  ['20261203000001_connection_accounts', connectionAccounts],
  ['20261204000001_connect_sessions', connectSessions],
  ['20261205000001_console_sessions', consoleSessions],
  ['20261206000001_agent_policies', agentPolicies],
];

export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => migrations,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};
