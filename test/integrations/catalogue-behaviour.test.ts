// The one derivation of a provider's documented behaviour (integrations/catalogue-behaviour.ts), over
// configurations as they are stored: catalogue entries, custom providers, and the legacy revocation field.
import { providerCatalogue } from '../../catalogue/providers.js';
import { behaviourOf, behaviourSchema } from '../../integrations/catalogue-behaviour.js';
import { providerConfigSchema } from '../../providers/provider-config.js';

const oauthBase = {
  authType: 'oauth2',
  issuer: 'https://auth.acme.example',
  authorizationEndpoint: 'https://auth.acme.example/authorize',
  tokenEndpoint: 'https://auth.acme.example/token',
} as const;

describe("a provider's documented behaviour", () => {
  it.each(providerCatalogue.map((entry) => [entry.key, entry] as const))(
    "%s: read from the entry's data, in the shape the API declares",
    (_key, entry) => {
      const behaviour = behaviourOf(entry);
      expect(behaviourSchema.parse(behaviour)).toEqual(behaviour);
      expect(behaviour.parameters.map((parameter) => parameter.name)).toEqual(
        entry.parameters.map((parameter) => parameter.name),
      );
      if (entry.authType === 'oauth2') {
        expect(behaviour).toMatchObject({ pkce: entry.pkce, refreshTokens: entry.refreshTokens });
        expect('revocation' in behaviour && behaviour.revocation === null).toBe(
          entry.revocation === undefined,
        );
      } else {
        expect(behaviour).toMatchObject({ verification: entry.verification !== undefined });
      }
    },
  );

  it('says the defaults of a minimal OAuth provider: PKCE, reusable refresh tokens, nothing else known', () => {
    expect(behaviourOf(providerConfigSchema.parse(oauthBase))).toEqual({
      pkce: true,
      refreshTokens: 'reusable',
      revocation: null,
      identity: null,
      parameters: [],
    });
  });

  it('reads revocation styles, the legacy endpoint as RFC 7009, identity from the token response', () => {
    const legacy = providerConfigSchema.parse({
      ...oauthBase,
      revocationEndpoint: 'https://auth.acme.example/revoke',
    });
    expect(behaviourOf(legacy)).toMatchObject({ revocation: { style: 'rfc7009' } });
    const own = providerConfigSchema.parse({
      ...oauthBase,
      revocation: { style: 'request', url: 'https://api.acme.example/token/revoke', tokenIn: 'bearer' },
      identity: { id: ['team.id', 'authed_user.id'], displayName: ['team.name'] },
    });
    expect(behaviourOf(own)).toMatchObject({
      revocation: { style: 'request', method: 'POST' },
      identity: 'token_response',
    });
  });

  it('marks a parameter without a default as required', () => {
    const behaviour = behaviourOf(
      providerConfigSchema.parse({
        ...oauthBase,
        authorizationEndpoint: 'https://{subdomain}.acme.example/authorize',
        parameters: [
          { name: 'subdomain', label: 'Subdomain', example: 'contoso' },
          { name: 'region', label: 'Region', pattern: '^(eu|us)$', default: 'us', example: 'eu' },
        ],
      }),
    );
    expect(behaviour.parameters).toEqual([
      { name: 'subdomain', label: 'Subdomain', example: 'contoso', required: true },
      { name: 'region', label: 'Region', example: 'eu', required: false, default: 'us' },
    ]);
  });

  it('for an API key: whether it is verified and where its account is read', () => {
    const apiKey = {
      authType: 'api_key',
      apiBaseUrl: 'https://api.acme.example',
      injection: { in: 'header', name: 'X-Api-Key' },
    } as const;
    expect(behaviourOf(providerConfigSchema.parse(apiKey))).toEqual({
      verification: false,
      identity: null,
      parameters: [],
    });
    expect(
      behaviourOf(
        providerConfigSchema.parse({
          ...apiKey,
          verification: { path: '/v1/me' },
          identity: { request: { url: '/v1/me' }, id: 'id', displayName: ['email'] },
        }),
      ),
    ).toEqual({ verification: true, identity: 'request', parameters: [] });
  });
});
