// What a provider's answer means for the lifecycle, whatever the protocol: permanent (the grant or key is
// no good: expire), temporary (retry, honouring Retry-After), or refused for another reason. Messages carry
// the provider's error code and HTTP status only, never a response body that might echo a credential.
/**
 * What a provider's error code must look like to be repeated (on the callback page, in a failure's message
 * or type): lower-case letters, digits and `_ . -`, as RFC 6749's registered codes and their kin are, at
 * most 64. Anything else (markup, line breaks, an echoed credential) is replaced by one stand-in word.
 */
const repeatableCode = /^[a-z0-9_.-]{1,64}$/;

/** Stands for a provider's error code that may not be repeated. */
export const UNREPEATABLE_ERROR_CODE = 'invalid_error';

/** The provider's error code when it may be repeated, else undefined (for a caller with a better name). */
export function repeatableErrorCode(code: unknown): string | undefined {
  return typeof code === 'string' && repeatableCode.test(code) ? code : undefined;
}

/** A provider's error code as it may be repeated, or the stand-in. */
export function safeErrorCode(code: unknown): string {
  return repeatableErrorCode(code) ?? UNREPEATABLE_ERROR_CODE;
}

export type ProviderErrorKind = 'invalid_grant' | 'rejected' | 'unavailable' | 'rate_limited';

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'rate_limited';
  }
}

/** Retry-After as milliseconds (seconds or an HTTP date), bounded to an hour. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), 3_600_000);
}

/** 5xx and 429 are temporary whatever the body says; the caller handles the rest. */
export function temporaryFailure(response: Response, what: string): ProviderError | undefined {
  if (response.status === 429) {
    return new ProviderError(
      'rate_limited',
      `${what}: rate limited (HTTP 429)`,
      429,
      parseRetryAfter(response.headers.get('retry-after')),
    );
  }
  if (response.status >= 500) {
    return new ProviderError(
      'unavailable',
      `${what}: provider unavailable (HTTP ${response.status})`,
      response.status,
      parseRetryAfter(response.headers.get('retry-after')),
    );
  }
  return undefined;
}
