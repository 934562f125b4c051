// A provider's answer read by the service itself (token responses, revocation and identity answers): at most a bounded
// number of bytes, parsed as JSON when it is JSON. What is read is handed to the caller only: it may hold
// tokens, so no error made here carries any of it.
import { ProviderError } from './provider-error.js';

/** More than any token response or revocation answer needs; a longer answer is refused, not truncated. */
export const ANSWER_LIMIT_BYTES = 64 * 1024;

/** The answer's JSON value, or undefined for an empty or non-JSON body; refuses a body past the limit. */
export async function readJsonAnswer(response: Response, what: string): Promise<unknown> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > ANSWER_LIMIT_BYTES) {
    await response.body?.cancel();
    throw tooLarge(what, response.status);
  }
  if (!response.body) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > ANSWER_LIMIT_BYTES) {
        await reader.cancel();
        throw tooLarge(what, response.status);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    // The connection dropped mid-answer: worth another try, and nothing of what was read is repeated.
    throw new ProviderError('unavailable', `${what}: the answer was cut short (${(error as Error).name})`);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function tooLarge(what: string, status: number): ProviderError {
  return new ProviderError('rejected', `${what}: the provider's answer is too large`, status);
}
