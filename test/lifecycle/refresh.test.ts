// Refresh against a real authorization server with short token lifetimes: before expiry, one token request
// per cycle (with and without refresh-token rotation), coalesced on-demand refreshes, and the provider's
// failures classified: invalid_grant expires at once; a 503 (injected deliberately) is retried.
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  connectThroughProvider,
  eventually,
  startLifecycleHarness,
  type LifecycleHarness,
  callbackParams,
} from '../support/lifecycle.js';

describe.each([
  ['with refresh-token rotation', true],
  ['without refresh-token rotation', false],
])('scheduled refresh %s', (_label, rotateRefreshTokens) => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness({ oidc: { rotateRefreshTokens, accessTokenTtlSeconds: 3 } });
  });
  afterAll(async () => harness?.stop());

  it('refreshes before every expiry, with exactly one token request per cycle', async () => {
    const { connectionId, snapshot } = await connectThroughProvider(harness, (url) =>
      authorizeInBrowser(url),
    );
    expect(snapshot.status).toBe('active');
    const requestsAtEachRefresh: number[] = [];
    let expiry = snapshot.tokenExpiresAt!;
    const start = harness.oidc.tokenRequests('refresh_token');
    while (requestsAtEachRefresh.length < 4) {
      const now = await eventually(
        () => harness.snapshot(connectionId),
        (s) => s.tokenExpiresAt !== expiry || s.status !== 'active',
        { attempts: 100, intervalMs: 50 },
      );
      expect(now.status).toBe('active');
      expect(now.tokenExpiresAt).toBeGreaterThan(expiry);
      expiry = now.tokenExpiresAt!;
      requestsAtEachRefresh.push(harness.oidc.tokenRequests('refresh_token') - start);
    }
    expect(requestsAtEachRefresh).toEqual([1, 2, 3, 4]);
    // Scheduled ahead of expiry, as the read model shows.
    const row = await harness.db('connections').where({ id: connectionId }).first();
    expect(row.next_refresh_at.getTime()).toBeLessThan(row.token_expires_at.getTime());
    const events = await harness.db('connection_events').where({ connection_id: connectionId });
    expect(events.map((e) => e.to_status)).toEqual(['pending', 'active']);
  });
});

describe('refresh on demand and provider failures', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
  });
  afterAll(async () => harness?.stop());

  it('answers twenty concurrent refresh requests with one token request', async () => {
    const commands = harness.commands;
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url), {
      commands,
    });
    const before = harness.oidc.tokenRequests('refresh_token');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => commands.refresh(connectionId, 'admin-1')),
    );
    expect(results.every((r) => r.status === 'active')).toBe(true);
    expect(harness.oidc.tokenRequests('refresh_token') - before).toBe(1);
  });

  it('expires at once on invalid_grant, and re-authorization brings the same connection back', async () => {
    const commands = harness.commands;
    const { connectionId } = await connectThroughProvider(
      harness,
      (url) => authorizeInBrowser(url, { login: 'grant-owner' }),
      { commands },
    );
    await harness.oidc.revokeGrant('grant-owner');
    const before = harness.oidc.tokenRequests('refresh_token');
    const refreshed = await commands.refresh(connectionId, 'admin-1');
    expect(refreshed).toMatchObject({ status: 'expired', reason: 'refresh_rejected' });
    expect(harness.oidc.tokenRequests('refresh_token') - before).toBe(1);
    const row = await harness.db('connections').where({ id: connectionId }).first();
    expect(row).toMatchObject({ status: 'expired', status_reason: 'refresh_rejected' });

    const { authorizationUrl } = await commands.reauthorize(connectionId, { actor: 'admin-1' });
    const callback = await authorizeInBrowser(authorizationUrl, { login: 'grant-owner' });
    const done = await commands.completeCallback(callbackParams(callback));
    expect(done).toMatchObject({ connectionId, snapshot: { status: 'active', reason: 'reauthorized' } });
    const events = await harness
      .db('connection_events')
      .where({ connection_id: connectionId })
      .orderBy('sequence');
    expect(events.map((e) => [e.from_status, e.to_status, e.reason])).toEqual([
      [null, 'pending', 'setup_started'],
      ['pending', 'active', 'authorized'],
      ['active', 'expired', 'refresh_rejected'],
      ['expired', 'active', 'reauthorized'],
    ]);
    expect(await harness.db('credentials').where({ connection_id: connectionId })).toHaveLength(1);
  });

  it('retries a provider 503 (injected) and stays active', async () => {
    const commands = harness.commands;
    const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url), {
      commands,
    });
    const before = harness.oidc.tokenRequests('refresh_token');
    harness.oidc.injectFault({ endpoint: 'token', status: 503, times: 2 });
    const refreshed = await commands.refresh(connectionId, 'admin-1');
    expect(refreshed.status).toBe('active');
    expect(harness.oidc.tokenRequests('refresh_token') - before).toBe(3);
    const events = await harness.db('connection_events').where({ connection_id: connectionId });
    expect(events.map((e) => e.to_status)).toEqual(['pending', 'active']);
  });
});

describe('a provider that stays down', () => {
  let harness: LifecycleHarness;
  beforeAll(async () => {
    harness = await startLifecycleHarness({ oidc: { accessTokenTtlSeconds: 4 } });
  });
  afterAll(async () => harness?.stop());

  it('expires the connection only once its access token has run out (503s injected)', async () => {
    const { connectionId, snapshot } = await connectThroughProvider(harness, (url) =>
      authorizeInBrowser(url),
    );
    harness.oidc.injectFault({ endpoint: 'token', status: 503, times: 1_000 });
    const ended = await eventually(
      () => harness.snapshot(connectionId),
      (s) => s.status !== 'active',
      { attempts: 300, intervalMs: 100 },
    );
    expect(ended).toMatchObject({ status: 'expired', reason: 'refresh_failed_until_expiry' });
    const expiredAt = await harness
      .db('connection_events')
      .where({ connection_id: connectionId, to_status: 'expired' })
      .first();
    expect(expiredAt.occurred_at.getTime()).toBeGreaterThanOrEqual(snapshot.tokenExpiresAt! - 1_000);
    expect(harness.oidc.tokenRequests('refresh_token')).toBeGreaterThan(1);
  });
});
