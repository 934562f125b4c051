// API keys with a provider: where the key goes on a request, and the catalogue's verification request
// (sent through the outbound guard) to the provider's API base URL as resolved for the connection (its
// parameters filled). The key is refused only on the statuses the provider uses for that (`rejectStatuses`):
// Stripe answers 403 to a good restricted key. The key is never logged; error messages carry only the status.
import { addressRefusal, type OutboundGuard } from './outbound-guard.js';
import type { ApiKeyProviderConfig } from './provider-config.js';
import { ProviderError, temporaryFailure } from './provider-error.js';

/** Visible ASCII and spaces: what an HTTP field value may carry without being refused or split. */
const headerSafe = /^[\x20-\x7e]*$/;

export function applyApiKey(provider: ApiKeyProviderConfig, key: string, url: URL, headers: Headers): void {
  if (provider.injection.in === 'query') {
    url.searchParams.set(provider.injection.name, provider.injection.prefix + key);
    return;
  }
  applyToken(provider.injection, key, headers, 'the API key');
}

/** A credential in the header `name` after `prefix` (an API key, an OAuth token where not Authorization). */
export function applyToken(
  where: { name: string; prefix: string },
  credential: string,
  headers: Headers,
  what = 'the access token',
): void {
  const value = where.prefix + credential;
  // Headers.set would throw a TypeError quoting the value: the credential itself.
  if (!headerSafe.test(value)) {
    throw new ProviderError('rejected', `${what} has characters an HTTP header cannot carry`);
  }
  headers.set(where.name, value);
}

/**
 * Runs the provider's verification request with the key. Resolves when the key is accepted (or the provider
 * defines no verification: returns false then); throws a ProviderError otherwise.
 */
export async function verifyApiKey(
  provider: ApiKeyProviderConfig,
  key: string,
  options: { outbound: OutboundGuard; timeoutMs?: number; signal?: AbortSignal },
): Promise<boolean> {
  if (!provider.verification) return false;
  const url = new URL(
    provider.verification.path.replace(/^\//, ''),
    provider.apiBaseUrl.replace(/\/?$/, '/'),
  );
  const headers = new Headers({ accept: 'application/json' });
  applyApiKey(provider, key, url, headers);
  let response: Response;
  try {
    response = await options.outbound.fetch(url, {
      method: provider.verification.method,
      headers,
      redirect: 'manual',
      signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (error) {
    const refusal = addressRefusal(error);
    if (refusal) throw new ProviderError('rejected', `key verification: ${refusal.message}`);
    throw new ProviderError(
      'unavailable',
      `key verification: the provider could not be reached (${(error as Error).name})`,
    );
  }
  await response.body?.cancel();
  const temporary = temporaryFailure(response, 'key verification');
  if (temporary) throw temporary;
  if (provider.verification.rejectStatuses.includes(response.status)) {
    throw new ProviderError(
      'invalid_grant',
      `key verification: the provider rejected the key (HTTP ${response.status})`,
      response.status,
    );
  }
  if (!response.ok) {
    throw new ProviderError(
      'rejected',
      `key verification: unexpected answer (HTTP ${response.status})`,
      response.status,
    );
  }
  return true;
}
