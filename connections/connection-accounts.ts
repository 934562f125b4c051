// The upstream account columns of the connection read model (account_id, account_display_name,
// provider_data), written through connectionStore (which owns the table) by the activities that store a new
// credential. An upstream account is held by at most one connection per scope that is not final: checked
// here under the row lock, and settled by the partial unique index when two setups race.
import type { Knex } from 'knex';
import type { Db } from '../db/database.js';
import { finalStatuses } from '../workflows/connection-status.js';
import type { ConnectionRef } from '../workflows/messages.js';

/** The upstream account and provider data read for a new credential (providers/identity.ts). */
export interface ConnectionIdentity {
  account?: { id: string; displayName: string };
  data: Record<string, string>;
}

/** Why an identity was not recorded: the account is another live connection's, or not this connection's. */
export type AccountConflict =
  { conflict: 'already_connected'; connectionId: string } | { conflict: 'mismatch' };

const UNIQUE_VIOLATION = '23505';

/** The connection (not this one, not final) that holds `accountId` in the connection's scope, if any. */
async function holderOf(db: Db, connection: ConnectionRef, accountId: string): Promise<string | undefined> {
  const row = await db('connections')
    .where({
      workspace_id: connection.workspaceId,
      integration: connection.integration,
      scope: connection.scope,
      account_id: accountId,
    })
    .andWhereRaw(`coalesce(owner_user_id, '') = ?`, [connection.ownerUserId ?? ''])
    .whereNotIn('status', finalStatuses)
    .whereNot({ id: connection.id })
    .first('id');
  return (row?.id as string | undefined) ?? undefined;
}

/**
 * Inside the transaction that stores a new credential (the row locked by lockUndestroyed): records its
 * upstream account and provider data, or answers why not and changes nothing. The account must be this
 * connection's own (when it has one) and no other live connection's in the same scope.
 */
export async function recordIdentity(
  tx: Knex.Transaction,
  connection: ConnectionRef,
  identity: ConnectionIdentity,
): Promise<AccountConflict | undefined> {
  const { account } = identity;
  if (account) {
    const row = await tx('connections').where({ id: connection.id }).first('account_id');
    const current = (row?.account_id as string | null | undefined) ?? null;
    if (current !== null && current !== account.id) return { conflict: 'mismatch' };
    const holder = await holderOf(tx, connection, account.id);
    if (holder) return { conflict: 'already_connected', connectionId: holder };
  }
  const update = {
    provider_data: JSON.stringify(identity.data),
    ...(account ? { account_id: account.id, account_display_name: account.displayName } : {}),
  };
  try {
    // A savepoint: the unique violation of a race must not abort the caller's transaction.
    await tx.transaction((savepoint) => savepoint('connections').where({ id: connection.id }).update(update));
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION || !account) throw error;
    const holder = await holderOf(tx, connection, account.id);
    if (!holder) throw error;
    return { conflict: 'already_connected', connectionId: holder };
  }
  return undefined;
}
