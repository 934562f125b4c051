// A connection's provider, resolved: the catalogue's current entry wins over what a workspace stored, URL
// templates are filled with the connection's parameters (defaults for absent ones, a value its pattern now
// refuses left out) and with provider data only when it is a URL on the provider's own hosts; revocation
// keeps `{clientId}` and `{token}` for the call itself; a URL that needs a missing parameter is an error.
import { catalogueEntry, catalogueProvider } from '../../catalogue/providers.js';
import {
  checkParameters,
  integrationProvider,
  resolveProvider,
} from '../../integrations/connection-provider.js';
import type { Integration } from '../../integrations/integration-store.js';
import { oauthProviderSchema, type OAuthProviderConfig } from '../../providers/provider-config.js';
import { TemplateError } from '../../providers/templates.js';
import { pointAt } from '../support/catalogue.js';

const salesforce = catalogueEntry('salesforce')!;
const secure = { allowInsecure: false };

const templated = oauthProviderSchema.parse({
  authType: 'oauth2',
  issuer: 'https://login.example.com/{tenant}',
  authorizationEndpoint: 'https://login.example.com/{tenant}/authorize',
  tokenEndpoint: 'https://login.example.com/{tenant}/token',
  revocation: {
    style: 'request',
    url: 'https://api.example.com/{region}/grants/{clientId}',
    tokenIn: 'json',
  },
  parameters: [
    { name: 'tenant', label: 'Tenant', example: 'contoso' },
    { name: 'region', label: 'Region', pattern: '^(eu|us)$', default: 'eu', example: 'us' },
  ],
  providerData: [{ name: 'instance_url', path: 'instance_url', urlHosts: ['.example.net'] }],
  apiBaseUrl: '{instance_url}/api',
});

describe("a connection's provider", () => {
  it('is the current catalogue entry for a catalogue integration, the stored one for a custom provider', () => {
    const stale = { key: 'salesforce', provider: { ...catalogueProvider(salesforce), scopes: ['old'] } };
    expect(integrationProvider(stale as unknown as Integration, catalogueEntry)).toMatchObject({
      scopes: salesforce.authType === 'oauth2' ? salesforce.scopes : [],
    });
    const custom = { key: 'acme-crm', provider: templated } as unknown as Integration;
    expect(integrationProvider(custom, catalogueEntry)).toBe(templated);
  });

  it('fills parameters and checked provider data, and keeps the revocation call its own placeholders', () => {
    const resolved = resolveProvider(
      templated,
      { params: { tenant: 'contoso' }, providerData: { instance_url: 'https://na1.example.net/ignored' } },
      secure,
    ) as OAuthProviderConfig;
    expect(resolved).toMatchObject({
      issuer: 'https://login.example.com/contoso',
      tokenEndpoint: 'https://login.example.com/contoso/token',
      apiBaseUrl: 'https://na1.example.net/api',
      revocation: { url: 'https://api.example.com/eu/grants/{clientId}' },
    });
  });

  it('uses no provider data off its hosts or over http, and no parameter its pattern refuses', () => {
    for (const instance of ['https://na1.example.org', 'http://na1.example.net', 'not a url']) {
      const resolved = resolveProvider(
        templated,
        { params: { tenant: 'contoso' }, providerData: { instance_url: instance } },
        secure,
      ) as OAuthProviderConfig;
      expect(resolved.apiBaseUrl).toBeUndefined();
    }
    expect(() =>
      resolveProvider(templated, { params: { tenant: 'evil.example/x' }, providerData: {} }, secure),
    ).toThrow(TemplateError);
  });

  it('checks parameters: unknown, missing and malformed named, defaults applied', () => {
    expect(checkParameters(templated, { tenant: 'contoso' })).toEqual({
      params: { tenant: 'contoso', region: 'eu' },
      problems: [],
    });
    const { problems } = checkParameters(templated, { region: 'mars', colour: 'blue' });
    expect(problems.map((problem) => problem.name).sort()).toEqual(['colour', 'region', 'tenant']);
  });

  it('points an entry at a stand-in: every https URL and its hosts', () => {
    const pointed = pointAt(salesforce, 'http://127.0.0.1:4000') as OAuthProviderConfig;
    expect(new URL(pointed.tokenEndpoint).origin).toBe('http://127.0.0.1:4000');
    expect(pointed.providerData.find((field) => field.name === 'instance_url')?.urlHosts).toEqual([
      '127.0.0.1',
    ]);
    const resolved = resolveProvider(
      pointed,
      { params: {}, providerData: { instance_url: 'http://127.0.0.1:4001' } },
      { allowInsecure: true },
    );
    expect(resolved.apiBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:4001/);
  });
});
