// Disconnecting: the connection's credentials destroyed at once (and marked destroyed, so that nothing is
// stored after), then the grant revoked at the provider (in its revocation style) from memory. The ciphertext is gone
// whatever the provider says; a revocation that fails is logged, never retried for ever.
import { Context } from '@temporalio/activity';
import { publishConnectionChange } from '../connections/connection-changes.js';
import { connectionStore } from '../connections/connection-store.js';
import { credentialStore } from '../connections/credential-store.js';
import { oauthStateStore } from '../connections/oauth-state-store.js';
import { revocationOf, revocationToken, revokeGrant } from '../providers/revocation-client.js';
import { ProviderError } from '../providers/provider-error.js';
import type { ConnectionRef } from '../workflows/messages.js';
import type { ConnectionAccess } from './connection-access.js';
import { cancellableCall, classify } from './failures.js';

/** Revocation attempts through a provider outage, from memory, before giving up. */
const REVOCATION_ATTEMPTS = 5;

export function createRevocationActivities(access: ConnectionAccess) {
  const { db, deps, timeoutMs } = access;
  return {
    /** Destroys every credential of the connection, then revokes the grant, retrying an outage a few times. */
    async destroyCredentials(input: {
      connection: ConnectionRef;
      revoke: boolean;
    }): Promise<{ revoked: boolean }> {
      const { connection } = input;
      const tokens =
        connection.authType === 'oauth2'
          ? await access.loadTokens(connection).catch(() => undefined)
          : undefined;
      await db.transaction(async (tx) => {
        await connectionStore.recordCredentialsDestroyed(tx, connection.id);
        await credentialStore.destroyForConnection(tx, connection.id);
        await publishConnectionChange(tx, { connectionId: connection.id, kind: 'credential' });
        await oauthStateStore.deleteForConnection(tx, connection.id);
      });
      if (!input.revoke || !tokens) return { revoked: false };
      const { provider, credentials } = await access.oauthIntegration(connection);
      const revocation = revocationOf(provider);
      if (!revocation) return { revoked: false };
      const token = revocationToken(revocation, tokens);
      for (let attempt = 1; ; attempt++) {
        try {
          return {
            revoked: await cancellableCall(timeoutMs, (signal) =>
              revokeGrant(provider, credentials, token, access.oauthOptions(signal)),
            ),
          };
        } catch (error) {
          const retryable = error instanceof ProviderError && error.retryable;
          if (!retryable || attempt >= REVOCATION_ATTEMPTS || Context.current().cancellationSignal.aborted) {
            deps.logger.warn(
              { connectionId: connection.id, type: classify(error, 'revocation').type },
              'revocation at the provider failed',
            );
            return { revoked: false };
          }
          Context.current().heartbeat({ attempt });
          const delay = Math.min((error as ProviderError).retryAfterMs ?? 1000 * 2 ** (attempt - 1), 30_000);
          await Context.current().sleep(delay);
        }
      }
    },
  };
}
