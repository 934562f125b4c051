// The connect session store and the browser binding of OAuth states, on real Postgres: a session is bound to
// the first browser only, spent once, found by its token (never stored), created once per notice; a state is
// bound only while unused and unexpired. And the link helpers: token shapes, derived tokens, URLs, CSRF.
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { checkCsrf, csrfToken, hashBrowserId } from '../../connect/browser-binding.js';
import {
  connectTokenSchema,
  connectUrl,
  derivedConnectToken,
  hashConnectToken,
  newConnectToken,
} from '../../connect/connect-links.js';
import { connectSessionStore, type NewConnectSession } from '../../connect/connect-session-store.js';
import { ConnectSessions } from '../../connect/connect-sessions.js';
import { hashState, oauthStateStore } from '../../connections/oauth-state-store.js';
import { migrateToLatest } from '../../db/database.js';
import { defaultCatalogue } from '../../integrations/connection-provider.js';
import { createTestDatabase } from '../support/env.js';

describe('connect links', () => {
  it('are 43 base64url characters, random or derived, hashed with SHA-256', () => {
    const token = newConnectToken();
    expect(connectTokenSchema.safeParse(token).success).toBe(true);
    expect(newConnectToken()).not.toBe(token);
    expect(hashConnectToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
    const derived = derivedConnectToken('webhook-secret', 'notice-1');
    expect(connectTokenSchema.safeParse(derived).success).toBe(true);
    expect(derivedConnectToken('webhook-secret', 'notice-1')).toBe(derived);
    expect(derivedConnectToken('webhook-secret', 'notice-2')).not.toBe(derived);
    expect(derivedConnectToken('another-secret', 'notice-1')).not.toBe(derived);
    for (const bad of ['', token.slice(1), `${token}a`, `${token.slice(1)}+`, `${token.slice(1)}=`]) {
      expect(connectTokenSchema.safeParse(bad).success).toBe(false);
    }
    expect(connectUrl('https://connect.example/', token)).toBe(`https://connect.example/connect/${token}`);
    expect(connectUrl('https://connect.example/base', token)).toBe(
      `https://connect.example/base/connect/${token}`,
    );
  });

  it('key CSRF tokens to the browser and the session', () => {
    const browser = newConnectToken();
    const token = csrfToken(browser, 'session-1');
    expect(checkCsrf(browser, 'session-1', token)).toBe(true);
    expect(checkCsrf(browser, 'session-2', token)).toBe(false);
    expect(checkCsrf(newConnectToken(), 'session-1', token)).toBe(false);
    expect(checkCsrf(browser, 'session-1', token.slice(1))).toBe(false);
    expect(checkCsrf(browser, 'session-1', '')).toBe(false);
    expect(hashBrowserId(browser)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('connect session store', () => {
  let db: Knex;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase());
    await migrateToLatest(db);
  });
  afterAll(async () => drop?.());

  const session = (overrides: Partial<NewConnectSession> = {}): NewConnectSession => ({
    tokenHash: hashConnectToken(newConnectToken()),
    workspaceId: 'ws-1',
    userId: 'member-1',
    scope: 'user',
    integrations: ['github'],
    connectionId: null,
    params: null,
    reason: { agentId: 'agent-1' },
    returnTo: null,
    createdBy: 'agent-1',
    expiresAt: new Date(Date.now() + 60_000),
    ...overrides,
  });

  it('finds a session by its token, and by nothing else', async () => {
    const token = newConnectToken();
    const created = await connectSessionStore.insert(db, session({ tokenHash: hashConnectToken(token) }));
    expect(created).toMatchObject({ userId: 'member-1', browserHash: null, spentAt: null });
    expect(await connectSessionStore.findByToken(db, token)).toEqual(created);
    expect(await connectSessionStore.findByToken(db, hashConnectToken(token))).toBeUndefined();
    expect(await connectSessionStore.findByToken(db, newConnectToken())).toBeUndefined();
    expect(await connectSessionStore.get(db, created.id)).toEqual(created);
    expect(await connectSessionStore.get(db, randomUUID())).toBeUndefined();
  });

  it('refuses a user link without its user and a link without integrations', async () => {
    await expect(connectSessionStore.insert(db, session({ userId: null }))).rejects.toThrow(/check/);
    await expect(connectSessionStore.insert(db, session({ integrations: [] }))).rejects.toThrow(/check/);
  });

  it('binds a session to the first browser only, even when two bind at once', async () => {
    const { id } = await connectSessionStore.insert(db, session());
    const [first, second] = [hashBrowserId('browser-a'), hashBrowserId('browser-b')];
    const raced = await Promise.all([
      connectSessionStore.bindBrowser(db, id, first),
      connectSessionStore.bindBrowser(db, id, second),
    ]);
    expect([...raced].sort()).toEqual(['bound', 'other']);
    const holder = raced[0] === 'bound' ? first : second;
    const other = holder === first ? second : first;
    expect(await connectSessionStore.bindBrowser(db, id, holder)).toBe('same');
    expect(await connectSessionStore.bindBrowser(db, id, other)).toBe('other');
    expect((await connectSessionStore.get(db, id))!.browserHash).toBe(holder);
  });

  it('is spent once, by the first connection it resulted in', async () => {
    const { id } = await connectSessionStore.insert(db, session());
    const [first, second] = [randomUUID(), randomUUID()];
    await connectSessionStore.spend(db, id, first);
    await connectSessionStore.spend(db, id, second);
    const spent = await connectSessionStore.get(db, id);
    expect(spent!.resultConnectionId).toBe(first);
    expect(spent!.spentAt).toBeInstanceOf(Date);
  });

  it('creates a notice link once, and mints the same URL for every delivery', async () => {
    const sessions = new ConnectSessions({
      db,
      publicUrl: 'https://connect.example',
      returnToOrigins: [],
      defaultTtlMs: 1_800_000,
      maxTtlMs: 86_400_000,
      catalogue: defaultCatalogue,
    });
    const target = {
      workspaceId: 'ws-1',
      connectionId: randomUUID(),
      integration: 'github',
      scope: 'user' as const,
      userId: 'member-1',
    };
    const first = await sessions.mintForNotice('webhook-secret-0123456789', target, 'notice-7');
    const again = await sessions.mintForNotice('webhook-secret-0123456789', target, 'notice-7');
    expect(again).toEqual(first);
    expect(first.url).toMatch(/^https:\/\/connect\.example\/connect\/[A-Za-z0-9_-]{43}$/);
    const token = first.url.slice(first.url.lastIndexOf('/') + 1);
    const stored = await connectSessionStore.findByToken(db, token);
    expect(stored).toMatchObject({ connectionId: target.connectionId, userId: 'member-1', scope: 'user' });
    expect(await db('connect_sessions').where({ notice_key: 'notice-7' }).count({ n: '*' }).first()).toEqual({
      n: '1',
    });
    const other = await sessions.mintForNotice('webhook-secret-0123456789', target, 'notice-8');
    expect(other.url).not.toBe(first.url);
  });

  it('purges sessions expired before the given time, in bounded batches', async () => {
    const old = new Date(Date.now() - 3 * 86_400_000);
    const stale = await Promise.all(
      [1, 2, 3].map(() => connectSessionStore.insert(db, session({ expiresAt: old }))),
    );
    const live = await connectSessionStore.insert(db, session());
    const cutoff = new Date(Date.now() - 86_400_000);
    expect(await connectSessionStore.purgeExpired(db, cutoff, 2)).toBe(2);
    expect(await connectSessionStore.purgeExpired(db, cutoff, 2)).toBe(1);
    expect(await connectSessionStore.purgeExpired(db, cutoff, 2)).toBe(0);
    for (const { id } of stale) expect(await connectSessionStore.get(db, id)).toBeUndefined();
    expect(await connectSessionStore.get(db, live.id)).toBeDefined();
  });

  describe('oauth state binding', () => {
    async function state(options: { expiresAt?: Date; used?: boolean } = {}) {
      const connectionId = randomUUID();
      await db('connections').insert({
        id: connectionId,
        workspace_id: 'ws-1',
        integration: 'github',
        scope: 'workspace',
        auth_type: 'oauth2',
        status: 'pending',
        created_by: 'admin-1',
      });
      const value = newConnectToken();
      await oauthStateStore.insert(db, {
        state: value,
        connectionId,
        workspaceId: 'ws-1',
        setupId: 'setup-1',
        issuer: 'https://issuer.example',
        redirectUri: 'https://connect.example/v1/oauth/callback',
        scopes: ['repo'],
        sealedVerifier: { v: 1 } as never,
        expiresAt: options.expiresAt ?? new Date(Date.now() + 60_000),
      });
      if (options.used)
        await db('oauth_states')
          .where({ state_hash: hashState(value) })
          .update({ used_at: new Date() });
      return value;
    }

    it('binds an unused state to the first browser and its connect session', async () => {
      const value = await state();
      const { id: sessionId } = await connectSessionStore.insert(db, session());
      const browser = hashBrowserId('browser-a');
      expect(
        await oauthStateStore.bindBrowser(db, value, { browserHash: browser, connectSessionId: sessionId }),
      ).toBe('bound');
      expect(await oauthStateStore.bindBrowser(db, value, { browserHash: browser })).toBe('same');
      expect(await oauthStateStore.bindBrowser(db, value, { browserHash: hashBrowserId('browser-b') })).toBe(
        'other',
      );
      expect(await oauthStateStore.find(db, value)).toMatchObject({
        browser_hash: browser,
        connect_session_id: sessionId,
        authorization_url_box: null,
      });
    });

    it('answers gone for a used, expired or unknown state, and changes nothing', async () => {
      const used = await state({ used: true });
      const expired = await state({ expiresAt: new Date(Date.now() - 1_000) });
      for (const value of [used, expired, newConnectToken()]) {
        expect(
          await oauthStateStore.bindBrowser(db, value, { browserHash: hashBrowserId('browser-a') }),
        ).toBe('gone');
      }
      expect((await oauthStateStore.find(db, used))!.browser_hash).toBeNull();
      expect((await oauthStateStore.find(db, expired))!.browser_hash).toBeNull();
    });
  });
});
