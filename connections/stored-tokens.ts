// The shape of a connection's OAuth tokens inside their sealed envelope (purpose `oauth_tokens`), written by the
// worker's activities and read by the credential read path: defined once, parsed in one place. It never leaves
// the process in clear: it is sealed before it is stored and handed out only by the token route.
export interface StoredTokens {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Epoch ms; absent when the provider gave no lifetime. */
  expiresAt?: number;
  /** When these tokens were obtained (epoch ms); absent in tokens stored before it was recorded. */
  obtainedAt?: number;
  scopes?: string[];
}

export function parseStoredTokens(plaintext: string): StoredTokens {
  return JSON.parse(plaintext) as StoredTokens;
}
