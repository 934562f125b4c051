// How a provider is spoken to, as stored per workspace integration (and, later, shipped in the catalogue).
// Validated on the way in and on the way out of Postgres, so activities can trust its shape.
import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/ });

export const oauthProviderSchema = z.strictObject({
  authType: z.literal('oauth2'),
  /** The authorization server's issuer; `iss` in callbacks is checked against it (RFC 9207). */
  issuer: httpUrl,
  authorizationEndpoint: httpUrl,
  tokenEndpoint: httpUrl,
  revocationEndpoint: httpUrl.optional(),
  /** Whether the server always sends `iss` in authorization responses (then a missing one is refused). */
  issParameterSupported: z.boolean().default(false),
  scopes: z.array(z.string().min(1)).default([]),
  scopeSeparator: z.string().min(1).default(' '),
  pkce: z.boolean().default(true),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post', 'none'])
    .default('client_secret_basic'),
  /** Extra authorization parameters the provider needs, e.g. Google's `access_type=offline`. */
  authorizationParams: z.record(z.string(), z.string()).default({}),
  apiBaseUrl: httpUrl.optional(),
});

export const apiKeyProviderSchema = z.strictObject({
  authType: z.literal('api_key'),
  apiBaseUrl: httpUrl,
  /** Where the key goes on a request to the provider's API. */
  injection: z.strictObject({
    in: z.enum(['header', 'query']),
    name: z.string().min(1),
    prefix: z.string().default(''),
  }),
  /** A cheap authenticated request that answers 2xx for a valid key and 401/403 for a rejected one. */
  verification: z
    .strictObject({
      method: z.enum(['GET', 'POST']).default('GET'),
      path: z.string().startsWith('/'),
    })
    .optional(),
});

export const providerConfigSchema = z.discriminatedUnion('authType', [
  oauthProviderSchema,
  apiKeyProviderSchema,
]);

export type OAuthProviderConfig = z.infer<typeof oauthProviderSchema>;
export type ApiKeyProviderConfig = z.infer<typeof apiKeyProviderSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type ProviderConfigInput = z.input<typeof providerConfigSchema>;
