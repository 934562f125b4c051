// What the connection commands refuse, in the domain's words: one error type with a code per reason. It
// knows nothing of HTTP: api/errors.ts alone maps each code to a status. A message says what the caller can
// do about it and never carries a secret or a dependency's own words (they can name internals).
export const connectionErrorCodes = [
  /** The create does not fit the workspace's integration (not enabled, other auth type, no owner). */
  'invalid_setup',
  /** An OAuth callback whose state is unknown, foreign, used or expired. */
  'unknown_authorization',
  /** The workflow refused the authorization (a wrong `iss`, a provider error, a state already used). */
  'authorization_refused',
  /** The connection's state does not allow the command (no running lifecycle, a refusal of its workflow). */
  'conflict',
  /** A removal not forced while dependents remain (the details list them). */
  'has_dependents',
  /** The credential's upstream account is another live connection's in the same scope (details name it). */
  'account_already_connected',
  /** A re-authorization or key rotation for another account than the connection's: nothing changed. */
  'account_mismatch',
  /** The provider did not accept the credential. */
  'provider_rejected',
  /** The provider could not be reached. */
  'provider_unavailable',
  /** An Idempotency-Key already used for a different request. */
  'idempotency_key_reused',
  /** Something the command wrote could not be read back. */
  'not_recorded',
  /** The workflow did not answer in time, or Temporal cannot be reached. */
  'unavailable',
] as const;
export type ConnectionErrorCode = (typeof connectionErrorCodes)[number];

export class ConnectionError extends Error {
  override name = 'ConnectionError';
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
    /** Safe, structured facts for the caller (the dependents that block a removal). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** What a refusal of an already connected account says, naming the connection to reconnect instead. */
export function alreadyConnectedMessage(existingConnectionId: string | undefined): string {
  return existingConnectionId
    ? `this account is already connected as connection ${existingConnectionId}: reconnect that one instead`
    : 'this account is already connected in this scope: reconnect that connection instead';
}
