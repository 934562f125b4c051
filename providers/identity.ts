// Which upstream account a connection is, and the non-secret data a provider answered that is kept with it:
// the catalogue's `identity` request (or, without one, the token answer's own fields) and its `providerData`
// fields. Every request goes out through the outbound guard with the connection's own credential, never
// follows a redirect, and reads a bounded body. Values are plain text, bounded and free of control
// characters; a value meant to stand in a URL must be an https URL on its declared hosts. Failures are
// ProviderErrors whose messages carry fixed words and HTTP statuses only: never a token, a key or a body.
import { originOnHosts } from './url-hosts.js';
import { text } from '../api/validation.js';
import { applyApiKey, applyToken } from './api-key-client.js';
import { tokenRequest } from './oauth-client.js';
import { readJsonAnswer } from './response-body.js';
import { readPath } from './json-path.js';
import type { OutboundGuard } from './outbound-guard.js';
import type { Identity, ProviderConfig, ProviderDataField } from './provider-config.js';
import { ProviderError } from './provider-error.js';

export interface AccountIdentity {
  id: string;
  displayName: string;
}

export interface IdentityResult {
  /** Undefined for a provider whose configuration says nothing of its accounts. */
  account?: AccountIdentity;
  data: Record<string, string>;
}

export interface IdentityOptions {
  outbound: OutboundGuard;
  /** Allow http:// URLs (development and tests only). */
  allowInsecureRequests?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Reads a path of the token endpoint's parsed answer (TokenSet.read); absent for API keys. */
export type TokenAnswerReader = (path: string) => unknown;

type ProviderRequest = NonNullable<Identity['request']>;

/** The longest value kept, an account id, a display name or a piece of provider data. */
export const MAX_VALUE_LENGTH = 500;

/** What the API accepts as one line of text shown to people: the same rule for what providers answer. */
const keptText = text(MAX_VALUE_LENGTH);

/** A JSON scalar as kept text (numbers stringified), or undefined when unusable. */
function cleanText(value: unknown): string | undefined {
  let found: string;
  if (typeof value === 'string') found = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) found = String(value);
  else return undefined;
  // Well-formed: a lone surrogate cannot be stored (Postgres) or shown.
  return found.isWellFormed() && keptText.safeParse(found).success ? found : undefined;
}

/**
 * Reads the account and the provider data for a new credential (an access token, or an API key) of a
 * provider whose configuration is concrete (its templates filled).
 */
export async function readIdentity(
  provider: ProviderConfig,
  credential: string,
  tokenAnswer: TokenAnswerReader | undefined,
  options: IdentityOptions,
): Promise<IdentityResult> {
  const answers = new Map<string, Promise<unknown>>();
  // Identical requests (the identity's, a data field's own) are made once.
  const answerTo = (request: ProviderRequest): Promise<unknown> => {
    const key = JSON.stringify([request.url, request.method, request.headers, request.jsonBody]);
    let answer = answers.get(key);
    if (!answer) {
      answer = send(provider, credential, request, options);
      answers.set(key, answer);
    }
    return answer;
  };
  const fromToken = (path: string) => tokenAnswer?.(path);

  const identity = provider.identity;
  let identityAnswer: ((path: string) => unknown) | undefined;
  if (identity?.request) {
    const body = await answerTo(identity.request);
    identityAnswer = (path) => readPath(body, path);
  }
  const account = identity ? accountOf(identity, identityAnswer ?? fromToken) : undefined;

  const data: Record<string, string> = {};
  const fields: ProviderDataField[] = 'providerData' in provider ? provider.providerData : [];
  for (const field of fields) {
    let read: (path: string) => unknown;
    if (field.from === 'request') {
      if (!field.request) continue; // the schema requires one; a stored configuration without it has none
      const body = await answerTo(field.request);
      read = (path) => readPath(body, path);
    } else if (field.from === 'identity') {
      read = identityAnswer ?? fromToken;
    } else read = fromToken;
    const value = cleanText(read(field.path));
    if (value === undefined) continue;
    const allowInsecure = options.allowInsecureRequests ?? false;
    if (field.urlHosts && !originOnHosts(value, field.urlHosts, { allowInsecure })) {
      throw new ProviderError(
        'rejected',
        `the provider's ${field.name} is not an https URL on the hosts the integration expects`,
      );
    }
    data[field.name] = value;
  }
  return { account, data };
}

function accountOf(identity: Identity, read: (path: string) => unknown): AccountIdentity {
  const paths = typeof identity.id === 'string' ? [identity.id] : identity.id;
  const parts = paths.map((path) => cleanText(read(path)));
  const id = parts.every((part) => part !== undefined) ? parts.join('/') : undefined;
  if (!id || id.length > MAX_VALUE_LENGTH) {
    throw new ProviderError('rejected', 'the identity answer has no account id');
  }
  const displayName =
    identity.displayName.map((path) => cleanText(read(path))).find((name) => name !== undefined) ?? id;
  return { id, displayName };
}

function requestUrl(provider: ProviderConfig, request: ProviderRequest): URL {
  if (!request.url.startsWith('/')) return new URL(request.url);
  if (!provider.apiBaseUrl) {
    throw new ProviderError(
      'rejected',
      'the identity request is relative but the provider has no API base URL',
    );
  }
  return new URL(request.url.replace(/^\//, ''), provider.apiBaseUrl.replace(/\/?$/, '/'));
}

async function send(
  provider: ProviderConfig,
  credential: string,
  request: ProviderRequest,
  options: IdentityOptions,
): Promise<unknown> {
  const what = 'identity request';
  const url = requestUrl(provider, request);
  if (url.protocol !== 'https:' && !(options.allowInsecureRequests && url.protocol === 'http:')) {
    throw new ProviderError('rejected', `${what}: the URL is not https`);
  }
  const headers = new Headers({ accept: 'application/json' });
  for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
  if (provider.authType === 'api_key') applyApiKey(provider, credential, url, headers);
  // Where the provider's API takes the token (Shopify's X-Shopify-Access-Token), else as a bearer token.
  else
    applyToken(provider.tokenInjection ?? { name: 'authorization', prefix: 'Bearer ' }, credential, headers);
  let body: string | undefined;
  if (request.jsonBody !== undefined) {
    body = JSON.stringify(request.jsonBody);
    headers.set('content-type', 'application/json');
  }
  const response = await tokenRequest(what, () =>
    options.outbound.fetch(url, {
      method: request.method,
      headers,
      body,
      redirect: 'manual',
      signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 15_000),
    }),
  );
  if (!response.ok) await response.body?.cancel();
  if (response.status === 401 || response.status === 403) {
    throw new ProviderError(
      'rejected',
      `the provider refused the identity request (HTTP ${response.status})`,
      response.status,
    );
  }
  if (response.status < 200 || response.status >= 300) {
    throw new ProviderError(
      'rejected',
      `${what}: unexpected answer (HTTP ${response.status})`,
      response.status,
    );
  }
  const answer = await readJsonAnswer(response, what);
  if (answer === undefined)
    throw new ProviderError('rejected', `${what}: the answer is not JSON`, response.status);
  return answer;
}
