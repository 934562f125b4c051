// The shape of a connection's OAuth tokens inside their sealed envelope (purpose `oauth_tokens`), written by the
// worker's activities and read by the credential read path: one schema, one pair of functions that turn it into
// the plaintext that is sealed and back. It never leaves the process in clear: it is sealed before it is stored
// and handed out only by the token route. Errors name no value (a token must never reach a message).
import { z } from 'zod';

const epochMs = z.number();

export const storedTokensSchema = z.object({
  accessToken: z.string().min(1),
  tokenType: z.string(),
  refreshToken: z.string().optional(),
  /** Epoch ms; absent when the provider gave no lifetime. */
  expiresAt: epochMs.optional(),
  /** When these tokens were obtained (epoch ms); absent in tokens stored before it was recorded. */
  obtainedAt: epochMs.optional(),
  scopes: z.array(z.string()).optional(),
  /** When the refresh token lapses (epoch ms), where the provider says or documents it. */
  refreshTokenExpiresAt: epochMs.optional(),
});

export type StoredTokens = z.infer<typeof storedTokensSchema>;

function checked(value: unknown, what: string): StoredTokens {
  const parsed = storedTokensSchema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    throw new Error(`${what}: stored OAuth tokens are malformed (${fields.join(', ')})`);
  }
  return parsed.data;
}

/** The plaintext to seal for a connection's tokens; refuses (naming fields only) a shape the reader would. */
export function storedTokensText(tokens: StoredTokens): string {
  return JSON.stringify(checked(tokens, 'storing'));
}

/** A connection's tokens from their opened envelope. */
export function parseStoredTokens(plaintext: string): StoredTokens {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    throw new Error('reading: stored OAuth tokens are not JSON');
  }
  return checked(value, 'reading');
}
