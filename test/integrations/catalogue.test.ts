// Every catalogue entry checked as data: it passes the schema, its URLs are https once its templates are
// filled with each parameter's example, it names the documentation it was checked against, and it builds a
// valid authorization request (PKCE only where the provider supports it). The entries' facts are their
// authors'; only the issue's named fixes are asserted as the providers document them.
import { createHash } from 'node:crypto';
import {
  catalogueData,
  catalogueEntry,
  catalogueProvider,
  providerCatalogue,
} from '../../catalogue/providers.js';
import { buildAuthorizationUrl, newAuthorizationSecrets } from '../../providers/oauth-client.js';
import {
  catalogueEntrySchema,
  providerConfigSchema,
  type CatalogueEntry,
  type OAuthProviderConfig,
} from '../../providers/provider-config.js';
import { forwardedRequestHeaders, forwardedResponseHeaders } from '../../providers/proxy-headers.js';
import { fillTemplate } from '../../providers/templates.js';

type OAuthEntry = Extract<CatalogueEntry, { authType: 'oauth2' }>;

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

/** Parameters the service itself sets on an authorization request: an entry may not set them too. */
const reservedAuthorizationParams = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
];

function oauthEntry(key: string): OAuthEntry {
  const entry = catalogueEntry(key);
  if (entry?.authType !== 'oauth2') throw new Error(`${key} is not an OAuth 2.0 catalogue entry`);
  return entry;
}

/** An https origin on a provider-data field's declared host (a leading `.` admits a subdomain). */
function sampleOrigin(host: string): string {
  return `https://${host.startsWith('.') ? `example${host}` : host}`;
}

/**
 * What each placeholder stands for in these checks: a parameter's example, a sample origin for provider data
 * used in URLs, and revocation's own `{clientId}` and `{token}`.
 */
function sampleValues(entry: CatalogueEntry): Record<string, string> {
  const values: Record<string, string> = { clientId: 'catalogue-client', token: 'catalogue-token' };
  for (const parameter of entry.parameters) values[parameter.name] = parameter.example;
  if (entry.authType === 'oauth2') {
    for (const field of entry.providerData) {
      if (field.urlHosts) values[field.name] = sampleOrigin(field.urlHosts[0]!);
    }
  }
  return values;
}

/** Every absolute URL template of an entry, by field; relative request paths live under its API base URL. */
function urlTemplates(entry: CatalogueEntry): [string, string][] {
  const templates: [string, string | undefined][] = [
    ['apiBaseUrl', entry.apiBaseUrl],
    ['identity.request.url', entry.identity?.request?.url],
  ];
  if (entry.authType === 'oauth2') {
    templates.push(
      ['issuer', entry.issuer],
      ['authorizationEndpoint', entry.authorizationEndpoint],
      ['tokenEndpoint', entry.tokenEndpoint],
      ['refreshEndpoint', entry.refreshEndpoint],
      ['revocation.url', entry.revocation?.url],
      ...entry.providerData.map(
        (field, index) =>
          [`providerData.${index}.request.url`, field.request?.url] as [string, string | undefined],
      ),
    );
  }
  return templates.filter(
    (pair): pair is [string, string] => pair[1] !== undefined && !pair[1].startsWith('/'),
  );
}

/** The entry as a connection made with each parameter's example sees it. */
function concrete(entry: OAuthEntry): OAuthProviderConfig {
  const values = sampleValues(entry);
  return {
    ...entry,
    issuer: fillTemplate(entry.issuer, values),
    authorizationEndpoint: fillTemplate(entry.authorizationEndpoint, values),
    tokenEndpoint: fillTemplate(entry.tokenEndpoint, values),
  } as OAuthProviderConfig;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const lowerKeys = (record: Record<string, string>) =>
  Object.fromEntries(Object.entries(record).map(([name, value]) => [name.toLowerCase(), value]));

const entries = providerCatalogue.map((entry) => [entry.key, entry] as const);
const oauthEntries = providerCatalogue
  .filter((entry): entry is OAuthEntry => entry.authType === 'oauth2')
  .map((entry) => [entry.key, entry] as const);

describe('provider catalogue', () => {
  it.each(catalogueData.map((entry) => [entry.key, entry] as const))(
    '%s passes the catalogue schema, and what a workspace stores of it is a provider configuration',
    (key, entry) => {
      const parsed = catalogueEntrySchema.safeParse(entry);
      expect(parsed.error?.issues ?? []).toEqual([]);
      const stored = providerConfigSchema.safeParse(catalogueProvider(catalogueEntry(key)!));
      expect(stored.error?.issues ?? []).toEqual([]);
    },
  );

  it.each(entries)(
    '%s has only https URLs, with its templates filled, and its documentation',
    (_key, entry) => {
      const values = sampleValues(entry);
      for (const [field, template] of urlTemplates(entry)) {
        const filled = fillTemplate(template, values);
        expect([field, new URL(filled).protocol]).toEqual([field, 'https:']);
      }
      expect(entry.docs.length).toBeGreaterThanOrEqual(1);
      for (const url of entry.docs) expect(new URL(url).protocol).toBe('https:');
    },
  );

  it.each(entries)(
    '%s asks for parameters whose example and default fit their own pattern',
    (_key, entry) => {
      const names = entry.parameters.map((parameter) => parameter.name);
      expect(new Set(names).size).toBe(names.length);
      for (const parameter of entry.parameters) {
        const pattern = new RegExp(parameter.pattern, 'u');
        expect([parameter.name, pattern.test(parameter.example)]).toEqual([parameter.name, true]);
        if (parameter.default !== undefined) {
          expect([parameter.name, pattern.test(parameter.default)]).toEqual([parameter.name, true]);
        }
      }
    },
  );

  // A value typed at connect that could name another host would send the request (and, at the token
  // endpoint, the workspace's client secret) wherever the person connecting chose.
  it.each(entries)(
    '%s asks for no parameter that could steer a provider URL to another host',
    (_key, entry) => {
      const hostile = ['evil.example', 'evil.example.com', '127.0.0.1', 'evil.example/x', 'evil.example#'];
      for (const parameter of entry.parameters) {
        const inHost = urlTemplates(entry).some(([, template]) =>
          /^https?:\/\/([^/?]*)/.exec(template)?.[1]?.includes(`{${parameter.name}}`),
        );
        if (!inHost) continue;
        const pattern = new RegExp(parameter.pattern, 'u');
        expect([parameter.name, hostile.filter((value) => pattern.test(value))]).toEqual([
          parameter.name,
          [],
        ]);
      }
    },
  );

  it.each(oauthEntries)('%s builds a valid authorization request', async (_key, entry) => {
    const provider = concrete(entry);
    const redirectUri = 'https://connections.example/v1/oauth/callback';
    const { state, codeVerifier } = newAuthorizationSecrets();
    const url = new URL(
      await buildAuthorizationUrl(provider, 'catalogue-client', {
        state,
        codeVerifier,
        redirectUri,
        scopes: entry.scopes,
      }),
    );
    const endpoint = new URL(provider.authorizationEndpoint);
    expect(url.protocol).toBe('https:');
    expect(`${url.origin}${url.pathname}`).toBe(`${endpoint.origin}${endpoint.pathname}`);
    const one = (name: string) => {
      expect([name, url.searchParams.getAll(name).length]).toEqual([name, 1]);
      return url.searchParams.get(name);
    };
    expect(one('response_type')).toBe('code');
    expect(one('client_id')).toBe('catalogue-client');
    expect(one('redirect_uri')).toBe(redirectUri);
    expect(one('state')).toBe(state);
    if (entry.pkce) {
      expect(one('code_challenge')).toBe(s256(codeVerifier));
      expect(one('code_challenge_method')).toBe('S256');
    } else {
      expect(url.searchParams.has('code_challenge')).toBe(false);
      expect(url.searchParams.has('code_challenge_method')).toBe(false);
    }
    // The scopes travel in the entry's own parameter, joined by its separator, which no scope contains.
    expect(new Set(entry.scopes).size).toBe(entry.scopes.length);
    for (const scope of entry.scopes) expect(scope).not.toContain(entry.scopeSeparator);
    if (entry.scopes.length) {
      expect(entry.authorizationParams[entry.scopeParam]).toBeUndefined();
      expect(one(entry.scopeParam)).toBe(entry.scopes.join(entry.scopeSeparator));
    }
    for (const name of reservedAuthorizationParams) expect(entry.authorizationParams[name]).toBeUndefined();
    for (const [name, value] of Object.entries(entry.authorizationParams)) expect(one(name)).toBe(value);
  });

  it('holds at least 100 providers, each key once, and every provider it began with', () => {
    const keys = catalogueData.map((entry) => entry.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThanOrEqual(100);
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

  it('refuses an entry with an http URL, an unknown field, a malformed key or no documentation', () => {
    const google = catalogueData.find((entry) => entry.key === 'google')!;
    expect(
      catalogueEntrySchema.safeParse({ ...google, tokenEndpoint: 'http://oauth2.googleapis.com/token' })
        .success,
    ).toBe(false);
    expect(catalogueEntrySchema.safeParse({ ...google, clientSecret: 'x' }).success).toBe(false);
    expect(catalogueEntrySchema.safeParse({ ...google, key: 'Google!' }).success).toBe(false);
    expect(catalogueEntrySchema.safeParse({ ...google, docs: [] }).success).toBe(false);
    expect(
      catalogueEntrySchema.safeParse({ ...google, docs: ['http://developers.google.com'] }).success,
    ).toBe(false);
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

describe("the issue's named fixes, as the providers document them", () => {
  it("Microsoft: an id_token's issuer is its own tenant's", () => {
    const microsoft = oauthEntry('microsoft');
    const tid = '9188040d-6c67-4c5b-b112-36a304b66dad';
    const expected = microsoft.tokenResponse.idTokenIssuer ?? microsoft.issuer;
    expect(fillTemplate(expected, { ...sampleValues(microsoft), tid })).toBe(
      `https://login.microsoftonline.com/${tid}/v2.0`,
    );
  });

  it("Slack: a bot token is a bearer token, and failures in a 200 answer's `ok` are read, on revoke too", () => {
    const slack = oauthEntry('slack');
    expect(slack.tokenResponse.bearerTokenTypes).toContain('bot');
    expect(slack.tokenResponse.okField).toBe('ok');
    expect(slack.revocation).toMatchObject({ style: 'request', okField: 'ok' });
    expect(slack.revocation?.url).toBe('https://slack.com/api/auth.revoke');
  });

  it('Notion: revocation is a JSON body with the Notion-Version header', () => {
    const revocation = oauthEntry('notion').revocation;
    expect(revocation).toMatchObject({ style: 'request', method: 'POST', tokenIn: 'json' });
    if (revocation?.style !== 'request') throw new Error('unreachable');
    expect(Object.keys(lowerKeys(revocation.headers))).toContain('notion-version');
  });

  it('Salesforce: a default access lifetime, and the API at the answered instance_url', () => {
    const salesforce = oauthEntry('salesforce');
    expect(salesforce.defaultAccessLifetimeSeconds).toBeGreaterThan(0);
    const instance = salesforce.providerData.find((field) => field.path === 'instance_url');
    expect(instance).toMatchObject({ from: 'token_response', urlHosts: expect.any(Array) });
    expect(salesforce.apiBaseUrl?.startsWith(`{${instance!.name}}`)).toBe(true);
  });

  it('HubSpot: not the retiring /oauth/v1/token, and a revocation', () => {
    const hubspot = oauthEntry('hubspot');
    expect(hubspot.tokenEndpoint).not.toContain('/oauth/v1/token');
    expect(hubspot.revocation).toBeDefined();
  });

  it('Asana: no `default` scope, which apps with granular scopes refuse', () => {
    expect(oauthEntry('asana').scopes).not.toContain('default');
  });

  it("GitHub: revocation deletes the grant, with the app's Basic authentication", () => {
    expect(oauthEntry('github').revocation).toMatchObject({
      style: 'request',
      method: 'DELETE',
      url: 'https://api.github.com/applications/{clientId}/grant',
      auth: 'client_secret_basic',
    });
  });

  it('Dropbox: a token revokes itself', () => {
    expect(oauthEntry('dropbox').revocation).toMatchObject({
      style: 'request',
      url: 'https://api.dropboxapi.com/2/auth/token/revoke',
      tokenIn: 'bearer',
    });
  });

  it('Stripe: a 403 (a restricted key without the permission) does not refuse the key', () => {
    const stripe = catalogueEntry('stripe');
    if (stripe?.authType !== 'api_key') throw new Error('stripe is an API-key entry');
    expect(stripe.verification).toBeDefined();
    expect(stripe.verification!.rejectStatuses).not.toContain(403);
  });
});
