// Sealed credentials in Postgres. Rows hold ciphertext envelopes only; a replacement overwrites the old
// envelope in the same write, and destruction deletes the row, so no old ciphertext lingers.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { CredentialPurpose, SealedCredential } from '../vault/index.js';

export interface ConnectionCredentialKey {
  workspaceId: string;
  connectionId: string;
  purpose: CredentialPurpose;
}

export const credentialStore = {
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
};
