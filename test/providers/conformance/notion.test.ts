// The Notion entry against a stand-in that answers as Notion documents: `"refresh_token": null` where a
// connection has none (and a refresh token that each refresh replaces where it has one), the workspace and its
// owner in the token answer, revocation with a JSON body, a Notion-Version header and Basic client auth.
import type { LifecycleHarness } from '../../support/lifecycle.js';
import {
  configureIntegration,
  connectAs,
  credentialsOf,
  shown,
  startConformanceHarness,
  storedTokens,
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
    notion = await startNotionStandIn({ accounts: [ada] });
    harness = await startConformanceHarness({ notion });
    await configureIntegration(harness, 'notion-old', oldProvider('notion', notion.origin), notion);
  });
  afterAll(async () => {
    await harness?.stop();
    await notion?.stop();
  });

  it('connects with `"refresh_token": null` as no refresh token, the workspace and its owner shown', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectAs(harness, 'notion', 'ada');
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('owner')).toBe('user');
    expect(url.searchParams.get('code_challenge')).toBeNull();
    const [exchange] = notion.seen('/v1/oauth/token', 'POST');
    expect(String(exchange!.headers.authorization)).toMatch(/^Basic /);
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: false });
    expect(snapshot.tokenExpiresAt).toBeUndefined();
    expect(snapshot.nextRefreshAt).toBeUndefined();
    expect(await shown(harness, connectionId)).toMatchObject({
      account: { id: `${ada.workspace.id}/${ada.userId}`, displayName: "Ada's Notion" },
      providerData: { workspace_id: ada.workspace.id, workspace_name: "Ada's Notion" },
    });

    // Disconnect: the documented revocation, with everything Notion requires of it.
    const { accessToken } = await storedTokens(harness, connectionId);
    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    const [revoke] = notion.seen('/v1/oauth/revoke', 'POST');
    expect(revoke!.headers['content-type']).toMatch(/^application\/json/);
    expect(revoke!.json).toEqual({ token: accessToken });
    expect(revoke!.headers['notion-version']).toBe('2025-09-03');
    expect(String(revoke!.headers.authorization)).toBe(
      `Basic ${Buffer.from(`${notion.clientId}:${notion.clientSecret}`).toString('base64')}`,
    );
    expect(notion.grants.liveGrants()).toEqual([]);
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });

  // The old entry's null refresh token is no longer refused: the runtime reads every token answer with nulls
  // as absent. What still breaks is its RFC 7009 revocation, which Notion refuses.
  it('old entry: connects, but its RFC 7009 revocation is refused (no Notion-Version, no JSON): the grant stays', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'notion-old', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: false });
    const { accessToken } = await storedTokens(harness, connectionId);
    const revocations = notion.seen('/v1/oauth/revoke', 'POST').length;
    expect((await harness.commands.disconnect(connectionId, 'admin-1')).status).toBe('disconnected');
    const sent = notion.seen('/v1/oauth/revoke', 'POST').slice(revocations);
    expect(sent.map((request) => [request.form?.token, request.headers['notion-version']])).toEqual([
      [accessToken, undefined],
    ]);
    expect(harness.logLines.some((line) => line.includes('revocation at the provider failed'))).toBe(true);
    expect(notion.grants.accessGrant(`Bearer ${accessToken}`)).toBeDefined();
    expect(await credentialsOf(harness, connectionId)).toEqual([]);
  });
});

describe('a Notion-like workspace that issues refresh tokens', () => {
  let harness: LifecycleHarness;
  let notion: Awaited<ReturnType<typeof startNotionStandIn>>;
  beforeAll(async () => {
    notion = await startNotionStandIn({ accounts: [ada], refreshTokens: true });
    harness = await startConformanceHarness({ notion });
  });
  afterAll(async () => {
    await harness?.stop();
    await notion?.stop();
  });

  it('refreshes with the latest refresh token, each answer replacing it', async () => {
    const { connectionId, snapshot } = await connectAs(harness, 'notion', 'ada');
    expect(snapshot).toMatchObject({ status: 'active', hasRefreshToken: true });
    const first = await storedTokens(harness, connectionId);
    expect((await harness.commands.refresh(connectionId, 'admin-1')).status).toBe('active');
    expect(notion.grants.refreshTokensPresented.at(-1)).toBe(first.refreshToken);
    const second = await storedTokens(harness, connectionId);
    expect(second.refreshToken).toBe(notion.grants.refreshTokensIssued.at(-1));
    expect(second.accessToken).not.toBe(first.accessToken);
    expect((await shown(harness, connectionId)).account?.id).toBe(`${ada.workspace.id}/${ada.userId}`);
  });
});
