// What a provider documentedly does, as `GET /v1/integrations` shows it and the README's catalogue table
// (scripts/catalogue-table.ts) prints it: derived from the provider's configuration here and nowhere else, so
// the API, the table and the data cannot disagree. The same for catalogue entries and custom providers (from
// their stored configuration). Never carries a URL or a credential: only what a person deciding to connect,
// or a client asking for connection parameters, needs to know.
import { z } from 'zod';
import type { ConnectionParameter, ProviderConfig } from '../providers/provider-config.js';
import { revocationOf } from '../providers/revocation-client.js';

/** A value asked for at connect (`POST /v1/connections` `params`); `required` when it has no default. */
const parameterView = z.object({
  name: z.string(),
  label: z.string(),
  description: z.string().optional(),
  example: z.string(),
  required: z.boolean(),
  default: z.string().optional(),
});

/** How a disconnect revokes the grant upstream: RFC 7009, the provider's own call (with its method), or not. */
const revocationView = z
  .discriminatedUnion('style', [
    z.object({ style: z.literal('rfc7009') }),
    z.object({ style: z.literal('request'), method: z.enum(['POST', 'DELETE']) }),
  ])
  .nullable();

/** Which upstream account a connection is read from: a request made with the token, the token answer, or none. */
const identityView = z.enum(['request', 'token_response']).nullable();

const oauthBehaviour = z.object({
  pkce: z.boolean(),
  refreshTokens: z.enum(['none', 'reusable', 'rotating']),
  revocation: revocationView,
  identity: identityView,
  parameters: z.array(parameterView),
  /** The access token's assumed lifetime where the provider's token answer gives none. */
  defaultAccessLifetimeSeconds: z.number().int().optional(),
  /** The refresh token's documented lifetime: from issue (`fixed`) or from its last use (`idle`). */
  refreshTokenLifetime: z.object({ seconds: z.number().int(), kind: z.enum(['fixed', 'idle']) }).optional(),
});

const apiKeyBehaviour = z.object({
  /** Whether a key is checked with a request to the provider before it is stored. */
  verification: z.boolean(),
  identity: z.enum(['request']).nullable(),
  parameters: z.array(parameterView),
});

export const behaviourSchema = z.union([oauthBehaviour, apiKeyBehaviour]);

export type OAuthBehaviour = z.infer<typeof oauthBehaviour>;
export type ApiKeyBehaviour = z.infer<typeof apiKeyBehaviour>;
export type Behaviour = z.infer<typeof behaviourSchema>;
export type ParameterView = z.infer<typeof parameterView>;

function parameterOf(parameter: ConnectionParameter): ParameterView {
  return {
    name: parameter.name,
    label: parameter.label,
    ...(parameter.description !== undefined && { description: parameter.description }),
    example: parameter.example,
    required: parameter.default === undefined,
    ...(parameter.default !== undefined && { default: parameter.default }),
  };
}

/** The documented behaviour of a provider, from its (parsed) configuration. */
export function behaviourOf(provider: ProviderConfig): Behaviour {
  const parameters = provider.parameters.map(parameterOf);
  if (provider.authType === 'api_key') {
    return {
      verification: provider.verification !== undefined,
      identity: provider.identity?.request ? 'request' : null,
      parameters,
    };
  }
  return {
    pkce: provider.pkce,
    refreshTokens: provider.refreshTokens,
    revocation: revocationShown(provider),
    identity: provider.identity ? (provider.identity.request ? 'request' : 'token_response') : null,
    parameters,
    ...(provider.defaultAccessLifetimeSeconds !== undefined && {
      defaultAccessLifetimeSeconds: provider.defaultAccessLifetimeSeconds,
    }),
    ...(provider.refreshTokenLifetime && {
      refreshTokenLifetime: {
        seconds: provider.refreshTokenLifetime.seconds,
        kind: provider.refreshTokenLifetime.kind,
      },
    }),
  };
}

function revocationShown(
  provider: Extract<ProviderConfig, { authType: 'oauth2' }>,
): OAuthBehaviour['revocation'] {
  const revocation = revocationOf(provider);
  if (!revocation) return null;
  return revocation.style === 'request'
    ? { style: 'request', method: revocation.method }
    : { style: 'rfc7009' };
}
