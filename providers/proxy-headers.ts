// Which headers the provider proxy carries, each way: an allow-list of what any HTTP API understands
// (content negotiation, conditional requests, ranges, content metadata, pagination, rate limits, request ids),
// plus the names a provider's configuration declares (`proxy.requestHeaders`, `proxy.responseHeaders`).
// Never carried, whatever is declared: toward the provider, the caller's credentials and cookies, its host,
// where it came from (Forwarded, X-Forwarded-*), URL and method overrides (X-Original-URL, X-Rewrite-URL,
// X-HTTP-Method-Override) and framing (our own); toward the caller, cookies, authentication challenges,
// CORS, CSP, HSTS and the other security headers the API sets itself. Hop-by-hop headers go neither way.
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { headerName } from '../api/validation.js';

const hopByHop = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

const requestAllowed = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-range',
  'content-type',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'idempotency-key',
  'prefer',
  'range',
  'user-agent',
  'x-request-id',
]);

const requestNever = new Set([
  ...hopByHop,
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'expect',
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-host',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-task-id',
]);
const requestNeverPrefixes = ['x-forwarded-'];

const responseAllowed = new Set([
  'accept-ranges',
  'age',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-range',
  'content-type',
  'deprecation',
  'etag',
  'expires',
  'last-modified',
  'link',
  'location',
  'request-id',
  'retry-after',
  'sunset',
  'vary',
  'x-correlation-id',
  'x-request-id',
]);
/** RateLimit and RateLimit-Policy (IETF), RateLimit-Limit/-Remaining/-Reset, X-RateLimit-*, X-Rate-Limit-*. */
const rateLimitHeader = /^(?:x-)?rate-?limit(?:-[a-z0-9-]+)?$/;

const responseNever = new Set([
  ...hopByHop,
  'set-cookie',
  'set-cookie2',
  'www-authenticate',
  'proxy-authenticate',
  'authentication-info',
  'proxy-authentication-info',
  'content-security-policy',
  'content-security-policy-report-only',
  'strict-transport-security',
  'x-frame-options',
  'x-content-type-options',
  'x-xss-protection',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'referrer-policy',
  'permissions-policy',
  'origin-agent-cluster',
  'clear-site-data',
  'alt-svc',
  'timing-allow-origin',
]);
const responseNeverPrefixes = ['access-control-', 'cross-origin-'];

/** Whether a provider may declare this request header name (the never-list wins over any declaration). */
export function isDeclarableRequestHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return !requestNever.has(lower) && !requestNeverPrefixes.some((prefix) => lower.startsWith(prefix));
}

/** Whether a provider may declare this response header name. */
export function isDeclarableResponseHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return !responseNever.has(lower) && !responseNeverPrefixes.some((prefix) => lower.startsWith(prefix));
}

/** The caller's headers that go on to the provider (before the credential is injected). */
export function forwardedRequestHeaders(
  incoming: IncomingHttpHeaders,
  declared: ProxyHeaders | undefined,
): Headers {
  const extra = lowerCased(declared?.requestHeaders);
  const named = connectionTokens(incoming.connection);
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || named.has(name) || !isDeclarableRequestHeader(name)) continue;
    if (!requestAllowed.has(name) && !extra.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/** The provider's response headers that go back to the caller. */
export function forwardedResponseHeaders(
  incoming: IncomingHttpHeaders,
  declared: ProxyHeaders | undefined,
): Record<string, string | string[]> {
  const extra = lowerCased(declared?.responseHeaders);
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || named.has(name) || !isDeclarableResponseHeader(name)) continue;
    if (!responseAllowed.has(name) && !rateLimitHeader.test(name) && !extra.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function lowerCased(names: string[] | undefined): Set<string> {
  return new Set((names ?? []).map((name) => name.toLowerCase()));
}

/** Headers named by Connection are hop-by-hop too (RFC 9110 7.6.1). */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Headers of the provider's own that the proxy carries beyond its allow-lists, declared in its catalogue
 * entry (such as Notion-Version); never one of the names the proxy refuses whatever is declared.
 */
export const proxyHeadersSchema = z.strictObject({
  requestHeaders: z
    .array(headerName().refine(isDeclarableRequestHeader, 'is never forwarded to a provider'))
    .max(50)
    .optional(),
  responseHeaders: z
    .array(headerName().refine(isDeclarableResponseHeader, 'is never passed back from a provider'))
    .max(50)
    .optional(),
});
export type ProxyHeaders = z.infer<typeof proxyHeadersSchema>;
