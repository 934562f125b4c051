// The Salesforce entry against a stand-in that answers as Salesforce documents the web-server flow: no
// `expires_in` (the entry's default lifetime stands in for the org's session timeout, so a refresh is
// scheduled), the org's `instance_url` kept on the connection, the account from userinfo, RFC 7009 revocation.
import type { LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  shown,
  startConformanceHarness,
  storedTokens,
} from '../../support/conformance/connect.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';
import {
  salesforceId,
  startSalesforceStandIn,
  type SalesforceAccount,
} from '../../support/conformance/salesforce.js';

const ada: SalesforceAccount = {
  login: 'ada',
  orgId: salesforceId('00D'),
  userId: salesforceId('005'),
  username: 'ada@engines.example',
  name: 'Ada Lovelace',
};

/** The entry's default access lifetime: Salesforce's default session timeout, two hours. */
const SESSION_SECONDS = 7200;

describe('a Salesforce-like org (no expires_in, instance_url)', () => {
  let harness: LifecycleHarness;
  let salesforce: Awaited<ReturnType<typeof startSalesforceStandIn>>;
  beforeAll(async () => {
    salesforce = await startSalesforceStandIn({ accounts: [ada] });
    harness = await startConformanceHarness({ salesforce });
    await configureIntegration(
      harness,
      'salesforce-old',
      oldProvider('salesforce', salesforce.origin),
      salesforce,
    );
  });
  afterAll(async () => {
    await harness?.stop();
    await salesforce?.stop();
  });

  // instance_url is where the stand-in serves: an http loopback origin, which tests admit for every provider URL.
  it('connects with the default lifetime, a refresh scheduled before it ends, the account and instance_url kept', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectAs(harness, 'salesforce', 'ada', {
      params: { domain: 'acme.my' },
    });
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')).toBe('api refresh_token id');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    const lifetime = snapshot.tokenExpiresAt! - Date.now();
    expect(lifetime).toBeGreaterThan((SESSION_SECONDS - 60) * 1000);
    expect(lifetime).toBeLessThanOrEqual(SESSION_SECONDS * 1000);
    expect(snapshot.nextRefreshAt).toBeLessThan(snapshot.tokenExpiresAt!);

    const tokens = await storedTokens(harness, connectionId);
    expect(salesforce.seen('/services/oauth2/userinfo', 'GET').at(-1)?.headers.authorization).toBe(
      `Bearer ${tokens.accessToken}`,
    );
    expect(await shown(harness, connectionId)).toMatchObject({
      account: { id: `${ada.orgId}/${ada.userId}`, displayName: 'Ada Lovelace' },
      providerData: { instance_url: salesforce.origin },
    });
  });

  it('old entry: connects, but with no lifetime no refresh is ever scheduled and instance_url is dropped', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'salesforce-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    expect(snapshot.tokenExpiresAt).toBeUndefined();
    expect(snapshot.nextRefreshAt).toBeUndefined();
    expect(await shown(harness, connectionId)).toMatchObject({
      status: 'active',
      tokenExpiresAt: null,
      nextRefreshAt: null,
      providerData: {},
    });
  });
});

describe('a Salesforce-like org, refreshed on the schedule its default lifetime sets, and revoked', () => {
  let harness: LifecycleHarness;
  let salesforce: Awaited<ReturnType<typeof startSalesforceStandIn>>;
  beforeAll(async () => {
    // instance_url named with https, as Salesforce always answers it: this stand-in's API is not called here.
    salesforce = await startSalesforceStandIn({
      accounts: [ada],
      instanceUrl: (origin) => origin.replace(/^http:/, 'https:'),
    });
    harness = await startConformanceHarness({ salesforce });
  });
  afterAll(async () => {
    await harness?.stop();
    await salesforce?.stop();
  });

  it('refreshes with the same refresh token (Salesforce does not rotate it), and disconnect revokes it (RFC 7009)', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'salesforce', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    const tokens = await storedTokens(harness, connectionId);
    expect(await shown(harness, connectionId)).toMatchObject({
      account: { id: `${ada.orgId}/${ada.userId}`, displayName: 'Ada Lovelace' },
      providerData: { instance_url: salesforce.origin.replace(/^http:/, 'https:') },
    });
    // Scheduled from the default lifetime: the refresh margin (the harness's) before it ends, as the read model
    // shows; the workflow's timer is then what a refresh waits for (its firing is tested in timers.test.ts).
    const row = await harness.db('connections').where({ id: connectionId }).first();
    expect(row.token_expires_at.getTime()).toBe(snapshot.tokenExpiresAt);
    expect(row.next_refresh_at.getTime()).toBe(snapshot.nextRefreshAt);
    expect(snapshot.tokenExpiresAt! - snapshot.nextRefreshAt!).toBeGreaterThanOrEqual(
      harness.settings.refreshMarginMs,
    );

    const refreshed = await harness.commands.refresh(connectionId, 'admin-1');
    expect(refreshed.status).toBe('active');
    expect(salesforce.grants.refreshTokensPresented).toEqual([tokens.refreshToken]);
    const after = await storedTokens(harness, connectionId);
    expect(after.refreshToken).toBe(tokens.refreshToken);
    expect(after.accessToken).not.toBe(tokens.accessToken);
    // The refresh answer has no expires_in either: the default lifetime again, from the refresh.
    expect(refreshed.tokenExpiresAt).toBeGreaterThan(snapshot.tokenExpiresAt!);
    expect(refreshed.nextRefreshAt).toBeLessThan(refreshed.tokenExpiresAt!);

    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    const [revoke] = salesforce.seen('/services/oauth2/revoke', 'POST');
    expect(revoke!.form).toMatchObject({ token: tokens.refreshToken });
    expect(salesforce.grants.liveGrants()).toEqual([]);
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});
