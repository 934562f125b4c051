// The upstream account of a new credential, for the activities that store one (a code exchange, an API key's
// verification): read from the provider, then recorded on the connection in the transaction that stores the
// credential, or refused there, so that a credential is never stored for an account that may not have it.
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { alreadyConnectedMessage } from '../connections/connection-errors.js';
import { connectionStore, type ConnectionIdentity } from '../connections/connection-store.js';
import { readIdentity, type TokenAnswerReader } from '../providers/identity.js';
import type { ProviderConfig } from '../providers/provider-config.js';
import { ProviderError } from '../providers/provider-error.js';
import type { ConnectionRef } from '../workflows/messages.js';
import type { ConnectionAccess } from './connection-access.js';
import { cancellableCall, failure } from './failures.js';

/** Identity attempts through a provider outage inside one activity (after a code exchange), and their pause. */
const IDENTITY_ATTEMPTS = 3;
const MAX_PAUSE_MS = 2_000;

/**
 * Reads the account and provider data of `credential`. A refusal is IdentityRefused. An outage is retried
 * here, from memory, when `retryHere` (the code is spent: the activity cannot be run again), then
 * IdentityUnavailable; otherwise it is the activity's to retry, as the verification's.
 */
export async function readConnectionIdentity(
  access: ConnectionAccess,
  provider: ProviderConfig,
  credential: string,
  tokenAnswer: TokenAnswerReader | undefined,
  retryHere: boolean,
): Promise<ConnectionIdentity> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await cancellableCall(access.timeoutMs, (signal) =>
        readIdentity(provider, credential, tokenAnswer, {
          outbound: access.outbound,
          allowInsecureRequests: access.deps.allowInsecureProviderUrls ?? false,
          signal,
        }),
      );
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (!error.retryable && provider.identity?.whenRefused === 'account_unknown') {
        access.deps.logger.warn(
          { provider: provider.displayName, status: error.status },
          'identity request refused: the account stays unknown',
        );
        return { data: {} };
      }
      if (!error.retryable) throw failure('IdentityRefused', error.message);
      if (!retryHere) throw error;
      if (attempt >= IDENTITY_ATTEMPTS || Context.current().cancellationSignal.aborted) {
        throw failure('IdentityUnavailable', `${error.message}; retried ${attempt} times`);
      }
      Context.current().heartbeat({ identityAttempt: attempt });
      await Context.current().sleep(Math.min(error.retryAfterMs ?? 500 * 2 ** (attempt - 1), MAX_PAUSE_MS));
    }
  }
}

/** Inside the credential's transaction: records the identity, or refuses (and so rolls back) the store. */
export async function recordIdentity(
  tx: Knex.Transaction,
  connection: ConnectionRef,
  identity: ConnectionIdentity,
): Promise<void> {
  const refusal = await connectionStore.recordIdentity(tx, connection, identity);
  if (!refusal) return;
  if (refusal.conflict === 'mismatch') {
    throw failure(
      'AccountMismatch',
      "the provider answered for another account than this connection's: nothing was changed; " +
        "sign in with the connection's own account, or create a new connection for the other one",
    );
  }
  throw failure('AccountAlreadyConnected', alreadyConnectedMessage(refusal.connectionId), {
    details: [refusal.connectionId],
  });
}
