// How a provider is spoken to, as stored per workspace integration and shipped in the catalogue
// (catalogue/providers.ts). Validated on the way in and on the way out of Postgres, so activities can trust
// its shape; every string is built by the edge's validation (api/validation.ts), so what a custom provider
// registers is checked as strictly as any other input.
import { z } from 'zod';
import { boundedRecord, headerName, identifier, printable, scope, text, url } from '../api/validation.js';
import { proxyHeadersSchema } from './proxy-headers.js';

const httpUrl = url({ schemes: ['https', 'http'] });
const httpsUrl = url({ schemes: ['https'] });

/**
 * An integration's key: 2 to 63 lower-case letters, digits and dashes, not starting with a dash, as in `google`
 * or `acme-crm`. The one rule for catalogue entries, custom providers and every route that takes a key.
 */
const integrationKeyPattern = /^[a-z0-9][a-z0-9-]{1,62}$/;

export const integrationKeySchema = identifier(
  integrationKeyPattern,
  'must be 2 to 63 lower-case letters, digits or dashes',
  63,
);

/** A scope as sent to a provider: no whitespace or separators of its own. */
export const scopeSchema = scope();

/** An authorization parameter's name: URL-safe characters only. */
const parameterName = identifier(
  /^[A-Za-z0-9._~-]{1,64}$/,
  'a parameter name: letters, digits and . _ ~ -',
  64,
);

// Shown to people; optional so that configurations stored before they existed keep parsing.
const presentation = {
  displayName: text(100).optional(),
  /** A personal tool (mail, calendar): connections to it are usually `user` scoped. */
  personal: z.boolean().optional(),
};

export const oauthProviderSchema = z.strictObject({
  authType: z.literal('oauth2'),
  /** The authorization server's issuer; `iss` in callbacks is checked against it (RFC 9207). */
  issuer: httpUrl,
  authorizationEndpoint: httpUrl,
  tokenEndpoint: httpUrl,
  revocationEndpoint: httpUrl.optional(),
  /** Whether the server always sends `iss` in authorization responses (then a missing one is refused). */
  issParameterSupported: z.boolean().default(false),
  scopes: z.array(scopeSchema).max(100).default([]),
  scopeSeparator: printable(1, 4).default(' '),
  pkce: z.boolean().default(true),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post', 'none'])
    .default('client_secret_basic'),
  /** Extra authorization parameters the provider needs, e.g. Google's `access_type=offline`. */
  authorizationParams: boundedRecord(parameterName, text(1000, { min: 0 }), 20).default({}),
  apiBaseUrl: httpUrl.optional(),
  proxy: proxyHeadersSchema.optional(),
  ...presentation,
});

export const apiKeyProviderSchema = z.strictObject({
  authType: z.literal('api_key'),
  apiBaseUrl: httpUrl,
  /** Where the key goes on a request to the provider's API. */
  injection: z.strictObject({
    in: z.enum(['header', 'query']),
    name: headerName(),
    prefix: printable(0, 64).default(''),
  }),
  /** A cheap authenticated request that answers 2xx for a valid key and 401/403 for a rejected one. */
  verification: z
    .strictObject({
      method: z.enum(['GET', 'POST']).default('GET'),
      path: identifier(/^\/[\x21-\x7e]{0,2047}$/, 'a path from /, visible ASCII', 2048),
    })
    .optional(),
  proxy: proxyHeadersSchema.optional(),
  ...presentation,
});

export const providerConfigSchema = z.discriminatedUnion('authType', [
  oauthProviderSchema,
  apiKeyProviderSchema,
]);

export type OAuthProviderConfig = z.infer<typeof oauthProviderSchema>;
export type ApiKeyProviderConfig = z.infer<typeof apiKeyProviderSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type ProviderConfigInput = z.input<typeof providerConfigSchema>;
export type { ProxyHeaders } from './proxy-headers.js';

// A catalogue entry: a provider configuration whose URLs are all https, with its key, display name and
// whether it is a personal tool. Configuring it for a workspace stores the entry without its key.
const catalogueFields = {
  key: integrationKeySchema,
  displayName: text(100),
  personal: z.boolean(),
};

export const catalogueEntrySchema = z.discriminatedUnion('authType', [
  oauthProviderSchema.extend({
    ...catalogueFields,
    issuer: httpsUrl,
    authorizationEndpoint: httpsUrl,
    tokenEndpoint: httpsUrl,
    revocationEndpoint: httpsUrl.optional(),
    apiBaseUrl: httpsUrl.optional(),
  }),
  apiKeyProviderSchema.extend({ ...catalogueFields, apiBaseUrl: httpsUrl }),
]);

export type CatalogueEntry = z.infer<typeof catalogueEntrySchema>;
export type CatalogueEntryInput = z.input<typeof catalogueEntrySchema>;
