import { catalogueData, catalogueEntry, providerCatalogue } from '../../catalogue/providers.js';
import { catalogueEntrySchema, providerConfigSchema } from '../../providers/provider-config.js';
import { forwardedRequestHeaders, forwardedResponseHeaders } from '../../providers/proxy-headers.js';

const required = [
  'google',
  'microsoft',
  'github',
  'slack',
  'salesforce',
  'hubspot',
  'notion',
  'atlassian',
  'linear',
  'zoom',
  'dropbox',
  'asana',
  'openai',
  'stripe',
  'sendgrid',
];

function urlsOf(entry: Record<string, unknown>): string[] {
  return ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'revocationEndpoint', 'apiBaseUrl']
    .map((field) => entry[field])
    .filter((value): value is string => typeof value === 'string');
}

describe('provider catalogue', () => {
  it.each(catalogueData.map((entry) => [entry.key, entry] as const))(
    '%s is a valid catalogue entry whose URLs are all https',
    (_key, entry) => {
      const parsed = catalogueEntrySchema.safeParse(entry);
      expect(parsed.error?.issues ?? []).toEqual([]);
      for (const url of urlsOf(entry)) expect(new URL(url).protocol).toBe('https:');
      // What a workspace stores when it configures the entry is a valid provider configuration.
      const { key: _unused, ...provider } = entry;
      expect(providerConfigSchema.safeParse(provider).success).toBe(true);
    },
  );

  it('holds every required provider once, with the right kind of authentication', () => {
    const keys = providerCatalogue.map((entry) => entry.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of required) expect(catalogueEntry(key)).toBeDefined();
    for (const key of ['openai', 'stripe', 'sendgrid']) {
      expect(catalogueEntry(key)).toMatchObject({
        authType: 'api_key',
        injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
        verification: { method: 'GET' },
      });
    }
    for (const key of required.slice(0, 12)) expect(catalogueEntry(key)?.authType).toBe('oauth2');
    expect(catalogueEntry('google')).toMatchObject({ personal: true, issParameterSupported: true });
    expect(catalogueEntry('microsoft')?.personal).toBe(true);
    expect(catalogueEntry('slack')).toMatchObject({ scopeSeparator: ',', personal: false });
  });

  it('refuses an entry with an http URL, an unknown field or a malformed key', () => {
    const google = catalogueData.find((entry) => entry.key === 'google')!;
    expect(
      catalogueEntrySchema.safeParse({ ...google, tokenEndpoint: 'http://oauth2.googleapis.com/token' })
        .success,
    ).toBe(false);
    expect(catalogueEntrySchema.safeParse({ ...google, clientSecret: 'x' }).success).toBe(false);
    expect(catalogueEntrySchema.safeParse({ ...google, key: 'Google!' }).success).toBe(false);
  });

  it.each([
    ['notion', { 'notion-version': '2022-06-28' }, {}],
    ['github', { 'x-github-api-version': '2022-11-28' }, { 'x-github-request-id': 'A1:B2' }],
    ['dropbox', { 'dropbox-api-arg': '{"path":"/a"}' }, { 'dropbox-api-result': '{"name":"a"}' }],
    ['stripe', { 'stripe-version': '2024-06-20', 'stripe-account': 'acct_1' }, {}],
    ['openai', { 'openai-organization': 'org-1' }, { 'openai-processing-ms': '12' }],
    ['microsoft', { consistencylevel: 'eventual' }, { 'client-request-id': 'c-1' }],
  ])('%s declares the headers its API needs, and the proxy carries them', (key, request, response) => {
    const declared = catalogueEntry(key)!.proxy;
    expect(Object.fromEntries(forwardedRequestHeaders(request, declared))).toEqual(request);
    expect(forwardedResponseHeaders(response, declared)).toEqual(response);
    // Another provider's own headers are not carried for this one.
    expect(
      Object.fromEntries(forwardedRequestHeaders({ 'notion-version': 'x' }, catalogueEntry('stripe')!.proxy)),
    ).toEqual({});
  });
});
