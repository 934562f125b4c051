// The Slack entries against a stand-in that answers as Slack documents OAuth v2: `token_type: "bot"`, the
// user's token under `authed_user`, every failure as HTTP 200 `{ok: false}`, auth.revoke reporting in its body.
import { startLifecycleHarness, type LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  loggedFailures,
} from '../../support/conformance/connect.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';
import { startSlackStandIn, type SlackAccount } from '../../support/conformance/slack.js';

const ada: SlackAccount = {
  login: 'ada',
  userId: 'U0G9QF9C6',
  userName: 'ada',
  team: { id: 'T9TK3CUKW', name: 'Analytical Engines' },
  botUserId: 'U0KRQLJ9H',
};

describe('a Slack-like workspace (bot tokens, authed_user, ok: false)', () => {
  let harness: LifecycleHarness;
  let slack: Awaited<ReturnType<typeof startSlackStandIn>>;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
    slack = await startSlackStandIn({ accounts: [ada] });
    await configureIntegration(harness, 'slack-old', oldProvider('slack', slack.origin), slack);
  });
  afterAll(async () => {
    await harness?.stop();
    await slack?.stop();
  });

  it('old entry: the code exchange refuses the documented `token_type: "bot"`, and the connection is failed', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'slack-old', 'ada');
    expect(slack.seen('/api/oauth.v2.access', 'POST')).toHaveLength(1);
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'exchange_failed' });
    // oauth4webapi refuses a token type other than bearer or DPoP.
    expect(loggedFailures(harness)).toContain(
      'code exchange: unexpected provider response (oauth_unsupported_operation)',
    );
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});
