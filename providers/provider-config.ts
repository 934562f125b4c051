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
import {
  boundedRecord,
  headerName,
  identifier,
  printable,
  scope,
  text,
  url,
  urlTemplate,
  visibleAscii,
} from '../api/validation.js';
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

/** An authorization parameter's name: URL-safe characters only. */
const parameterName = identifier(
  /^[A-Za-z0-9._~-]{1,64}$/,
  'a parameter name: letters, digits and . _ ~ -',
  64,
);

/** The name of a template placeholder, a connection parameter or a piece of provider data. */
const placeholderName = identifier(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'a letter, then letters, digits or _', 40);

/** Where a value sits in a JSON answer: dot-separated property names or array indexes (`team.id`, `0.id`). */
export const fieldPathSchema = identifier(
  /^[A-Za-z0-9_$@-]{1,64}(?:\.[A-Za-z0-9_$@-]{1,64}){0,7}$/,
  'property names or array indexes separated by dots',
  520,
);

// Shown to people; optional so that configurations stored before they existed keep parsing.
const presentation = {
  displayName: text(100).optional(),
  /** A personal tool (mail, calendar): connections to it are usually `user` scoped. */
  personal: z.boolean().optional(),
};

const placeholder = /\{([A-Za-z][A-Za-z0-9_]{0,39})\}/g;

/** The placeholders a template names, in order. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(placeholder)].map((match) => match[1]!);
}

const httpTemplate = urlTemplate({ schemes: ['https', 'http'] });
const httpsTemplate = urlTemplate({ schemes: ['https'] });

/**
 * A value asked for when a connection is made and substituted into the provider's URLs: a Microsoft tenant,
 * a Salesforce My Domain, a Zendesk subdomain, a region. Values are checked against `pattern` (anchored; by
 * default one DNS label), so a template can never be steered to another host.
 */
export const connectionParameterSchema = z.strictObject({
  name: placeholderName,
  label: text(100),
  description: text(500).optional(),
  /** The JavaScript regular expression a value must match, anchored with ^ and $. */
  pattern: z
    .string()
    .max(500)
    .refine((source) => {
      if (!source.startsWith('^') || !source.endsWith('$')) return false;
      try {
        new RegExp(source, 'u');
        return true;
      } catch {
        return false;
      }
    }, 'an anchored regular expression')
    .default('^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$'),
  /** Used when the connection does not give one; without a default the parameter is required. */
  default: visibleAscii(1, 200).optional(),
  example: visibleAscii(1, 200),
});

/** A request to the provider made with the connection's access token (identity, provider data). */
const providerRequestSchema = z.strictObject({
  /** Absolute, or relative to the provider's API base URL. Templated like the provider's other URLs. */
  url: z.union([httpTemplate, identifier(/^\/[\x21-\x7e]{0,2047}$/, 'a path from /', 2048)]),
  method: z.enum(['GET', 'POST']).default('GET'),
  headers: boundedRecord(headerName(), printable(0, 500), 10).default({}),
  /** A JSON body of text fields (a GraphQL `query`), or `null` (Dropbox's get_current_account takes it). */
  jsonBody: z.union([z.null(), boundedRecord(parameterName, text(2000), 10)]).optional(),
});

/**
 * Non-secret data a provider answers that is kept on the connection and may be used in its URLs: Salesforce's
 * `instance_url`, Slack's team, Notion's workspace, HubSpot's hub id, Atlassian's cloudId.
 */
export const providerDataFieldSchema = z.strictObject({
  name: placeholderName,
  /** Where it is read: the token response, the identity answer, or the answer to its own request. */
  from: z.enum(['token_response', 'identity', 'request']).default('token_response'),
  path: fieldPathSchema,
  request: providerRequestSchema.optional(),
  /**
   * The value is an https URL on one of these hosts (a leading `.` admits any subdomain): what makes it safe
   * to send the connection's token to it when it is used in a template.
   */
  urlHosts: z.array(printable(2, 253)).min(1).max(10).optional(),
});

/** How the token endpoint's answer is read. Every path defaults to RFC 6749's own field. */
export const tokenResponseSchema = z.strictObject({
  accessToken: fieldPathSchema.default('access_token'),
  refreshToken: fieldPathSchema.default('refresh_token'),
  expiresIn: fieldPathSchema.default('expires_in'),
  /** Where a provider answers an absolute expiry (epoch seconds, or an ISO date) instead of `expires_in`. */
  expiresAt: fieldPathSchema.optional(),
  /** Whether `expires_in: 0` means "never expires" (Mailchimp) rather than "already expired". */
  zeroExpiresInMeansNever: z.boolean().default(false),
  /** The refresh token's own lifetime in seconds, where the provider says it. */
  refreshTokenExpiresIn: fieldPathSchema.optional(),
  scope: fieldPathSchema.default('scope'),
  tokenType: fieldPathSchema.default('token_type'),
  /**
   * The `token_type` values (compared lower-cased) that mean a bearer token: Slack answers `bot` and
   * `user`. The service always sends `Authorization: Bearer`.
   */
  bearerTokenTypes: z.array(printable(1, 40)).min(1).max(10).default(['bearer']),
  /** Whether an answer without a token type is a bearer token (some providers omit it). */
  tokenTypeOptional: z.boolean().default(false),
  /**
   * A boolean field that is false on failure although the HTTP status is 200 (Slack's `ok`); the error code
   * is then in `error`.
   */
  okField: fieldPathSchema.optional(),
  /**
   * The `iss` an `id_token` in the answer must carry, where it is not `issuer`: placeholders name the token's
   * own claims, as Microsoft's multi-tenant endpoints document (`https://login.microsoftonline.com/{tid}/v2.0`).
   */
  idTokenIssuer: httpsTemplate.optional(),
});

const clientAuthMethod = z.enum(['client_secret_basic', 'client_secret_post', 'none']);

/** Extra parameters (form fields) and headers a token or refresh request needs. */
const tokenCallExtras = z.strictObject({
  params: boundedRecord(parameterName, text(1000, { min: 0 }), 20).default({}),
  headers: boundedRecord(headerName(), printable(0, 500), 10).default({}),
});

/**
 * How a grant is revoked on disconnect:
 * - `rfc7009`: POST the token as `token` in a form to the revocation endpoint (RFC 7009);
 * - `request`: a provider's own call, described by method, where the token goes, and how success reads
 *   (GitHub's DELETE of the grant with Basic client auth, Slack's and Dropbox's self-revocation with the
 *   token as bearer, Notion's JSON body, HubSpot's token in the path).
 */
export const revocationSchema = z.discriminatedUnion('style', [
  z.strictObject({
    style: z.literal('rfc7009'),
    url: httpTemplate,
    /** Which token is sent: the refresh token revokes the whole grant where there is one. */
    token: z.enum(['refresh', 'access']).default('refresh'),
    auth: clientAuthMethod.optional(),
  }),
  z.strictObject({
    style: z.literal('request'),
    /** May name `{clientId}`, `{token}` and the connection's parameters. */
    url: httpTemplate,
    method: z.enum(['POST', 'DELETE']).default('POST'),
    token: z.enum(['refresh', 'access']).default('access'),
    /** `bearer`: as `Authorization: Bearer`; `json`/`form`: a body field; `path`: the `{token}` placeholder. */
    tokenIn: z.enum(['bearer', 'json', 'form', 'path']),
    tokenField: parameterName.default('token'),
    /** Client authentication for this call; `none` by default. */
    auth: clientAuthMethod.default('none'),
    headers: boundedRecord(headerName(), printable(0, 500), 10).default({}),
    /** Statuses that mean revoked (404 where a gone grant is as good as revoked). */
    successStatuses: z.array(z.number().int().min(200).max(499)).min(1).max(5).default([200, 204]),
    /** A boolean field that must be true in the answer (Slack's `ok`). */
    okField: fieldPathSchema.optional(),
  }),
]);

/**
 * Which upstream account a connection is: read from the answer to `request` (userinfo, `/me`) or, without one,
 * from the token response's own fields. `id` is one path or several joined with `/` (a user within a team);
 * `displayName` is the first of its paths that has a value.
 */
export const identitySchema = z.strictObject({
  request: providerRequestSchema.optional(),
  id: z.union([fieldPathSchema, z.array(fieldPathSchema).min(1).max(3)]),
  displayName: z.array(fieldPathSchema).min(1).max(4),
  /**
   * What a refused identity request (401, 403, 404) means: the setup fails, or, where a valid credential may
   * lack the permission to read its own account (Stripe's restricted keys), the account stays unknown.
   */
  whenRefused: z.enum(['fail', 'account_unknown']).default('fail'),
});

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
