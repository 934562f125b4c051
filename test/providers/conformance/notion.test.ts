// The Notion entry against a stand-in that answers as Notion documents: `"refresh_token": null`, the
// workspace and owner in the token answer, revocation with a JSON body, a Notion-Version header and Basic auth.
import { startLifecycleHarness, type LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  loggedFailures,
} from '../../support/conformance/connect.js';
import { startNotionStandIn, type NotionAccount } from '../../support/conformance/notion.js';
import { oldProvider } from '../../support/conformance/old-catalogue.js';

const ada: NotionAccount = {
  login: 'ada',
  userId: '5389a034-eb5c-47b5-8a9e-f79c99ef166c',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  workspace: { id: 'c3e5f7a9-1b2d-4f6e-8a0c-2e4f6a8b0d1f', name: "Ada's Notion" },
};

describe('a Notion-like workspace (null refresh token, JSON revocation)', () => {
  let harness: LifecycleHarness;
  let notion: Awaited<ReturnType<typeof startNotionStandIn>>;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
    notion = await startNotionStandIn({ accounts: [ada] });
    await configureIntegration(harness, 'notion-old', oldProvider('notion', notion.origin), notion);
  });
  afterAll(async () => {
    await harness?.stop();
    await notion?.stop();
  });

  it('old entry: the code exchange refuses the documented `"refresh_token": null`, and the connection is failed', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'notion-old', 'ada');
    expect(notion.seen('/v1/oauth/token', 'POST')).toHaveLength(1);
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'exchange_failed' });
    // oauth4webapi refuses a refresh_token that is present but not a string.
    expect(loggedFailures(harness)).toContain(
      'code exchange: unexpected provider response (oauth_invalid_response)',
    );
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});
