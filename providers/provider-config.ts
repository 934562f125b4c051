// How a provider is spoken to, as stored per workspace integration and shipped in the catalogue
// (catalogue/entries/). Validated on the way in and on the way out of Postgres, so activities can trust its
// shape; every string is built by the edge's validation (api/validation.ts), so what a custom provider
// registers is checked as strictly as any other input.
//
// What the format can say, because real providers do it: URLs templated with per-connection parameters asked
// for at connect (`{tenant}`, `{subdomain}`) or with non-secret data a provider answered (`{instance_url}`);
// a token response read through a mapping (nested fields, token types that mean bearer, nulls as absent,
// comma- or space-separated scopes, errors reported in the body); extra parameters and headers on the token
// and refresh requests; a default access lifetime where `expires_in` is absent; refresh-token lifetimes;
// revocation in the styles providers use; and the request that says which upstream account was connected.
import { z } from 'zod';
import { boundedRecord, headerName, identifier, printable, scope, text, url } from '../api/validation.js';
import {
  clientAuthMethod,
  connectionParameterSchema,
  httpsTemplate,
  httpTemplate,
  identitySchema,
  parameterName,
  placeholdersOf,
  providerDataFieldSchema,
  revocationSchema,
  tokenCallExtras,
  tokenResponseSchema,
} from './provider-parts.js';
import { proxyHeadersSchema } from './proxy-headers.js';

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

// Shown to people; optional so that configurations stored before they existed keep parsing.
const presentation = {
  displayName: text(100).optional(),
  /** A personal tool (mail, calendar): connections to it are usually `user` scoped. */
  personal: z.boolean().optional(),
};

/** The documentation an entry's facts were checked against. */
const docsSchema = z.array(httpsUrl).min(1).max(8);

/** Which placeholders a template may name, per field, given the entry's parameters and provider data. */
function checkTemplates(
  value: {
    parameters?: { name: string }[];
    providerData?: { name: string; urlHosts?: string[] }[];
  },
  templates: { path: (string | number)[]; template: string | undefined; allowed: Set<string> }[],
  context: z.RefinementCtx,
) {
  const urlData = new Set(urlDataNames(value));
  for (const { path, template, allowed } of templates) {
    if (template === undefined) continue;
    // A placeholder that is the URL's whole origin decides where the request goes: only provider data checked
    // to be a URL on the provider's own hosts may stand there, never a value a person types at connect.
    const origin = /^\{([A-Za-z][A-Za-z0-9_]{0,39})\}/.exec(template)?.[1];
    if (origin !== undefined && !urlData.has(origin)) {
      context.addIssue({
        code: 'custom',
        path,
        message: `{${origin}} may start a URL only as provider data with urlHosts`,
      });
    }
    for (const name of placeholdersOf(template)) {
      if (!allowed.has(name)) {
        context.addIssue({
          code: 'custom',
          path,
          message: `{${name}} is not a parameter this field may use`,
        });
      }
    }
  }
}

function parameterNames(value: { parameters?: { name: string }[] }): string[] {
  return (value.parameters ?? []).map((parameter) => parameter.name);
}

/** Provider data that may stand in a URL: only values checked to be https URLs on the declared hosts. */
function urlDataNames(value: { providerData?: { name: string; urlHosts?: string[] }[] }): string[] {
  return (value.providerData ?? []).filter((field) => field.urlHosts).map((field) => field.name);
}

const oauthFields = {
  authType: z.literal('oauth2'),
  /** The authorization server's issuer; `iss` in callbacks is checked against it (RFC 9207). */
  issuer: httpTemplate,
  authorizationEndpoint: httpTemplate,
  tokenEndpoint: httpTemplate,
  /** Where refresh tokens are spent, where it is not the token endpoint (Figma's /v1/oauth/refresh). */
  refreshEndpoint: httpTemplate.optional(),
  /** Deprecated form of `revocation` (RFC 7009 at this URL), kept so that stored configurations parse. */
  revocationEndpoint: httpTemplate.optional(),
  revocation: revocationSchema.optional(),
  /** Whether the server always sends `iss` in authorization responses (then a missing one is refused). */
  issParameterSupported: z.boolean().default(false),
  scopes: z.array(scopeSchema).max(100).default([]),
  scopeSeparator: printable(1, 4).default(' '),
  /** The authorization parameter that carries the scopes (Slack's user scopes go in `user_scope`). */
  scopeParam: parameterName.default('scope'),
  pkce: z.boolean().default(true),
  tokenEndpointAuthMethod: clientAuthMethod.default('client_secret_basic'),
  /** Extra authorization parameters the provider needs, e.g. Google's `access_type=offline`. */
  authorizationParams: boundedRecord(parameterName, text(1000, { min: 0 }), 20).default({}),
  tokenRequest: tokenCallExtras.optional(),
  refreshRequest: tokenCallExtras.optional(),
  tokenResponse: tokenResponseSchema.default(tokenResponseSchema.parse({})),
  /** How a refresh's answer is read, where it differs from the code exchange's (Slack's user tokens). */
  refreshResponse: tokenResponseSchema.optional(),
  /**
   * Where the access token goes on a call to the provider's API, where it is not `Authorization: Bearer`
   * (Shopify's Admin API takes `X-Shopify-Access-Token`).
   */
  tokenInjection: z.strictObject({ name: headerName(), prefix: printable(0, 64).default('') }).optional(),
  /** How refresh tokens behave: none issued, reused, or replaced on every refresh (rotation). */
  refreshTokens: z.enum(['none', 'reusable', 'rotating']).default('reusable'),
  /** The access token's lifetime where the token response has no `expires_in`. */
  defaultAccessLifetimeSeconds: z.number().int().min(60).max(31_536_000).optional(),
  /**
   * A refresh token's documented lifetime where the response does not say it: `fixed` from when it was
   * issued, `idle` from its last use (a refresh renews it).
   */
  refreshTokenLifetime: z
    .strictObject({
      seconds: z.number().int().min(3600).max(63_072_000),
      kind: z.enum(['fixed', 'idle']),
    })
    .optional(),
  identity: identitySchema.optional(),
  parameters: z.array(connectionParameterSchema).max(5).default([]),
  providerData: z.array(providerDataFieldSchema).max(10).default([]),
  apiBaseUrl: httpTemplate.optional(),
  proxy: proxyHeadersSchema.optional(),
  ...presentation,
};

function checkOAuthTemplates(
  value: {
    parameters?: { name: string }[];
    providerData?: { name: string; urlHosts?: string[] }[];
    issuer: string;
    authorizationEndpoint: string;
    tokenEndpoint: string;
    refreshEndpoint?: string;
    revocationEndpoint?: string;
    revocation?: { url: string; style: string };
    apiBaseUrl?: string;
    identity?: { request?: { url: string } };
  },
  context: z.RefinementCtx,
) {
  const params = new Set(parameterNames(value));
  const afterConnect = new Set([...params, ...urlDataNames(value)]);
  const revocation = new Set([...afterConnect, 'clientId', 'token']);
  checkTemplates(
    value,
    [
      { path: ['issuer'], template: value.issuer, allowed: params },
      { path: ['authorizationEndpoint'], template: value.authorizationEndpoint, allowed: params },
      { path: ['tokenEndpoint'], template: value.tokenEndpoint, allowed: params },
      { path: ['refreshEndpoint'], template: value.refreshEndpoint, allowed: params },
      { path: ['revocationEndpoint'], template: value.revocationEndpoint, allowed: params },
      { path: ['revocation', 'url'], template: value.revocation?.url, allowed: revocation },
      { path: ['apiBaseUrl'], template: value.apiBaseUrl, allowed: afterConnect },
      { path: ['identity', 'request', 'url'], template: value.identity?.request?.url, allowed: params },
    ],
    context,
  );
  for (const [index, field] of (value.providerData ?? []).entries()) {
    if ((field as { from?: string }).from === 'request' && !(field as { request?: unknown }).request) {
      context.addIssue({ code: 'custom', path: ['providerData', index, 'request'], message: 'required' });
    }
  }
}

export const oauthProviderSchema = z.strictObject(oauthFields).superRefine(checkOAuthTemplates);

/** The fields of an OAuth provider, for schemas built on them (a custom provider's registration). */
export const oauthProviderShape = oauthFields;
export { checkOAuthTemplates };

const apiKeyFields = {
  authType: z.literal('api_key'),
  apiBaseUrl: httpTemplate,
  /** Where the key goes on a request to the provider's API. */
  injection: z.strictObject({
    in: z.enum(['header', 'query']),
    name: headerName(),
    prefix: printable(0, 64).default(''),
  }),
  /** A cheap authenticated request that answers 2xx for a valid key. */
  verification: z
    .strictObject({
      method: z.enum(['GET', 'POST']).default('GET'),
      path: identifier(/^\/[\x21-\x7e]{0,2047}$/, 'a path from /, visible ASCII', 2048),
      /**
       * The statuses that mean the key itself is refused. Stripe answers 403 to a valid restricted key that
       * lacks the permission the request needs, so there only 401 refuses a key.
       */
      rejectStatuses: z.array(z.number().int().min(400).max(499)).min(1).max(5).default([401, 403]),
    })
    .optional(),
  /** Which account the key belongs to, read from the answer to an authenticated request. */
  identity: identitySchema.optional(),
  parameters: z.array(connectionParameterSchema).max(5).default([]),
  proxy: proxyHeadersSchema.optional(),
  ...presentation,
};

function checkApiKeyTemplates(
  value: {
    parameters?: { name: string }[];
    apiBaseUrl: string;
    identity?: { request?: { url: string } };
  },
  context: z.RefinementCtx,
) {
  const params = new Set(parameterNames(value));
  checkTemplates(
    value,
    [
      { path: ['apiBaseUrl'], template: value.apiBaseUrl, allowed: params },
      { path: ['identity', 'request', 'url'], template: value.identity?.request?.url, allowed: params },
    ],
    context,
  );
}

export const apiKeyProviderSchema = z.strictObject(apiKeyFields).superRefine(checkApiKeyTemplates);

/** The fields of an API-key provider, for schemas built on them. */
export const apiKeyProviderShape = apiKeyFields;

export const providerConfigSchema = z.discriminatedUnion('authType', [
  oauthProviderSchema,
  apiKeyProviderSchema,
]);

export type OAuthProviderConfig = z.infer<typeof oauthProviderSchema>;
export type ApiKeyProviderConfig = z.infer<typeof apiKeyProviderSchema>;
export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type ProviderConfigInput = z.input<typeof providerConfigSchema>;
export type ConnectionParameter = z.infer<typeof connectionParameterSchema>;
export type ProviderDataField = z.infer<typeof providerDataFieldSchema>;
export type Revocation = z.infer<typeof revocationSchema>;
export type Identity = z.infer<typeof identitySchema>;
export type TokenResponseMapping = z.infer<typeof tokenResponseSchema>;
export type { ProxyHeaders } from './proxy-headers.js';

// A catalogue entry: a provider configuration whose URLs are all https, with its key, display name, whether
// it is a personal tool, what kind of tool it is, and the documentation its facts were checked against.
// Configuring it for a workspace stores the entry without its key.
export const catalogueCategories = [
  'mail',
  'calendar',
  'documents',
  'storage',
  'crm',
  'communication',
  'project-management',
  'code',
  'payments',
  'support',
  'marketing',
  'accounting',
  'hr',
  'analytics',
  'ai',
  'developer-tools',
  'e-commerce',
  'design',
  'video',
  'identity',
] as const;

const catalogueFields = {
  key: integrationKeySchema,
  displayName: text(100),
  personal: z.boolean(),
  category: z.enum(catalogueCategories),
  /** The provider's own pages each fact of the entry was checked against. */
  docs: docsSchema,
  /** What a reader of the entry should know that its fields cannot say. */
  notes: text(500).optional(),
};

export const catalogueEntrySchema = z.discriminatedUnion('authType', [
  z
    .strictObject({
      ...oauthFields,
      ...catalogueFields,
      issuer: httpsTemplate,
      authorizationEndpoint: httpsTemplate,
      tokenEndpoint: httpsTemplate,
      refreshEndpoint: httpsTemplate.optional(),
      revocationEndpoint: z.never().optional(),
      apiBaseUrl: httpsTemplate.optional(),
    })
    .superRefine(checkOAuthTemplates),
  z
    .strictObject({ ...apiKeyFields, ...catalogueFields, apiBaseUrl: httpsTemplate })
    .superRefine(checkApiKeyTemplates),
]);

export type CatalogueEntry = z.infer<typeof catalogueEntrySchema>;
export type CatalogueEntryInput = z.input<typeof catalogueEntrySchema>;
