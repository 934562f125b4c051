// Activities are built by injection (STYLE.md): createActivities(deps) returns the functions the worker
// registers, so tests hand in real or fake dependencies without module mocking.
import type { Knex } from 'knex';
import type { Logger } from '../logging/logger.js';
import type { CredentialVault } from '../vault/index.js';

export interface ActivityDependencies {
  db: Knex;
  vault: CredentialVault;
  logger: Logger;
}

export function createActivities(_deps: ActivityDependencies) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
