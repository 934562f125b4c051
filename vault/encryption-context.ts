// The encryption context binds a ciphertext to what it belongs to. It is authenticated on every decrypt (as
// AES-GCM additional data, and by KMS when it unwraps the data key), never secret, and never optional.
export const credentialPurposes = [
  'oauth_tokens',
  'api_key',
  'pkce_verifier',
  'client_secret',
  // Values in transit through Temporal (a pasted API key, an authorization code): sealed by the API so that
  // only ciphertext enters workflow history.
  'api_key_submission',
  'authorization_code',
] as const;
export type CredentialPurpose = (typeof credentialPurposes)[number];

export type EncryptionContext =
  | { workspace: string; connection: string; purpose: CredentialPurpose }
  | { workspace: string; integration: string; purpose: CredentialPurpose };

/** A stable serialisation (sorted keys), so the same context always authenticates the same bytes. */
export function canonicalContext(context: EncryptionContext): string {
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(entries));
}
