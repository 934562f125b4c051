// Registering and removing a connection's dependents, for the API's dependents routes and the console's
// connection page alike. A registration takes the connection's row lock (shared), which a removal holds
// (for update) while it lists the dependents and records itself: a registration is either seen by that
// removal or sees the connection disconnected and is refused, so no dependent is ever left on a removed one.
import { z } from 'zod';
import type { Claims } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { platformId, text, url } from '../api/validation.js';
import { visibleConnection } from '../connections/access.js';
import { connectionStore } from '../connections/connection-store.js';
import type { Db } from '../db/database.js';
import { dependentStore, type Dependent, type DependentKind } from './dependent-store.js';

/** A dependent's id, as the platform names it. */
export const dependentIdSchema = platformId();

/** What a registration says of a dependent besides its kind and id (the API's body, the console's form). */
export const dependentDetailsSchema = z.strictObject({
  name: text(200).optional(),
  callbackUrl: url({ schemes: ['https', 'http'] }).optional(),
});

export interface DependentRegistration {
  kind: DependentKind;
  id: string;
  name?: string;
  callbackUrl?: string;
}

/** Registers (or updates) a dependent of a connection the caller sees; answers whether it was new. */
export async function registerDependent(
  db: Db,
  caller: Claims,
  connectionId: string,
  dependent: DependentRegistration,
): Promise<{ dependent: Dependent; created: boolean }> {
  const connection = await visibleConnection(db, caller, connectionId);
  return db.transaction(async (tx) => {
    const current = await connectionStore.lockStatus(tx, connection.id, 'share');
    if (current?.status === 'disconnected') {
      throw new ApiError('conflict', 'the connection is disconnected');
    }
    return dependentStore.put(
      tx,
      { workspaceId: caller.workspace, connectionId: connection.id },
      { ...dependent, actor: caller.sub },
    );
  });
}

/** Removes a dependent of a connection the caller sees; 404 when there is no such dependent. */
export async function removeDependent(
  db: Db,
  caller: Claims,
  connectionId: string,
  dependent: { kind: DependentKind; id: string },
): Promise<void> {
  const connection = await visibleConnection(db, caller, connectionId);
  const removed = await dependentStore.remove(
    db,
    { workspaceId: caller.workspace, connectionId: connection.id },
    dependent.kind,
    dependent.id,
  );
  if (!removed) throw new ApiError('not_found', `no dependent ${dependent.kind}/${dependent.id}`);
}
