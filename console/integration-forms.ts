// The integrations pages' forms as the API's bodies: a form's fields (strings, a checkbox present only when
// checked) become the body the API route takes, checked by the same schema (integrations/integration-settings.ts),
// and a refusal's details (`body.injection.name`, from the schema or from the settings functions) are named
// by the form field a person typed them into. The forms' own schemas only say which fields a form has: what a
// value may be is the body schema's to say.
import { z } from 'zod';
import { ApiError, apiErrorOf } from '../api/errors.js';
import { text } from '../api/validation.js';
import type { IntegrationView } from '../integrations/integration-settings.js';

// Longer than any value a body schema accepts, so that the body schema is the one to refuse it (a control
// character, which no body field admits either, makes the form itself not valid).
const field = text(8192, { min: 0 }).optional();

export const settingsFields = z.strictObject({
  clientId: field,
  clientSecret: field,
  scopes: field,
  enabled: z.literal('yes').optional(),
  agentScope: z.enum(['default', 'workspace', 'user']),
});
export type SettingsFields = z.infer<typeof settingsFields>;

export const customProviderFields = z.strictObject({
  authType: z.enum(['oauth2', 'api_key']),
  key: field,
  displayName: field,
  authorizationEndpoint: field,
  tokenEndpoint: field,
  revocationEndpoint: field,
  apiBaseUrl: field,
  scopes: field,
  clientId: field,
  clientSecret: field,
  tokenEndpointAuthMethod: field,
  headerName: field,
  valuePrefix: field,
  verificationPath: field,
});
export type CustomProviderFields = z.infer<typeof customProviderFields>;

/** Each form field's problems; '' holds those of no field of the form. */
export type FieldProblems = Record<string, string[]>;

/** A text field as typed, without surrounding spaces; empty: absent. */
function typed(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** A write-only secret exactly as typed (spaces included: the schema refuses them); empty: absent. */
function secret(value: string | undefined): string | undefined {
  return value ? value : undefined;
}

function scopeList(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

/**
 * The configure body of a catalogue provider's settings form: an empty client id or secret keeps the stored
 * one; empty scopes are the provider's defaults; "Enabled" unchecked (not sent) disables it.
 */
export function configureBodyOf(fields: SettingsFields, integration: IntegrationView): unknown {
  const enabled = fields.enabled === 'yes';
  if (integration.authType === 'api_key') {
    // The form has no client fields; a form that sends them anyway is refused by the same rule as the API's.
    return {
      enabled,
      ...(typed(fields.clientId) && { clientId: typed(fields.clientId) }),
      ...(secret(fields.clientSecret) && { clientSecret: secret(fields.clientSecret) }),
    };
  }
  const scopes = scopeList(fields.scopes);
  return {
    clientId: typed(fields.clientId),
    clientSecret: secret(fields.clientSecret),
    scopes: scopes.length ? scopes : integration.defaultScopes,
    enabled,
  };
}

/** The agent scope the select names: null is the default. */
export function agentScopeOfField(value: SettingsFields['agentScope']): 'workspace' | 'user' | null {
  return value === 'default' ? null : value;
}

/** A custom provider's client, scopes and state are fixed at registration: its form has no such field. */
export function refuseCustomClientFields(fields: SettingsFields): void {
  const fixed = (['clientId', 'clientSecret', 'scopes', 'enabled'] as const).filter(
    (name) => fields[name] !== undefined,
  );
  if (fixed.length) {
    throw new ApiError(
      'invalid_request',
      "a custom provider's client, scopes and state are fixed when it is registered",
      fixed.map((name) => ({ path: `body.${name}`, message: 'fixed when a custom provider is registered' })),
    );
  }
}

/** The registration body of one of the two custom provider forms (a required field left empty is refused). */
export function customBodyOf(fields: CustomProviderFields): unknown {
  const common = { key: fields.key?.trim() ?? '', displayName: fields.displayName?.trim() ?? '' };
  if (fields.authType === 'oauth2') {
    return {
      authType: 'oauth2',
      ...common,
      authorizationEndpoint: fields.authorizationEndpoint?.trim() ?? '',
      tokenEndpoint: fields.tokenEndpoint?.trim() ?? '',
      revocationEndpoint: typed(fields.revocationEndpoint),
      apiBaseUrl: typed(fields.apiBaseUrl),
      scopes: scopeList(fields.scopes),
      clientId: fields.clientId?.trim() ?? '',
      clientSecret: secret(fields.clientSecret),
      tokenEndpointAuthMethod: typed(fields.tokenEndpointAuthMethod),
    };
  }
  const verificationPath = typed(fields.verificationPath);
  return {
    authType: 'api_key',
    ...common,
    apiBaseUrl: fields.apiBaseUrl?.trim() ?? '',
    injection: { in: 'header', name: fields.headerName?.trim() ?? '', prefix: fields.valuePrefix ?? '' },
    ...(verificationPath && { verification: { path: verificationPath } }),
  };
}

/** A body checked by its schema as the API's registry checks it: refused with `body.<path>` details. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ApiError(
    'invalid_request',
    'invalid body',
    result.error.issues.map((issue) => ({
      path: ['body', ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}

/** Where a body's field was typed in the custom provider forms. */
export function customProviderFieldOf(path: readonly string[]): string {
  const [first] = path;
  if (first === 'injection') return path[1] === 'prefix' ? 'valuePrefix' : 'headerName';
  if (first === 'verification') return 'verificationPath';
  // The issuer is the authorization endpoint's origin; revocation is where the revocation endpoint goes.
  if (first === 'issuer') return 'authorizationEndpoint';
  if (first === 'revocation') return 'revocationEndpoint';
  return first !== undefined && first in customProviderFields.shape && first !== 'authType' ? first : '';
}

/** Where a body's field was typed in the settings form. */
export function settingsFieldOf(path: readonly string[]): string {
  const [first] = path;
  return first !== undefined && first in settingsFields.shape ? first : '';
}

/**
 * A refusal of a form's input as its fields' problems: the details of an invalid_request (or a conflict,
 * which names the form's `conflictField`); undefined for any other error, which stays the console's to show.
 */
export function fieldProblemsOf(
  error: unknown,
  fieldOf: (path: readonly string[]) => string,
  conflictField?: string,
): { status: number; problems: FieldProblems } | undefined {
  const refusal = apiErrorOf(error);
  if (!refusal) return undefined;
  const problems: FieldProblems = {};
  const add = (name: string, message: string) => (problems[name] ??= []).push(message);
  if (refusal.code === 'conflict' && conflictField !== undefined) {
    add(conflictField, refusal.message);
    return { status: refusal.status, problems };
  }
  if (refusal.code !== 'invalid_request') return undefined;
  const details = Array.isArray(refusal.details) ? (refusal.details as unknown[]) : [];
  for (const detail of details) {
    const { path, message } = detail as { path?: unknown; message?: unknown };
    if (typeof path !== 'string' || typeof message !== 'string') continue;
    add(fieldOf(path.split('.').slice(path.startsWith('body.') ? 1 : 0)), message);
  }
  if (Object.keys(problems).length === 0) add('', refusal.message);
  return { status: refusal.status, problems };
}
