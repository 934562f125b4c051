// Sealed credentials in Postgres. Rows hold ciphertext envelopes only; a replacement overwrites the old
// envelope in the same write, and destruction deletes the row, so no old ciphertext lingers.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { CredentialPurpose, SealedCredential } from '../vault/index.js';
import type { ConnectionMetadata } from './connection-store.js';

export interface ConnectionCredentialKey {
  workspaceId: string;
  connectionId: string;
  purpose: CredentialPurpose;
}

/** What the credential read path needs of a connection: who may see it, whether it is usable, where it goes. */
export type UsableConnection = Pick<
  ConnectionMetadata,
  'id' | 'integration' | 'scope' | 'ownerUserId' | 'authType' | 'status' | 'params' | 'providerData'
> & {
  /**
   * Which configuration of its integration is current (the row's updated_at, to the microsecond), when read
   * with the connection: its provider is then taken from the integration store's cache without a query.
   */
  integrationVersion?: string;
};

/** The purpose of a connection's own credential: its OAuth tokens or its API key. */
export const credentialPurposeOf = (connection: Pick<ConnectionMetadata, 'authType'>) =>
  connection.authType === 'oauth2' ? ('oauth_tokens' as const) : ('api_key' as const);

export const credentialStore = {
  /**
   * A connection of the workspace and its own sealed credential, in one round trip to Postgres: the
   * credential read path's only query. Undefined for an unknown or foreign id.
   */
  async getForUse(
    db: Db,
    workspaceId: string,
    connectionId: string,
  ): Promise<{ connection: UsableConnection; sealed?: SealedCredential } | undefined> {
    const { rows } = await db.raw(
      `select c.id, c.integration, c.scope, c.owner_user_id, c.auth_type, c.status, c.params, c.provider_data,
              cr.envelope, i.updated_at::text as integration_version
         from connections c
         left join credentials cr
           on cr.connection_id = c.id
          and cr.purpose = case c.auth_type when 'oauth2' then 'oauth_tokens' else 'api_key' end
         left join integrations i
           on i.workspace_id = c.workspace_id and i.key = c.integration
        where c.id = ? and c.workspace_id = ?`,
      [connectionId, workspaceId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      connection: {
        id: row.id,
        integration: row.integration,
        scope: row.scope,
        ownerUserId: row.owner_user_id ?? null,
        authType: row.auth_type,
        status: row.status,
        params: row.params ?? {},
        providerData: row.provider_data ?? {},
        integrationVersion: row.integration_version ?? undefined,
      },
      sealed: row.envelope ?? undefined,
    };
  },

  async put(db: Db, key: ConnectionCredentialKey, envelope: SealedCredential): Promise<void> {
    await db.raw(
      `insert into credentials (id, workspace_id, connection_id, purpose, envelope)
       values (?, ?, ?, ?, ?::jsonb)
       on conflict (connection_id, purpose) where connection_id is not null
       do update set envelope = excluded.envelope, updated_at = now()`,
      [randomUUID(), key.workspaceId, key.connectionId, key.purpose, JSON.stringify(envelope)],
    );
  },

  async get(db: Db, key: ConnectionCredentialKey): Promise<SealedCredential | undefined> {
    const row = await db('credentials')
      .where({ workspace_id: key.workspaceId, connection_id: key.connectionId, purpose: key.purpose })
      .first('envelope');
    return row?.envelope;
  },

  async destroyForConnection(db: Db, connectionId: string): Promise<number> {
    return db('credentials').where({ connection_id: connectionId }).delete();
  },

  async putForIntegration(
    db: Db,
    key: { workspaceId: string; integration: string },
    envelope: SealedCredential,
  ): Promise<void> {
    await db.raw(
      `insert into credentials (id, workspace_id, integration, purpose, envelope)
       values (?, ?, ?, 'client_secret', ?::jsonb)
       on conflict (workspace_id, integration, purpose) where integration is not null
       do update set envelope = excluded.envelope, updated_at = now()`,
      [randomUUID(), key.workspaceId, key.integration, JSON.stringify(envelope)],
    );
  },

  async getForIntegration(
    db: Db,
    key: { workspaceId: string; integration: string },
  ): Promise<SealedCredential | undefined> {
    const row = await db('credentials')
      .where({ workspace_id: key.workspaceId, integration: key.integration, purpose: 'client_secret' })
      .first('envelope');
    return row?.envelope;
  },

  /** The integrations of the workspace that hold a client secret (never the secret itself). */
  async integrationsWithClientSecret(db: Db, workspaceId: string): Promise<Set<string>> {
    const rows: Array<{ integration: string }> = await db('credentials')
      .where({ workspace_id: workspaceId, purpose: 'client_secret' })
      .whereNotNull('integration')
      .select('integration');
    return new Set(rows.map((row) => row.integration));
  },
};
