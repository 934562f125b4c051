// The GitHub entry against a stand-in that answers as GitHub documents: JSON token answers only when Accept
// asks for them, comma-separated scopes, the grant deleted with DELETE /applications/{client_id}/grant and
// Basic client authentication, the account from GET /user; GitHub Apps' expiring user tokens refreshed with a
// refresh token that each refresh replaces.
import type { LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  shown,
  startConformanceHarness,
  storedTokens,
} from '../../support/conformance/connect.js';
import { startGitHubStandIn, type GitHubAccount } from '../../support/conformance/github.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';

const ada: GitHubAccount = { login: 'ada', id: 583231, name: 'Ada Lovelace' };
const grace: GitHubAccount = { login: 'grace', id: 1906, name: 'Grace Hopper' };

describe('a GitHub-like OAuth app host (grant deletion)', () => {
  let harness: LifecycleHarness;
  let github: Awaited<ReturnType<typeof startGitHubStandIn>>;
  beforeAll(async () => {
    github = await startGitHubStandIn({ accounts: [ada] });
    harness = await startConformanceHarness({ github });
    await configureIntegration(harness, 'github-old', oldProvider('github', github.origin), github);
  });
  afterAll(async () => {
    await harness?.stop();
    await github?.stop();
  });

  it('connects (JSON asked for), shows the account from /user, and disconnect deletes the grant', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectAs(harness, 'github', 'ada');
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')).toBe('read:user');
    const [exchange] = github.seen('/login/oauth/access_token', 'POST');
    expect(exchange!.headers.accept).toContain('application/json');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: false });
    expect(snapshot.tokenExpiresAt).toBeUndefined();
    const { accessToken } = await storedTokens(harness, connectionId);
    expect(github.seen('/user', 'GET').at(-1)?.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(await shown(harness, connectionId)).toMatchObject({
      account: { id: String(ada.id), displayName: 'ada' },
      grantedScopes: ['read:user'],
    });

    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    const [deletion] = github.seen(`/applications/${github.clientId}/grant`, 'DELETE');
    expect(deletion!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${github.clientId}:${github.clientSecret}`).toString('base64')}`,
    );
    expect(deletion!.json).toEqual({ access_token: accessToken });
    expect(github.grants.liveGrants()).toEqual([]);
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });

  it('refuses a second connection of the same GitHub account in the workspace, naming the first', async () => {
    const first = await connectAs(harness, 'github', 'ada');
    expect(first.snapshot.status).toBe('active');
    const second = await connectAs(harness, 'github', 'ada');
    expect(second.snapshot).toMatchObject({
      status: 'failed',
      reason: 'account_already_connected',
      existingConnectionId: first.connectionId,
    });
    expect(await credentialsOf(harness, second.connectionId)).toEqual([]);
  });

  it('old entry: connects, but a disconnect never deletes the grant: the app stays authorized at GitHub', async () => {
    const live = github.grants.liveGrants().length;
    const { connectionId, snapshot } = await connectAs(harness, 'github-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'active' });
    expect(github.grants.liveGrants()).toHaveLength(live + 1);
    const deletions = github.seen(/^\/applications\//).length;
    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
    expect(github.seen(/^\/applications\//)).toHaveLength(deletions);
    expect(github.grants.liveGrants()).toHaveLength(live + 1);
  });
});

describe('a GitHub-like host with expiring user tokens (a GitHub App)', () => {
  let harness: LifecycleHarness;
  let github: Awaited<ReturnType<typeof startGitHubStandIn>>;
  beforeAll(async () => {
    github = await startGitHubStandIn({ accounts: [ada, grace], expiringUserTokens: true });
    harness = await startConformanceHarness({ github });
  });
  afterAll(async () => {
    await harness?.stop();
    await github?.stop();
  });

  it('keeps the 8-hour token and its refresh token, and each refresh replaces both', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'github', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    const lifetime = snapshot.tokenExpiresAt! - Date.now();
    expect(lifetime).toBeGreaterThan(28_700_000);
    expect(lifetime).toBeLessThanOrEqual(28_800_000);
    const first = await storedTokens(harness, connectionId);
    expect((await harness.commands.refresh(connectionId, 'admin-1')).status).toBe('active');
    expect(github.grants.refreshTokensPresented.at(-1)).toBe(first.refreshToken);
    const second = await storedTokens(harness, connectionId);
    expect(second.refreshToken).toBe(github.grants.refreshTokensIssued.at(-1));
    expect((await harness.commands.refresh(connectionId, 'admin-1')).status).toBe('active');
    expect(github.grants.refreshTokensPresented.at(-1)).toBe(second.refreshToken);
  });

  it('a refresh GitHub refuses with HTTP 200 `{error: "bad_refresh_token"}` expires the connection', async () => {
    const { connectionId } = await connectAs(harness, 'github', 'grace');
    const { refreshToken } = await storedTokens(harness, connectionId);
    // The user revoked the app at GitHub: its refresh token is dead there.
    github.grants.revokeGrantOf(refreshToken!);
    const refused = await harness.commands.refresh(connectionId, 'admin-1');
    expect(refused).toMatchObject({ status: 'expired', reason: 'refresh_rejected' });
    expect(github.grants.refreshTokensPresented.at(-1)).toBe(refreshToken);
  });
});
