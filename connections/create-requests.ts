// Retry-safe creates: what an Idempotency-Key stands for. The first request with a key (per workspace and
// caller) claims one connection id in connection_create_requests, the table's only writer besides the
// purge (connections/expired-rows.ts); every retry reads it back. A key is stored only as its SHA-256, and an
// API key enters a request's fingerprint only as its own.
import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { ConnectionError } from './connection-errors.js';

/** A caller's Idempotency-Key and the fingerprint of the request it came with. */
export interface CreateIdempotency {
  key: string;
  /** `createRequestFingerprint` of the request. */
  fingerprint: string;
}

/**
 * What a create request asks for, as one SHA-256 (hex) of a canonical JSON: a retry under the same
 * Idempotency-Key must match it.
 */
export function createRequestFingerprint(request: {
  integration: string;
  scope: string;
  name?: string;
  scopes?: string[];
  returnTo?: string;
  apiKey?: string;
  /** As given (before defaults), compared by name whatever their order. */
  params?: Record<string, string>;
}): string {
  const params = Object.entries(request.params ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(
    JSON.stringify({
      apiKeySha256: request.apiKey === undefined ? null : sha256(request.apiKey),
      integration: request.integration,
      name: request.name ?? null,
      returnTo: request.returnTo ?? null,
      scope: request.scope,
      scopes: request.scopes ?? null,
      // Only when given, so that a key recorded before parameters existed still matches its retry.
      ...(params.length ? { params } : {}),
    }),
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export const createRequestStore = {
  /**
   * The connection id the key stands for: claimed by the first request with it, read back by every retry.
   * The same key with a different request is refused (`idempotency_key_reused`).
   */
  async claim(
    db: Db,
    scope: { workspaceId: string; caller: string },
    idempotency: CreateIdempotency,
  ): Promise<string> {
    const key = { workspace_id: scope.workspaceId, caller: scope.caller, key_hash: sha256(idempotency.key) };
    await db('connection_create_requests')
      .insert({ ...key, fingerprint: idempotency.fingerprint, connection_id: randomUUID() })
      .onConflict(['workspace_id', 'caller', 'key_hash'])
      .ignore();
    const claimed = await db('connection_create_requests').where(key).first('fingerprint', 'connection_id');
    if (!claimed) throw new ConnectionError('not_recorded', 'the Idempotency-Key was not recorded');
    if (claimed.fingerprint !== idempotency.fingerprint) {
      throw new ConnectionError(
        'idempotency_key_reused',
        'this Idempotency-Key was already used for a different request; use a new key for a new connection',
      );
    }
    return claimed.connection_id;
  },
};
