// The GitHub entry against a stand-in that answers as GitHub documents OAuth apps: JSON token answers when
// asked for, comma-separated scopes, the grant deleted with DELETE /applications/{client_id}/grant and Basic
// client authentication, the account from GET /user.
import { startLifecycleHarness, type LifecycleHarness } from '../../support/lifecycle.js';
import { configureIntegration, connectAs, credentialsOf } from '../../support/conformance/connect.js';
import { startGitHubStandIn, type GitHubAccount } from '../../support/conformance/github.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';

const ada: GitHubAccount = { login: 'ada', id: 583231, name: 'Ada Lovelace' };

describe('a GitHub-like OAuth app host (grant deletion)', () => {
  let harness: LifecycleHarness;
  let github: Awaited<ReturnType<typeof startGitHubStandIn>>;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
    github = await startGitHubStandIn({ accounts: [ada] });
    await configureIntegration(harness, 'github-old', oldProvider('github', github.origin), github);
  });
  afterAll(async () => {
    await harness?.stop();
    await github?.stop();
  });

  it('old entry: connects, but a disconnect never deletes the grant: the app stays authorized at GitHub', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'github-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'active' });
    expect(github.grants.liveGrants()).toHaveLength(1);
    const disconnected = await harness.commands.disconnect(connectionId, 'admin-1');
    expect(disconnected.status).toBe('disconnected');
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
    expect(github.seen(/^\/applications\//)).toEqual([]);
    expect(github.grants.liveGrants()).toHaveLength(1);
  });
});
