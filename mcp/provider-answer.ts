// What call_integration answers of the provider's response: its status, a selection of its headers, and its
// body read up to a limit (parsed JSON, text, or base64), with every occurrence of the credential the call
// was made with replaced by "[redacted]" first, so that a provider echoing its Authorization header (or
// embedding the key in a link) never hands the credential to the model.
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';

/** The most of a provider's body a tool result carries; the rest is cut (`truncated: true`). */
export const RESPONSE_BODY_LIMIT = 1024 * 1024;
export const REDACTED = '[redacted]';

const passedHeaders = new Set(['content-type', 'etag', 'location', 'retry-after', 'link']);
const passedPrefixes = ['x-ratelimit-', 'ratelimit'];

export const providerAnswerSchema = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown(),
  bodyEncoding: z.literal('base64').optional(),
  truncated: z.literal(true).optional(),
});
export type ProviderAnswerResult = z.infer<typeof providerAnswerSchema>;

/** Reads the provider's answer, at most RESPONSE_BODY_LIMIT bytes of it, with `secrets` redacted. */
export async function readProviderAnswer(
  upstream: IncomingMessage,
  secrets: readonly string[],
  options: { method: string; limit?: number } = { method: 'GET' },
): Promise<ProviderAnswerResult> {
  const limit = options.limit ?? RESPONSE_BODY_LIMIT;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of upstream) {
    const piece = chunk as Buffer;
    if (size + piece.length > limit) {
      chunks.push(piece.subarray(0, limit - size));
      truncated = true;
      upstream.destroy();
      break;
    }
    chunks.push(piece);
    size += piece.length;
  }
  const secretBytes = secrets.filter((secret) => secret.length > 0).map((secret) => Buffer.from(secret));
  let bytes = redactBytes(Buffer.concat(chunks), secretBytes);
  if (truncated) bytes = cutPartialSecret(bytes, secretBytes);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined) continue;
    if (!passedHeaders.has(name) && !passedPrefixes.some((prefix) => name.startsWith(prefix))) continue;
    headers[name] = redactText([value].flat().join(', '), secrets);
  }
  const answer: ProviderAnswerResult = { status: upstream.statusCode ?? 502, headers, body: null };
  if (truncated) answer.truncated = true;
  if (options.method === 'HEAD' || bytes.length === 0) return answer;
  const contentType = headers['content-type']?.toLowerCase() ?? '';
  const text = utf8(bytes);
  if (text === undefined) return { ...answer, body: bytes.toString('base64'), bodyEncoding: 'base64' };
  if (!truncated && /[/+]json\b/.test(contentType)) {
    try {
      return { ...answer, body: JSON.parse(text) as unknown };
    } catch {
      // Not the JSON it says it is: passed as text.
    }
  }
  return { ...answer, body: text };
}

/** The bytes as text when they are well-formed UTF-8 (a cut at the limit may end inside a character). */
function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function redactText(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) if (secret) redacted = redacted.replaceAll(secret, REDACTED);
  return redacted;
}

function redactBytes(bytes: Buffer, secrets: readonly Buffer[]): Buffer {
  let current = bytes;
  for (const secret of secrets) {
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = current.indexOf(secret, from); at !== -1; at = current.indexOf(secret, from)) {
      parts.push(current.subarray(from, at), Buffer.from(REDACTED));
      from = at + secret.length;
    }
    if (from > 0) current = Buffer.concat([...parts, current.subarray(from)]);
  }
  return current;
}

/** A body cut at the limit may end with the start of a credential: that start is cut off too. */
function cutPartialSecret(bytes: Buffer, secrets: readonly Buffer[]): Buffer {
  let end = bytes.length;
  for (const secret of secrets) {
    for (let length = Math.min(secret.length - 1, end); length > 0; length--) {
      if (bytes.subarray(end - length, end).equals(secret.subarray(0, length))) {
        end -= length;
        break;
      }
    }
  }
  return bytes.subarray(0, end);
}
