// The Microsoft entry against a stand-in that answers as the identity platform documents: an id_token whose
// `iss` is the signed-in user's own tenant (not the `common` or `organizations` the request went to), a new
// refresh token on every refresh, the account read from Graph's /me, no revocation call. The old entry's fixed
// issuer refused every such id_token.
import type { LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  eventsOf,
  loggedFailures,
  shown,
  startConformanceHarness,
  storedTokens,
} from '../../support/conformance/connect.js';
import { startMicrosoftStandIn, type MicrosoftAccount } from '../../support/conformance/microsoft.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';

const ada: MicrosoftAccount = {
  login: 'ada',
  oid: '00000000-0000-0000-66f3-3332eca7ea81',
  tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
  displayName: 'Ada Lovelace',
  userPrincipalName: 'ada@contoso.onmicrosoft.com',
};
const grace: MicrosoftAccount = {
  login: 'grace',
  oid: '3f2c1b8e-5d7a-4e9b-a1c2-7b6d5e4f3a21',
  tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  displayName: 'Grace Hopper',
  userPrincipalName: 'grace@fabrikam.com',
};

describe('a Microsoft-like identity platform (per-tenant id_token issuer)', () => {
  let harness: LifecycleHarness;
  let microsoft: Awaited<ReturnType<typeof startMicrosoftStandIn>>;
  const connections: Record<string, string> = {};
  beforeAll(async () => {
    microsoft = await startMicrosoftStandIn({ accounts: [ada, grace] });
    harness = await startConformanceHarness({ microsoft });
    await configureIntegration(
      harness,
      'microsoft-old',
      oldProvider('microsoft', microsoft.origin),
      microsoft,
    );
  });
  afterAll(async () => {
    await harness?.stop();
    await microsoft?.stop();
  });

  it('connects through a multi-tenant alias: the id_token of the user’s own tenant is accepted, the account read from /me', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectAs(harness, 'microsoft', 'ada', {
      params: { tenant: 'organizations' },
    });
    connections.ada = connectionId;
    const url = new URL(authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${microsoft.origin}/organizations/oauth2/v2.0/authorize`);
    expect(url.searchParams.get('scope')).toBe('openid offline_access User.Read');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(microsoft.seen('/organizations/oauth2/v2.0/token', 'POST')).toHaveLength(1);
    expect(snapshot).toMatchObject({ status: 'active', reason: 'authorized', hasRefreshToken: true });

    const tokens = await storedTokens(harness, connectionId);
    const identity = microsoft.seen('/v1.0/me', 'GET');
    expect(identity.at(-1)?.headers.authorization).toBe(`Bearer ${tokens.accessToken}`);
    expect(await shown(harness, connectionId)).toMatchObject({
      status: 'active',
      account: { id: ada.oid, displayName: 'Ada Lovelace' },
    });
  });

  it('refreshes with the refresh token of the latest answer each time, each answer with a new id_token', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'microsoft', 'grace');
    connections.grace = connectionId;
    expect(microsoft.seen('/common/oauth2/v2.0/token', 'POST').length).toBeGreaterThanOrEqual(1);
    const issued = microsoft.grants.refreshTokensIssued;
    const first = issued.at(-1)!;
    expect((await storedTokens(harness, connectionId)).refreshToken).toBe(first);

    const once = await harness.commands.refresh(connectionId, 'admin-1');
    expect(once.status).toBe('active');
    expect(microsoft.grants.refreshTokensPresented.at(-1)).toBe(first);
    const second = issued.at(-1)!;
    expect(second).not.toBe(first);
    expect((await storedTokens(harness, connectionId)).refreshToken).toBe(second);

    const twice = await harness.commands.refresh(connectionId, 'admin-1');
    expect(twice.status).toBe('active');
    expect(microsoft.grants.refreshTokensPresented.at(-1)).toBe(second);
    expect(twice.tokenExpiresAt).toBeGreaterThanOrEqual(snapshot.tokenExpiresAt!);
    expect(await eventsOf(harness, connectionId)).toEqual([
      [null, 'pending', 'setup_started'],
      ['pending', 'active', 'authorized'],
    ]);
    expect((await shown(harness, connectionId)).account).toEqual({
      id: grace.oid,
      displayName: 'Grace Hopper',
    });
  });

  it('refuses a second connection of the same account in the same scope, naming the first; another scope may', async () => {
    const again = await connectAs(harness, 'microsoft', 'ada');
    expect(again.snapshot).toMatchObject({
      status: 'failed',
      reason: 'account_already_connected',
      existingConnectionId: connections.ada,
    });
    expect(await credentialsOf(harness, again.connectionId)).toEqual([]);
    expect((await shown(harness, connections.ada!)).status).toBe('active');

    const own = await connectAs(harness, 'microsoft', 'ada', { scope: 'user', ownerUserId: 'user-ada' });
    expect(own.snapshot.status).toBe('active');
  });

  it('disconnects by forgetting the tokens: the platform documents no revocation call, and none is made', async () => {
    const before = microsoft.requests.length;
    const disconnected = await harness.commands.disconnect(connections.grace!, 'admin-1');
    expect(disconnected.status).toBe('disconnected');
    expect(await credentialsOf(harness, connections.grace!)).toEqual([]);
    expect(microsoft.requests.slice(before)).toEqual([]);
    // The account is free again: it connects anew.
    const anew = await connectAs(harness, 'microsoft', 'grace');
    expect(anew.snapshot.status).toBe('active');
  });

  it('old entry: the code exchange refuses the id_token of the user’s tenant, and the connection is failed', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'microsoft-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'exchange_failed' });
    expect(loggedFailures(harness)).toContain("code exchange: the id_token's issuer does not match");
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});
