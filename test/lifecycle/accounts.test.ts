// The upstream account on every connection, end to end over the API: OAuth against oidc-provider configured
// as a custom provider whose identity is its userinfo endpoint, API keys against a stand-in whose identity
// request names each key's account. A second connection of one account in the same scope is refused, naming
// the first, and stores nothing; another scope (another person) may have it; once the first is disconnected
// it may be connected again. A re-authorization or key rotation for another account changes nothing.
import { integrationStore } from '../../integrations/integration-store.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const OAUTH = 'oidc-accounts';
const KEYS = 'keyed-accounts';
/** The same API, declaring that a good key may be unable to read its own account (as Stripe's restricted keys). */
const KEYS_MAYBE_UNNAMED = 'keyed-maybe-unnamed';

describe('the upstream account of a connection', () => {
  let api: ApiHarness;
  let standIn: StandInApi;
  let admin: string;
  let member1: string;
  let member2: string;

  beforeAll(async () => {
    api = await startApiHarness();
    standIn = await startStandInApi();
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: OAUTH,
      provider: {
        authType: 'oauth2',
        issuer: api.oidc.issuer,
        authorizationEndpoint: api.oidc.authorizationEndpoint,
        tokenEndpoint: api.oidc.tokenEndpoint,
        revocationEndpoint: api.oidc.revocationEndpoint,
        issParameterSupported: true,
        scopes: ['openid', 'offline_access'],
        // oidc-provider's userinfo endpoint: the account's `sub` and the `name` its findAccount gives.
        identity: { request: { url: `${api.oidc.issuer}/me` }, id: 'sub', displayName: ['name', 'sub'] },
      },
      clientId: api.oidc.clientId,
      clientSecret: api.oidc.clientSecret,
    });
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: KEYS,
      provider: {
        authType: 'api_key',
        apiBaseUrl: standIn.baseUrl,
        injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
        verification: { method: 'GET', path: '/v1/me' },
        identity: { request: { url: '/v1/whoami' }, id: 'account.id', displayName: ['account.name'] },
      },
    });
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: KEYS_MAYBE_UNNAMED,
      provider: {
        authType: 'api_key',
        apiBaseUrl: standIn.baseUrl,
        injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
        verification: { method: 'GET', path: '/v1/me' },
        identity: {
          request: { url: '/v1/whoami' },
          id: 'account.id',
          displayName: ['account.name'],
          whenRefused: 'account_unknown',
        },
      },
    });
    admin = await api.token({ role: 'admin' });
    member1 = await api.token({ role: 'member', sub: 'member-1' });
    member2 = await api.token({ role: 'member', sub: 'member-2' });
  });
  afterAll(async () => {
    await api?.stop();
    await standIn?.stop();
  });

  const read = async (id: string) =>
    (await api.call('GET', `/v1/connections/${id}`, { token: admin })).body.connection;
  const credentials = async (id: string) =>
    (await api.db('credentials').where({ connection_id: id })).map((row) => JSON.stringify(row.envelope));

  /** Create, sign in at the provider as `login` and consent, land on the callback. */
  async function connectOAuth(token: string, scope: 'workspace' | 'user', login: string) {
    const created = await api.call('POST', '/v1/connections', { token, body: { integration: OAUTH, scope } });
    expect(created.status).toBe(201);
    const id: string = created.body.connection.id;
    const callback = await authorizeInBrowser(created.body.authorizationUrl, { login });
    const landed = await api.call('GET', `/v1/oauth/callback${callback.search}`);
    return { id, landed, connection: await read(id) };
  }

  let shared: string;

  it('records the account of an OAuth connection, and refuses a second one in the same scope, naming the first', async () => {
    const first = await connectOAuth(admin, 'workspace', 'alice');
    expect(first.landed.body).toContain('Connected');
    expect(first.connection).toMatchObject({
      status: 'active',
      account: { id: 'alice', displayName: 'alice' },
      providerData: {},
    });
    shared = first.id;

    const second = await connectOAuth(admin, 'workspace', 'alice');
    expect(second.landed.status).toBe(200);
    expect(second.landed.body).toContain('Account already connected');
    expect(second.landed.body).toContain(`connection ${first.id}: reconnect that one instead`);
    expect(second.connection).toMatchObject({
      status: 'failed',
      statusReason: 'account_already_connected',
      account: null,
    });
    expect(await credentials(second.id)).toEqual([]);

    // Another account in the same scope is another connection.
    expect((await connectOAuth(admin, 'workspace', 'bob')).connection).toMatchObject({
      status: 'active',
      account: { id: 'bob' },
    });
  });

  it("allows the same account in another scope (each person's own)", async () => {
    const mine = await connectOAuth(member1, 'user', 'alice');
    const theirs = await connectOAuth(member2, 'user', 'alice');
    expect([mine.connection.status, theirs.connection.status]).toEqual(['active', 'active']);
    expect((await connectOAuth(member1, 'user', 'alice')).connection).toMatchObject({
      status: 'failed',
      statusReason: 'account_already_connected',
    });
    const listed = await api.call('GET', '/v1/connections?account=alice&status=active', { token: admin });
    expect(listed.body.connections.map((c: { id: string }) => c.id).sort()).toEqual(
      [shared, mine.id, theirs.id].sort(),
    );
  });

  it('keeps the tokens of a connection re-authorized with another account, and takes the same account back', async () => {
    const before = await credentials(shared);
    const reauthorize = async (login: string) => {
      const begun = await api.call('POST', `/v1/connections/${shared}/reauthorize`, {
        token: admin,
        body: {},
      });
      expect(begun.status).toBe(200);
      const callback = await authorizeInBrowser(begun.body.authorizationUrl, { login });
      return api.call('GET', `/v1/oauth/callback${callback.search}`);
    };
    const other = await reauthorize('carol');
    expect(other.body).toContain('A different account');
    expect(await read(shared)).toMatchObject({ status: 'active', account: { id: 'alice' } });
    expect(await credentials(shared)).toEqual(before);

    const same = await reauthorize('alice');
    expect(same.body).toContain('Connected');
    expect(await read(shared)).toMatchObject({
      status: 'active',
      statusReason: 'reauthorized',
      account: { id: 'alice' },
    });
    expect(await credentials(shared)).not.toEqual(before);
  });

  it('allows the account again once its connection is disconnected, which keeps it for history', async () => {
    const removed = await api.call('DELETE', `/v1/connections/${shared}`, { token: admin });
    expect(removed.status).toBe(200);
    expect(removed.body.connection).toMatchObject({ status: 'disconnected', account: { id: 'alice' } });
    const again = await connectOAuth(admin, 'workspace', 'alice');
    expect(again.connection).toMatchObject({ status: 'active', account: { id: 'alice' } });
  });

  describe('an identity request that fails after the code exchange', () => {
    const FLAKY = 'oidc-flaky-identity';
    beforeAll(async () => {
      // The stand-in's /echo answers what it received: its path stands for the account's id.
      await integrationStore.configure(api.db, api.vault, {
        workspaceId: api.workspaceId,
        key: FLAKY,
        provider: {
          authType: 'oauth2',
          issuer: api.oidc.issuer,
          authorizationEndpoint: api.oidc.authorizationEndpoint,
          tokenEndpoint: api.oidc.tokenEndpoint,
          issParameterSupported: true,
          scopes: ['openid'],
          identity: { request: { url: `${standIn.baseUrl}/echo/me` }, id: 'url', displayName: ['method'] },
        },
        clientId: api.oidc.clientId,
        clientSecret: api.oidc.clientSecret,
      });
    });
    afterEach(() => standIn.clearFaults());

    const connect = async (login: string) => {
      const created = await api.call('POST', '/v1/connections', {
        token: admin,
        body: { integration: FLAKY, scope: 'workspace' },
      });
      const callback = await authorizeInBrowser(created.body.authorizationUrl, { login });
      const landed = await api.call('GET', `/v1/oauth/callback${callback.search}`);
      return {
        id: created.body.connection.id as string,
        landed,
        connection: await read(created.body.connection.id),
      };
    };

    it('retries an outage inside the exchange (the code is spent) and connects once it answers', async () => {
      standIn.injectFault(503, 1); // deliberate fault injection: the identity endpoint down once
      const before = api.oidc.tokenRequests('authorization_code');
      const connected = await connect('dave');
      expect(connected.connection).toMatchObject({
        status: 'active',
        account: { id: '/echo/me', displayName: 'GET' },
      });
      expect(api.oidc.tokenRequests('authorization_code')).toBe(before + 1);
    });

    it('fails the setup when it stays down (identity_unavailable) or refuses (identity_refused), storing nothing', async () => {
      standIn.injectFault(503, 10); // deliberate fault injection: the identity endpoint stays down
      const down = await connect('erin');
      expect(down.connection).toMatchObject({ status: 'failed', statusReason: 'identity_unavailable' });
      expect(down.landed.body).toContain('identity_unavailable');
      expect(await credentials(down.id)).toEqual([]);
      standIn.clearFaults();

      standIn.injectFault(401, 1); // deliberate fault injection: the identity endpoint refuses the token
      const refused = await connect('frank');
      expect(refused.connection).toMatchObject({ status: 'failed', statusReason: 'identity_refused' });
      expect(await credentials(refused.id)).toEqual([]);
    });
  });

  describe('API keys', () => {
    const create = (token: string, scope: 'workspace' | 'user', apiKey: string) =>
      api.call('POST', '/v1/connections', { token, body: { integration: KEYS, scope, apiKey } });
    const rotate = (id: string, apiKey: string) =>
      api.call('PUT', `/v1/connections/${id}/api-key`, { token: admin, body: { apiKey } });
    const storedKey = async (id: string) => {
      const [row] = await api.db('credentials').where({ connection_id: id, purpose: 'api_key' });
      return api.vault.openText(
        { workspace: api.workspaceId, connection: id, purpose: 'api_key' },
        row.envelope,
      );
    };

    beforeAll(() => {
      for (const [key, account] of [
        ['sk-acme-1', { id: 'acct-acme', name: 'Acme Inc' }],
        ['sk-acme-2', { id: 'acct-acme', name: 'Acme Inc' }],
        ['sk-globex-1', { id: 'acct-globex', name: 'Globex' }],
      ] as const) {
        standIn.validKeys.add(key);
        standIn.accounts.set(key, account);
        api.addSecret(key);
      }
      standIn.validKeys.add('sk-nobody');
    });

    let first: string;

    it('answers 409 account_already_connected for a second key of one account, naming the first', async () => {
      const created = await create(admin, 'workspace', 'sk-acme-1');
      expect(created.status).toBe(201);
      expect(created.body.connection).toMatchObject({
        status: 'active',
        account: { id: 'acct-acme', displayName: 'Acme Inc' },
      });
      first = created.body.connection.id;

      const duplicate = await create(admin, 'workspace', 'sk-acme-2');
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.error).toEqual({
        code: 'account_already_connected',
        message: `this account is already connected as connection ${first}: reconnect that one instead`,
        details: { connectionId: first },
      });
      const failed = await api
        .db('connections')
        .where({ workspace_id: api.workspaceId, integration: KEYS, status: 'failed' });
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ status_reason: 'account_already_connected', account_id: null });
      expect(await credentials(failed[0].id)).toEqual([]);

      // Another person's own connection may have it.
      expect((await create(member1, 'user', 'sk-acme-2')).status).toBe(201);
    });

    it("refuses a rotation to another account's key, keeping the old key; the same account's is fine", async () => {
      const mismatch = await rotate(first, 'sk-globex-1');
      expect(mismatch.status).toBe(409);
      expect(mismatch.body.error.code).toBe('account_mismatch');
      expect(await storedKey(first)).toBe('sk-acme-1');
      expect((await rotate(first, 'sk-acme-2')).status).toBe(200);
      expect(await storedKey(first)).toBe('sk-acme-2');
    });

    it('fails a key whose account the provider will not name (identity_refused), storing nothing', async () => {
      const refused = await create(admin, 'workspace', 'sk-nobody');
      expect(refused.status).toBe(422);
      expect(refused.body.error).toMatchObject({
        code: 'provider_rejected',
        details: { status: 'failed', reason: 'identity_refused' },
      });
      expect(await credentials(refused.body.error.details.connectionId)).toEqual([]);
    });

    it('keeps a good key whose account it may not read, where the provider says that happens', async () => {
      const created = await api.call('POST', '/v1/connections', {
        token: admin,
        body: { integration: KEYS_MAYBE_UNNAMED, scope: 'workspace', apiKey: 'sk-nobody' },
      });
      expect(created.status).toBe(201);
      expect(created.body.connection).toMatchObject({ status: 'active', account: null });
      expect(await storedKey(created.body.connection.id)).toBe('sk-nobody');
    });

    it('allows the account again once its connection is disconnected', async () => {
      expect((await api.call('DELETE', `/v1/connections/${first}`, { token: admin })).status).toBe(200);
      const again = await create(admin, 'workspace', 'sk-acme-1');
      expect(again.status).toBe(201);
      expect(again.body.connection.account).toEqual({ id: 'acct-acme', displayName: 'Acme Inc' });
    });
  });
});
