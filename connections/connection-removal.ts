// Removing a connection as a person asks it, for the API's DELETE and the console's delete page alike: the
// caller must manage the connection, and only owners and admins may force a removal past its dependents
// (who are then told). The removal itself is the workflow's (ConnectionCommands.remove).
import type { Claims } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { managedConnection, recordedConnection } from './access.js';
import type { ConnectionCommands, Removal } from './connection-commands.js';
import type { ConnectionMetadata } from './connection-store.js';
import type { Db } from '../db/database.js';

/** Whether the caller's role may remove a connection whatever depends on it. */
export function mayForceRemoval(caller: Claims): boolean {
  return caller.role === 'owner' || caller.role === 'admin';
}

/** Removes the connection through its workflow; answers it as recorded afterwards and who was told. */
export async function removeConnection(
  deps: { db: Db; commands: ConnectionCommands },
  caller: Claims,
  connectionId: string,
  options: { force: boolean },
): Promise<{ connection: ConnectionMetadata; notified: Removal['notified'] }> {
  const connection = await managedConnection(deps.db, caller, connectionId);
  if (options.force && !mayForceRemoval(caller)) {
    throw new ApiError('forbidden', 'only owners and admins remove a connection that has dependents');
  }
  const { notified } = await deps.commands.remove(connection.id, { actor: caller.sub, force: options.force });
  return { connection: await recordedConnection(deps.db, caller.workspace, connection.id), notified };
}
