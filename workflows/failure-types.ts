// The failure types activities raise and the workflow reads, defined once. A permanent one is never retried
// (retrying cannot change the answer); a temporary one is retried within the command's bounds. Every failure
// also carries a safe message built from fixed words, names and codes: never an input or a provider's body.
export const permanentFailureTypes = [
  /** The provider refused the grant or the key (invalid_grant, 401/403 on verification). */
  'CredentialRejected',
  /** The provider refused for another reason, or the configuration cannot work (no client secret). */
  'ProviderRejected',
  /** A callback that does not belong, was used, or expired: it changes nothing. */
  'AuthorizationRefused',
  'CredentialMissing',
  'IntegrationUnavailable',
  /** A stored ciphertext that cannot be opened for its context. */
  'CredentialUnreadable',
  /** The connection's credentials were destroyed (disconnect): nothing may be stored for it any more. */
  'ConnectionRemoved',
  /** Data the database refuses (a constraint, an invalid value). */
  'InvalidData',
  /** A programming or input error inside the activity (a TypeError, say): the same input fails again. */
  'InternalError',
  /**
   * The upstream account of a new credential is another live connection's in the same scope: nothing is
   * stored. Its details are that connection's id.
   */
  'AccountAlreadyConnected',
  /** A re-authorization or key rotation answered for another account than the connection's: nothing changes. */
  'AccountMismatch',
  /** The provider refused to say which account a new credential is (401/403, no account id). */
  'IdentityRefused',
  /**
   * The provider's identity request stayed unavailable through the activity's own bounded retries after a
   * code exchange: permanent, since the spent code cannot be exchanged again.
   */
  'IdentityUnavailable',
] as const;

export const temporaryFailureTypes = [
  'ProviderUnavailable',
  'ProviderRateLimited',
  /** Raised before failures were classified: still in the histories of activities then running. */
  'ProviderCallFailed',
  'DatabaseUnavailable',
  'KeyServiceUnavailable',
] as const;

export type PermanentFailureType = (typeof permanentFailureTypes)[number];
export type TemporaryFailureType = (typeof temporaryFailureTypes)[number];
export type FailureType = PermanentFailureType | TemporaryFailureType;

/** A command cancelled because a disconnect or deactivation took precedence over it. */
export const SUPERSEDED = 'Superseded';
/** A command the connection's state does not allow (validators and handlers). */
export const INVALID_STATE = 'InvalidState';

export function isTemporaryFailureType(type: string | undefined | null): boolean {
  return (temporaryFailureTypes as readonly string[]).includes(type ?? '');
}

/** Every failure type a command of the workflow can end with. */
export type CommandFailureType = FailureType | typeof SUPERSEDED | typeof INVALID_STATE;

/** Whether a failure's type is `type`: a typed comparison, so that a misspelt name fails to compile. */
export function isFailureType(actual: string | undefined | null, type: CommandFailureType): boolean {
  return actual === type;
}

/** Why a setup ended, when the upstream account is why; with the connection that already has the account. */
export interface IdentityEnding {
  reason: 'account_already_connected' | 'account_mismatch' | 'identity_refused' | 'identity_unavailable';
  existingConnectionId?: string;
}

/**
 * The reason a setup step ends with when its failure is about the upstream account, else undefined. Only
 * failure types that histories from before accounts never carry: their replay is unchanged.
 */
export function identityFailure(
  failure: { type?: string | null; details?: unknown[] | null } | undefined,
): IdentityEnding | undefined {
  switch (failure?.type as CommandFailureType | undefined) {
    case 'AccountAlreadyConnected': {
      const [existing] = failure?.details ?? [];
      return {
        reason: 'account_already_connected',
        ...(typeof existing === 'string' ? { existingConnectionId: existing } : {}),
      };
    }
    case 'AccountMismatch':
      return { reason: 'account_mismatch' };
    case 'IdentityRefused':
      return { reason: 'identity_refused' };
    case 'IdentityUnavailable':
      return { reason: 'identity_unavailable' };
    default:
      return undefined;
  }
}
