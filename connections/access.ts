// Who may see and who may act on a connection. Owners and admins: every connection of their workspace.
// Members: the workspace's shared connections and their own user connections; they act only on their own.
// Agents: the shared ones and those of the user they act for. What a caller may not see answers 404, like
// an id that does not exist (another workspace's ids included); what it sees but may not change, 403.
import type { Db } from '../db/database.js';
import { connectionStore, type ConnectionMetadata, type Visibility } from './connection-store.js';
import type { Claims } from '../api/auth.js';
import { ApiError } from '../api/errors.js';

export function visibilityOf(caller: Claims): Visibility {
  if (caller.role === 'owner' || caller.role === 'admin') return { all: true };
  return { all: false, userId: caller.role === 'member' ? caller.sub : caller.on_behalf_of };
}

export function sees(
  visibility: Visibility,
  connection: Pick<ConnectionMetadata, 'scope' | 'ownerUserId'>,
): boolean {
  if (visibility.all || connection.scope === 'workspace') return true;
  return visibility.userId !== undefined && connection.ownerUserId === visibility.userId;
}

export const notFound = (id: string) => new ApiError('not_found', `no connection ${id}`);

/** The connection as the caller may see it, or 404. */
export async function visibleConnection(db: Db, caller: Claims, id: string): Promise<ConnectionMetadata> {
  const connection = await connectionStore.get(db, caller.workspace, id);
  if (!connection || !sees(visibilityOf(caller), connection)) throw notFound(id);
  return connection;
}

/** The connection, when the caller may change it: an owner or admin, or the member it belongs to. */
export async function managedConnection(db: Db, caller: Claims, id: string): Promise<ConnectionMetadata> {
  const connection = await visibleConnection(db, caller, id);
  if (caller.role === 'owner' || caller.role === 'admin') return connection;
  if (caller.role === 'member' && connection.scope === 'user' && connection.ownerUserId === caller.sub) {
    return connection;
  }
  throw new ApiError('forbidden', `the ${caller.role} role may not change this connection`);
}

/** The connection as recorded by its workflow, after a command (it must be there: 500 otherwise). */
export async function recordedConnection(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<ConnectionMetadata> {
  const connection = await connectionStore.get(db, workspaceId, id);
  if (!connection) throw new ApiError('internal', 'the connection was not recorded');
  return connection;
}
