// OAuth setup against a real authorization server: the full authorization-code flow with PKCE, and every
// way a callback can be wrong (denied, replayed, foreign state, wrong issuer), each of which must change
// nothing but what it is allowed to.
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { asAnswered } from '../support/http.js';
import {
  connectThroughProvider,
  startLifecycleHarness,
  type LifecycleHarness,
  callbackParams,
} from '../support/lifecycle.js';

describe('OAuth setup', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
  });
  afterAll(async () => {
    await harness?.stop();
  });

  const events = (connectionId: string) =>
    harness
      .db('connection_events')
      .where({ connection_id: connectionId })
      .orderBy('sequence')
      .select('from_status', 'to_status', 'reason', 'actor');

  it('reaches active through the authorization-code flow with PKCE, storing only ciphertext', async () => {
    const { connectionId, authorizationUrl, snapshot } = await connectThroughProvider(harness, (url) =>
      authorizeInBrowser(url),
    );
    const url = new URL(authorizationUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:9/v1/oauth/callback');
    expect(snapshot.status).toBe('active');
    expect(snapshot.hasRefreshToken).toBe(true);
    expect(snapshot.tokenExpiresAt).toBeGreaterThan(Date.now());

    const row = await harness.db('connections').where({ id: connectionId }).first();
    expect(row).toMatchObject({
      status: 'active',
      status_reason: 'authorized',
      workspace_id: harness.workspaceId,
    });
    expect(await events(connectionId)).toEqual([
      { from_status: null, to_status: 'pending', reason: 'setup_started', actor: 'admin-1' },
      { from_status: 'pending', to_status: 'active', reason: 'authorized', actor: 'provider' },
    ]);
    const credentials = await harness.db('credentials').where({ connection_id: connectionId });
    expect(credentials.map((c) => c.purpose)).toEqual(['oauth_tokens']);
    const tokens = JSON.parse(
      await harness.vault.openText(
        { workspace: harness.workspaceId, connection: connectionId, purpose: 'oauth_tokens' },
        credentials[0].envelope,
      ),
    );
    expect(JSON.stringify(credentials[0].envelope)).not.toContain(tokens.accessToken);
    expect(harness.oidc.tokenRequests('authorization_code')).toBeGreaterThanOrEqual(1);

    // The authorization state is spent and its verifier destroyed.
    const states = await harness.db('oauth_states').where({ connection_id: connectionId });
    expect(states).toHaveLength(1);
    expect(states[0].used_at).not.toBeNull();
    expect(states[0].verifier_envelope).toBeNull();
  });

  it('fails the connection with access_denied when the user refuses', async () => {
    const { connectionId, snapshot } = await connectThroughProvider(harness, (url) =>
      authorizeInBrowser(url, { deny: true }),
    );
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'access_denied' });
    expect(await harness.db('credentials').where({ connection_id: connectionId })).toEqual([]);
  });

  it('refuses a replayed callback and changes nothing', async () => {
    const { connectionId, callback } = await connectThroughProvider(harness, (url) =>
      authorizeInBrowser(url),
    );
    const before = await events(connectionId);
    const requests = harness.oidc.tokenRequests();
    await expect(
      asAnswered(harness.commands.completeCallback(callbackParams(callback))),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await events(connectionId)).toEqual(before);
    expect(harness.oidc.tokenRequests()).toBe(requests);
    expect((await harness.snapshot(connectionId)).status).toBe('active');
  });

  it("refuses another connection's state with this connection's code, and a wrong iss, changing nothing", async () => {
    const first = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const second = await harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: 'workspace',
      actor: 'admin-1',
    });
    const firstCallback = await authorizeInBrowser(first.authorizationUrl);
    const secondCallback = await authorizeInBrowser(second.authorizationUrl);

    // The code of the first flow presented with the second connection's state.
    await expect(
      asAnswered(
        harness.commands.completeCallback({
          state: secondCallback.searchParams.get('state')!,
          code: firstCallback.searchParams.get('code')!,
          iss: firstCallback.searchParams.get('iss')!,
        }),
      ),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    // A wrong issuer.
    await expect(
      asAnswered(
        harness.commands.completeCallback({
          state: firstCallback.searchParams.get('state')!,
          code: firstCallback.searchParams.get('code')!,
          iss: 'https://evil.example',
        }),
      ),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    // An unknown state.
    await expect(
      asAnswered(
        harness.commands.completeCallback({ state: 'made-up-state', code: 'x', iss: harness.oidc.issuer }),
      ),
    ).rejects.toMatchObject({ code: 'invalid_request' });

    for (const id of [first.connectionId, second.connectionId]) {
      expect((await harness.snapshot(id)).status).toBe('pending');
      expect((await events(id)).map((e) => e.to_status)).toEqual(['pending']);
    }

    // Both flows still complete with their own callbacks afterwards.
    for (const callback of [firstCallback, secondCallback]) {
      const done = await harness.commands.completeCallback(callbackParams(callback));
      expect(done.snapshot.status).toBe('active');
    }
  });
});

describe('OAuth setup that cannot start', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
  });
  afterAll(async () => harness?.stop());

  it('refuses an integration that is not configured, creating nothing', async () => {
    await expect(
      asAnswered(
        harness.commands.createOAuth({
          workspaceId: harness.workspaceId,
          integration: 'not-configured',
          scope: 'workspace',
          actor: 'admin-1',
        }),
      ),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await harness.db('connections').where({ workspace_id: harness.workspaceId })).toEqual([]);
  });

  it('fails the connection, never leaving it pending, when the integration disappears before setup', async () => {
    await harness.db('integrations').where({ workspace_id: harness.workspaceId }).update({ client_id: null });
    // Bypass the commands' own check, as a concurrent change of configuration would.
    const commands = harness.commands as unknown as { creation: { requireIntegration: () => Promise<void> } };
    commands.creation.requireIntegration = async () => {};
    await expect(
      asAnswered(
        harness.commands.createOAuth({
          workspaceId: harness.workspaceId,
          integration: harness.integration,
          scope: 'workspace',
          actor: 'admin-1',
        }),
      ),
    ).rejects.toMatchObject({ code: 'conflict' });
    const rows = await harness.db('connections').where({ workspace_id: harness.workspaceId });
    expect(rows.map((row) => [row.status, row.status_reason])).toEqual([['failed', 'setup_failed']]);
  });
});
