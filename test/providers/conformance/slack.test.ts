// The Slack entries against a stand-in that answers as Slack documents OAuth v2: `token_type: "bot"`, the
// user's token under `authed_user`, every failure as HTTP 200 `{ok: false}`, auth.revoke revoking the token it
// is called with and reporting failure in its body, rotation-enabled refresh.
import type { LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  loggedFailures,
  shown,
  startConformanceHarness,
  storedTokens,
} from '../../support/conformance/connect.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';
import { startSlackStandIn, type SlackAccount } from '../../support/conformance/slack.js';
import { signInAndConsent } from '../../support/conformance/stand-in-server.js';
import { callbackParams } from '../../support/lifecycle.js';

const ada: SlackAccount = {
  login: 'ada',
  userId: 'U0G9QF9C6',
  userName: 'ada',
  team: { id: 'T9TK3CUKW', name: 'Analytical Engines' },
  botUserId: 'U0KRQLJ9H',
};
const grace: SlackAccount = {
  login: 'grace',
  userId: 'U061F7AUR',
  userName: 'grace',
  team: { id: 'T0G9PQBBK', name: 'Compilers' },
  botUserId: 'U0LAN0Z89',
};

describe('a Slack-like workspace (bot tokens, authed_user, ok: false)', () => {
  let harness: LifecycleHarness;
  let slack: Awaited<ReturnType<typeof startSlackStandIn>>;
  beforeAll(async () => {
    slack = await startSlackStandIn({ accounts: [ada, grace] });
    harness = await startConformanceHarness({ slack, 'slack-user': slack });
    await configureIntegration(harness, 'slack-old', oldProvider('slack', slack.origin), slack);
  });
  afterAll(async () => {
    await harness?.stop();
    await slack?.stop();
  });

  it('installs the bot: the `bot` token is kept as a bearer token, the team shown as the account', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectAs(harness, 'slack', 'ada');
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('scope')).toBe('channels:read,chat:write');
    expect(url.searchParams.get('code_challenge')).toBeNull();
    const [exchange] = slack.seen('/api/oauth.v2.access', 'POST');
    expect(String(exchange!.headers.authorization)).toMatch(/^Basic /);
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: false });
    expect(snapshot.tokenExpiresAt).toBeUndefined();
    expect((await storedTokens(harness, connectionId)).accessToken).toMatch(/^xoxb-/);
    expect(await shown(harness, connectionId)).toMatchObject({
      account: { id: `${ada.team.id}/${ada.botUserId}`, displayName: 'Analytical Engines' },
      providerData: { team_id: ada.team.id, team_name: 'Analytical Engines' },
    });

    // Disconnect: auth.revoke called with the bot token itself; Slack says ok, the token is dead.
    const { accessToken } = await storedTokens(harness, connectionId);
    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    const [revoke] = slack.seen('/api/auth.revoke', 'POST');
    expect(revoke!.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(slack.grants.accessGrant(`Bearer ${accessToken}`)).toBeUndefined();
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });

  it('connects as the user: the token under authed_user, `token_type: "user"`, user scopes in user_scope', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectAs(harness, 'slack-user', 'grace', {
      scope: 'user',
      ownerUserId: 'user-grace',
    });
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('user_scope')).toBe('users:read');
    expect(url.searchParams.get('scope')).toBeNull();
    expect(snapshot).toMatchObject({ status: 'active' });
    expect((await storedTokens(harness, connectionId)).accessToken).toMatch(/^xoxp-/);
    expect((await shown(harness, connectionId)).account).toEqual({
      id: `${grace.team.id}/${grace.userId}`,
      displayName: 'Compilers',
    });
  });

  it('a code exchange answered `{ok: false, error: "invalid_code"}` with HTTP 200 is a refused code: it changes nothing', async () => {
    const created = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: 'slack',
      scope: 'workspace',
      actor: 'admin-1',
    });
    const callback = await signInAndConsent(created.authorizationUrl, 'grace');
    // The code is spent before the service exchanges it (a replayed or stale code).
    const spent = await fetch(`${slack.origin}/api/oauth.v2.access`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: slack.clientId,
        client_secret: slack.clientSecret,
        code: callback.searchParams.get('code')!,
      }),
    });
    expect(((await spent.json()) as { ok: boolean }).ok).toBe(true);
    // Read as invalid_grant is (the entry's grantErrors): someone else's or a spent code, so the setup
    // goes on waiting for the right callback, and nothing is stored.
    await expect(harness.commands.completeCallback(callbackParams(callback))).rejects.toMatchObject({
      code: 'authorization_refused',
    });
    expect((await harness.snapshot(created.connectionId)).status).toBe('pending');
    expect(await credentialsOf(harness, created.connectionId)).toEqual([]);
  });

  it('a revocation Slack reports failed in its body (HTTP 200, ok: false) is logged; the tokens are gone anyway', async () => {
    const { connectionId } = await connectAs(harness, 'slack', 'ada');
    const { accessToken } = await storedTokens(harness, connectionId);
    // The workspace admin removed the app at Slack: the token is already dead there.
    slack.grants.revokeGrantOf(accessToken);
    const warnings = () =>
      harness.logLines.filter((line) => line.includes('revocation at the provider failed'));
    const before = warnings().length;
    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    expect(slack.seen('/api/auth.revoke', 'POST').at(-1)!.headers.authorization).toBe(
      `Bearer ${accessToken}`,
    );
    expect(warnings().length).toBe(before + 1);
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });

  it('old entry: the code exchange refuses the documented `token_type: "bot"`, and the connection is failed', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'slack-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'exchange_failed' });
    // Only `bearer` means bearer unless the entry says otherwise (tokenResponse.bearerTokenTypes).
    expect(loggedFailures(harness)).toContain(
      'code exchange: unexpected provider response (unsupported token type)',
    );
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});

describe('a Slack-like workspace with token rotation on', () => {
  let harness: LifecycleHarness;
  let slack: Awaited<ReturnType<typeof startSlackStandIn>>;
  beforeAll(async () => {
    slack = await startSlackStandIn({ accounts: [ada, grace], tokenRotation: true });
    harness = await startConformanceHarness({ slack });
  });
  afterAll(async () => {
    await harness?.stop();
    await slack?.stop();
  });

  it('keeps the 12-hour bot token and its refresh token, and each refresh replaces both', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'slack', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    const lifetime = snapshot.tokenExpiresAt! - Date.now();
    expect(lifetime).toBeGreaterThan(43_100_000);
    expect(lifetime).toBeLessThanOrEqual(43_200_000);
    const first = await storedTokens(harness, connectionId);
    expect(first.accessToken).toMatch(/^xoxe\.xoxb-/);

    expect((await harness.commands.refresh(connectionId, 'admin-1')).status).toBe('active');
    expect(slack.grants.refreshTokensPresented.at(-1)).toBe(first.refreshToken);
    const second = await storedTokens(harness, connectionId);
    expect(second.refreshToken).toBe(slack.grants.refreshTokensIssued.at(-1));
    expect(second.refreshToken).not.toBe(first.refreshToken);

    // The spent refresh token is refused by Slack: a second refresh works only with the new one.
    expect((await harness.commands.refresh(connectionId, 'admin-1')).status).toBe('active');
    expect(slack.grants.refreshTokensPresented.at(-1)).toBe(second.refreshToken);
  });
  it('a refresh Slack refuses with HTTP 200 `{ok: false, error: "invalid_refresh_token"}` expires the connection', async () => {
    const { connectionId } = await connectAs(harness, 'slack', 'grace');
    const { refreshToken } = await storedTokens(harness, connectionId);
    // The app was uninstalled at Slack: its tokens, the refresh token too, are dead there.
    slack.grants.revokeGrantOf(refreshToken!);
    const refused = await harness.commands.refresh(connectionId, 'admin-1');
    expect(refused).toMatchObject({ status: 'expired', reason: 'refresh_rejected' });
    expect(slack.grants.refreshTokensPresented.at(-1)).toBe(refreshToken);
  });
});
