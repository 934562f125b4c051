// The parts the provider format is made of (providers/provider-config.ts puts them together): URL templates
// and their placeholders, the parameters a connection is asked for, the requests made with its credential,
// the provider data kept on it, how a token answer is read, how a grant is revoked, and how the upstream account
// is named. Each is a zod schema whose strings are built by the edge's validation (api/validation.ts).
import { z } from 'zod';
import {
  boundedRecord,
  headerName,
  identifier,
  printable,
  text,
  urlTemplate,
  visibleAscii,
} from '../api/validation.js';

/** An authorization parameter's name: URL-safe characters only. */
export const parameterName = identifier(
  /^[A-Za-z0-9._~-]{1,64}$/,
  'a parameter name: letters, digits and . _ ~ -',
  64,
);

/** The name of a template placeholder, a connection parameter or a piece of provider data. */
export const placeholderName = identifier(
  /^[A-Za-z][A-Za-z0-9_]{0,39}$/,
  'a letter, then letters, digits or _',
  40,
);

/** Where a value sits in a JSON answer: dot-separated property names or array indexes (`team.id`, `0.id`). */
export const fieldPathSchema = identifier(
  /^[A-Za-z0-9_$@-]{1,64}(?:\.[A-Za-z0-9_$@-]{1,64}){0,7}$/,
  'property names or array indexes separated by dots',
  520,
);

export const placeholder = /\{([A-Za-z][A-Za-z0-9_]{0,39})\}/g;

/** The placeholders a template names, in order. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(placeholder)].map((match) => match[1]!);
}

export const httpTemplate = urlTemplate({ schemes: ['https', 'http'] });
export const httpsTemplate = urlTemplate({ schemes: ['https'] });

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
export const providerRequestSchema = z.strictObject({
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
   * The `error` codes that mean the code or the grant is no longer valid, as `invalid_grant` does in RFC 6749:
   * Slack answers `invalid_refresh_token`, GitHub `bad_refresh_token`. The connection is then told the grant
   * was refused (it needs re-authorizing), not that the provider failed.
   */
  grantErrors: z.array(printable(1, 64)).min(1).max(10).default(['invalid_grant']),
  /**
   * The `iss` an `id_token` in the answer must carry, where it is not `issuer`: placeholders name the token's
   * own claims, as Microsoft's multi-tenant endpoints document (`https://login.microsoftonline.com/{tid}/v2.0`).
   */
  idTokenIssuer: httpsTemplate.optional(),
});

export const clientAuthMethod = z.enum(['client_secret_basic', 'client_secret_post', 'none']);

/** Extra parameters (form fields) and headers a token or refresh request needs. */
export const tokenCallExtras = z.strictObject({
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
