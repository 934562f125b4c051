// API keys for the connection's workflow: a submitted key verified with the provider and stored sealed in
// place of any old one, and the scheduled probe of the stored key. The key is opened here only, never
// returned to the workflow, never logged.
import { connectionStore } from '../connections/connection-store.js';
import { credentialStore } from '../connections/credential-store.js';
import { verifyApiKey } from '../providers/api-key-client.js';
import { ProviderError } from '../providers/provider-error.js';
import type { SealedCredential } from '../vault/index.js';
import type { ConnectionRef } from '../workflows/messages.js';
import { credentialContext, type ConnectionAccess } from './connection-access.js';
import { cancellableCall, failure } from './failures.js';
import { readConnectionIdentity, recordIdentity } from './identity.js';

export function createApiKeyActivities(access: ConnectionAccess) {
  const { db, vault, outbound, timeoutMs } = access;
  return {
    /** Verifies a submitted key and reads its account, then stores both in place of any old ones. */
    async storeApiKey(input: {
      connection: ConnectionRef;
      sealedKey: SealedCredential;
    }): Promise<{ keyCreatedAt: number }> {
      const { connection } = input;
      const provider = await access.apiKeyProvider(connection);
      const key = await vault.openText(credentialContext(connection, 'api_key_submission'), input.sealedKey);
      // A refusal is classified (and the original logged) by withClassifiedFailures, like any failure here.
      await cancellableCall(timeoutMs, (signal) => verifyApiKey(provider, key, { signal, outbound }));
      // Which account the key is, before anything is stored: a refusal stores nothing, an outage is retried
      // with the verification (both are safe to repeat).
      const identity = await readConnectionIdentity(access, provider, key, undefined, false);
      const keyCreatedAt = Date.now();
      await access.storeCredential(connection, 'api_key', key, async (tx) => {
        await recordIdentity(tx, connection, identity);
        await connectionStore.recordKeyCreated(tx, connection.id, new Date(keyCreatedAt));
      });
      return { keyCreatedAt };
    },

    /** The scheduled check of a stored key. A provider outage is not the key's fault: it answers unknown. */
    async probeApiKey(input: { connection: ConnectionRef }): Promise<{ verified: boolean }> {
      const { connection } = input;
      const provider = await access.apiKeyProvider(connection);
      const sealed = await credentialStore.get(db, {
        workspaceId: connection.workspaceId,
        connectionId: connection.id,
        purpose: 'api_key',
      });
      if (!sealed) throw failure('CredentialMissing', 'no API key is stored');
      const key = await vault.openText(credentialContext(connection, 'api_key'), sealed);
      try {
        return {
          verified: await cancellableCall(timeoutMs, (signal) =>
            verifyApiKey(provider, key, { signal, outbound }),
          ),
        };
      } catch (error) {
        if (error instanceof ProviderError && error.retryable) return { verified: false };
        throw error;
      }
    },
  };
}
