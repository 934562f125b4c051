// Refresh scheduling that is safe for any lifetime a provider sends. The policy itself (pure), then the real
// stack: a provider issuing 60-second tokens under the default five-minute margin is not asked in a loop (it
// used to get a token request a second, for ever), by the workflow's timer, by on-demand refreshes or by the
// token route; and a provider whose tokens live too briefly to be kept ahead of expiry is asked once per floor,
// with the connection saying so in its status reason.
import {
  attemptFloorMs,
  dueForRefresh,
  MAX_REFRESH_BACKOFF_MS,
  refreshLeadMs,
  scheduleRefresh,
} from '../../workflows/refresh-policy.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { connectThroughProvider, eventually } from '../support/lifecycle.js';

const timing = { marginMs: 300_000, jitterMs: 0, floorMs: 30_000 };

describe('the refresh policy', () => {
  it('uses the margin, but never more than half the lifetime', () => {
    expect(refreshLeadMs({ obtainedAt: 0, expiresAt: 3_600_000 }, 300_000)).toBe(300_000);
    expect(refreshLeadMs({ obtainedAt: 0, expiresAt: 60_000 }, 300_000)).toBe(30_000);
    expect(refreshLeadMs({ obtainedAt: 0, expiresAt: 0 }, 300_000)).toBe(0);
    // Tokens stored before their time of issue was recorded: the margin, as before.
    expect(refreshLeadMs({ expiresAt: 60_000 }, 300_000)).toBe(300_000);
  });

  it('schedules a 60-second token halfway, and an hour-long one five minutes before expiry', () => {
    const now = 1_000_000;
    expect(
      scheduleRefresh({
        token: { obtainedAt: now, expiresAt: now + 60_000 },
        now,
        timing,
        failuresInARow: 0,
        random: 0,
      }),
    ).toEqual({ at: now + 30_000, keptAhead: true });
    expect(
      scheduleRefresh({
        token: { obtainedAt: now, expiresAt: now + 3_600_000 },
        now,
        timing,
        failuresInARow: 0,
        random: 0,
      }),
    ).toEqual({ at: now + 3_300_000, keptAhead: true });
  });

  it('keeps the floor after the last attempt, and says when that makes the token outlive its refresh', () => {
    const now = 1_000_000;
    // A 10-second token, refreshed a moment ago: the next attempt waits for the floor, after the expiry.
    expect(
      scheduleRefresh({
        token: { obtainedAt: now, expiresAt: now + 10_000 },
        now,
        timing,
        lastAttemptAt: now,
        failuresInARow: 0,
        random: 0,
      }),
    ).toEqual({ at: now + 30_000, keptAhead: false });
    // Overdue because the worker was away, not because of the floor: due now, and not called too short.
    expect(
      scheduleRefresh({
        token: { obtainedAt: now - 3_600_000, expiresAt: now + 60_000 },
        now,
        timing,
        lastAttemptAt: now - 3_600_000,
        failuresInARow: 0,
        random: 0,
      }),
    ).toEqual({ at: now, keptAhead: true });
  });

  it('doubles the floor for each failed attempt in a row, up to an hour', () => {
    expect(attemptFloorMs(30_000, 0)).toBe(30_000);
    expect(attemptFloorMs(30_000, 3)).toBe(240_000);
    expect(attemptFloorMs(30_000, 50)).toBe(MAX_REFRESH_BACKOFF_MS);
    expect(attemptFloorMs(0, 5)).toBe(0);
  });

  it('tells the read path a token is due only within the same lead', () => {
    const token = { obtainedAt: 0, expiresAt: 60_000 };
    expect(dueForRefresh(token, 10_000, 300_000)).toBe(false);
    expect(dueForRefresh(token, 30_000, 300_000)).toBe(true);
    expect(dueForRefresh({}, 0, 300_000)).toBe(false);
  });
});

describe('a provider issuing 60-second tokens, with the default five-minute margin', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApiHarness({
      oidc: { accessTokenTtlSeconds: 60 },
      settings: { refreshMarginMs: 300_000, refreshJitterMs: 0, refreshFloorMs: 30_000 },
    });
  });
  afterAll(async () => api?.stop());

  it('is asked for a refresh halfway through the lifetime, and no sooner by anyone', async () => {
    const before = api.oidc.tokenRequests('refresh_token');
    const { connectionId, snapshot } = await connectThroughProvider(api, (url) => authorizeInBrowser(url));
    expect(snapshot.status).toBe('active');
    // Half the token's lifetime (60 s, or 59 s as the provider counts it) before its expiry: the margin is
    // bounded by the lifetime, so the refresh is not due at once.
    expect(snapshot.tokenExpiresAt! - snapshot.nextRefreshAt!).toBeLessThanOrEqual(30_000);
    expect(snapshot.tokenExpiresAt! - snapshot.nextRefreshAt!).toBeGreaterThanOrEqual(29_000);

    // Twenty agents' reads: the token has most of its minute left, so none of them asks for a refresh.
    const agent = await api.token({ role: 'agent' });
    for (let i = 0; i < 20; i++) {
      const read = await api.call('POST', `/v1/connections/${connectionId}/token`, { token: agent });
      expect(read.status).toBe(200);
      api.addSecret(read.body.accessToken);
    }
    expect(api.oidc.tokenRequests('refresh_token')).toBe(before);

    // Twenty refreshes asked for in a row: the first is made, the others fall within the floor.
    for (let i = 0; i < 20; i++) {
      expect((await api.commands.refresh(connectionId, 'admin-1')).status).toBe('active');
    }
    expect(api.oidc.tokenRequests('refresh_token')).toBe(before + 1);
    const row = await api.db('connections').where({ id: connectionId }).first();
    expect(row.status_reason).toBe('authorized');
  });
});

describe('a provider whose tokens live one second', () => {
  let api: ApiHarness;
  const floorMs = 1_500;
  beforeAll(async () => {
    api = await startApiHarness({
      oidc: { accessTokenTtlSeconds: 1 },
      settings: { refreshMarginMs: 300_000, refreshJitterMs: 0, refreshFloorMs: floorMs },
    });
  });
  afterAll(async () => api?.stop());

  it('is asked again and again, and the connection says its tokens cannot be kept ahead', async () => {
    const before = api.oidc.tokenRequests('refresh_token');
    const { connectionId } = await connectThroughProvider(api, (url) => authorizeInBrowser(url));
    const times = await eventually(
      async () => api.oidc.tokenRequestTimes('refresh_token').slice(before),
      (found) => found.length >= 3,
      { attempts: 200, intervalMs: 50 },
    );
    expect(times.length).toBeGreaterThanOrEqual(3);
    // The spacing itself (never two attempts closer than the floor) is asserted in workflow time, exactly,
    // by test/lifecycle/timers.test.ts ("the refresh floor"); here the real provider keeps being asked.
    const row = await eventually(
      () => api.db('connections').where({ id: connectionId }).first(),
      (found) => found.status_reason === 'token_lifetime_too_short',
    );
    expect(row).toMatchObject({ status: 'active', status_reason: 'token_lifetime_too_short' });
    const notices = await api
      .db('connection_events')
      .where({ connection_id: connectionId, reason: 'token_lifetime_too_short' });
    expect(notices).toHaveLength(1);
  });
});
