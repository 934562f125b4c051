// Connection parameters through the API: a catalogue entry whose URLs name a tenant and a region (pointed at
// the harness's authorization server) is connected with `params`; unknown, missing and malformed values are
// refused with 400 naming the parameter and nothing made; defaults are applied, stored on the connection,
// shown in its view and filled into the authorization URL; a custom provider takes no parameters; and an
// Idempotency-Key stands for its params too. And a refresh token's documented lifetime: shown on the
// connection once authorized, with a warning when it lapses within a week.
import { catalogueEntry, catalogueProvider } from '../../catalogue/providers.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { catalogueEntrySchema } from '../../providers/provider-config.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { pointAt, tenantEntry } from '../support/catalogue.js';

/** An entry at the harness's authorization server whose refresh tokens lapse three days after issue. */
const lapsingEntry = (tokenPath: string) =>
  catalogueEntrySchema.parse({
    key: 'lapsing-idp',
    category: 'identity',
    docs: ['https://docs.example.com/oauth'],
    displayName: 'Lapsing IdP',
    personal: false,
    authType: 'oauth2',
    issuer: 'https://idp.example.com',
    issParameterSupported: true,
    authorizationEndpoint: 'https://idp.example.com/auth',
    tokenEndpoint: `https://idp.example.com${tokenPath}`,
    scopes: ['openid', 'offline_access', 'api:read'],
    refreshTokenLifetime: { seconds: 3 * 86_400, kind: 'fixed' },
  });

describe('connection parameters', () => {
  let api: ApiHarness;
  let admin: string;
  let origin = '';
  let lapsing: ReturnType<typeof lapsingEntry>;
  beforeAll(async () => {
    api = await startApiHarness({
      catalogue: (key) => {
        if (key === 'tenant-idp') return pointAt(tenantEntry, origin);
        if (key === 'lapsing-idp') return pointAt(lapsing, origin);
        return catalogueEntry(key);
      },
    });
    origin = new URL(api.oidc.issuer).origin;
    lapsing = lapsingEntry(new URL(api.oidc.tokenEndpoint).pathname);
    admin = await api.token({ role: 'admin' });
    for (const entry of [tenantEntry, lapsing]) {
      await integrationStore.configure(api.db, api.vault, {
        workspaceId: api.workspaceId,
        key: entry.key,
        provider: catalogueProvider(entry),
        clientId: api.oidc.clientId,
        clientSecret: api.oidc.clientSecret,
      });
    }
  });
  afterAll(async () => {
    await api?.stop();
  });

  const connectionCount = async () =>
    Number(
      (await api.db('connections').where({ workspace_id: api.workspaceId }).count({ n: '*' }).first())!.n,
    );
  const create = (body: Record<string, unknown>, headers?: Record<string, string>) =>
    api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'tenant-idp', scope: 'workspace', ...body },
      headers,
    });

  it.each([
    ['an unknown parameter', { tenant: 'contoso', colour: 'blue' }, 'colour'],
    ['a missing required one', { region: 'us' }, 'tenant'],
    ['a value that does not match', { tenant: 'evil.example/x' }, 'tenant'],
    ['a value outside its pattern', { tenant: 'contoso', region: 'mars' }, 'region'],
  ])('refuses %s with 400 naming it, and makes nothing', async (_what, params, name) => {
    const before = await connectionCount();
    const refused = await create({ params });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_request');
    expect(refused.body.error.details).toEqual([expect.objectContaining({ path: `body.params.${name}` })]);
    expect(await connectionCount()).toBe(before);
  });

  it('applies defaults, stores and shows the parameters, and fills them into the authorization URL', async () => {
    const created = await create({ params: { tenant: 'contoso' } });
    expect(created.status).toBe(201);
    expect(created.body.connection.params).toEqual({ tenant: 'contoso', region: 'eu' });
    expect(new URL(created.body.authorizationUrl).pathname).toBe('/contoso/eu/authorize');
    const id: string = created.body.connection.id;
    const read = await api.call('GET', `/v1/connections/${id}`, { token: admin });
    expect(read.body.connection).toMatchObject({
      params: { tenant: 'contoso', region: 'eu' },
      refreshTokenExpiresAt: null,
      warnings: [],
    });
    expect((await api.db('connections').where({ id }).first()).params).toEqual({
      tenant: 'contoso',
      region: 'eu',
    });
  });

  it('refuses parameters for a custom provider, which has none', async () => {
    const refused = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace', params: { tenant: 'contoso' } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ path: 'body.params.tenant' })]);
  });

  it('compares params under an Idempotency-Key', async () => {
    const headers = { 'Idempotency-Key': 'params-1' };
    const first = await create({ params: { tenant: 'contoso' } }, headers);
    expect(first.status).toBe(201);
    const again = await create({ params: { tenant: 'contoso' } }, headers);
    expect(again.body.connection.id).toBe(first.body.connection.id);
    const other = await create({ params: { tenant: 'fabrikam' } }, headers);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('shows when the refresh token lapses, with a warning within a week of it', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'lapsing-idp', scope: 'workspace' },
    });
    expect(created.status).toBe(201);
    const callback = await authorizeInBrowser(created.body.authorizationUrl);
    expect((await api.call('GET', `/v1/oauth/callback${callback.search}`)).status).toBe(200);
    const read = await api.call('GET', `/v1/connections/${created.body.connection.id}`, { token: admin });
    expect(read.body.connection).toMatchObject({ status: 'active', warnings: ['refresh_token_expiring'] });
    const lapses = Date.parse(read.body.connection.refreshTokenExpiresAt) - Date.now();
    expect(lapses).toBeGreaterThan(3 * 86_400_000 - 60_000);
    expect(lapses).toBeLessThanOrEqual(3 * 86_400_000);

    // A refresh keeps the lapse (a kept refresh token's fixed lifetime) or dates it anew (a rotated one).
    const id: string = created.body.connection.id;
    const before = Date.parse(read.body.connection.refreshTokenExpiresAt);
    expect((await api.call('POST', `/v1/connections/${id}/refresh`, { token: admin })).status).toBe(200);
    const after = await api.call('GET', `/v1/connections/${id}`, { token: admin });
    const lapse = Date.parse(after.body.connection.refreshTokenExpiresAt);
    expect(lapse).toBeGreaterThanOrEqual(before);
    expect(lapse).toBeLessThanOrEqual(Date.now() + 3 * 86_400_000);
  });
});
