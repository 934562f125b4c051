// The console's session store on real Postgres: a session is found by its cookie's hash, of its own kind,
// only while unexpired; a sign-in token is spent once, even by two requests at the same time; expired rows
// are purged in bounded batches, spent sign-ins only once their tokens have expired. And the cookie helpers.
import { createHash, createHmac } from 'node:crypto';
import type { Knex } from 'knex';
import { consoleCookieName, consoleCsrf, hashSessionCookie } from '../../console/console-auth.js';
import { consoleSessionStore } from '../../console/console-session-store.js';
import { signInTokenHash } from '../../console/sign-in-links.js';
import { migrateToLatest } from '../../db/database.js';
import { createTestDatabase } from '../support/env.js';

describe('the console session store', () => {
  let db: Knex;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await createTestDatabase());
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await drop?.();
  });

  const inAMinute = () => new Date(Date.now() + 60_000);

  it('finds a session by its hash, of its kind, while unexpired', async () => {
    await consoleSessionStore.insert(db, {
      idHash: 'h-workspace',
      kind: 'workspace',
      workspaceId: 'w1',
      sub: 'u1',
      role: 'member',
      expiresAt: inAMinute(),
    });
    await consoleSessionStore.insert(db, {
      idHash: 'h-operator',
      kind: 'operator',
      workspaceId: null,
      sub: 'ops',
      role: 'operator',
      expiresAt: inAMinute(),
    });
    expect(await consoleSessionStore.find(db, 'h-workspace', 'workspace')).toMatchObject({
      workspaceId: 'w1',
      sub: 'u1',
      role: 'member',
    });
    expect(await consoleSessionStore.find(db, 'h-workspace', 'operator')).toBeUndefined();
    expect(await consoleSessionStore.find(db, 'h-operator', 'workspace')).toBeUndefined();
    expect(await consoleSessionStore.find(db, 'h-operator', 'operator')).toMatchObject({ sub: 'ops' });
    expect(
      await consoleSessionStore.find(db, 'h-workspace', 'workspace', new Date(Date.now() + 120_000)),
    ).toBeUndefined();
    await consoleSessionStore.delete(db, 'h-workspace');
    expect(await consoleSessionStore.find(db, 'h-workspace', 'workspace')).toBeUndefined();
  });

  it('refuses an operator session in a workspace, and a session for an agent', async () => {
    const base = { sub: 'u', expiresAt: inAMinute() };
    await expect(
      consoleSessionStore.insert(db, {
        ...base,
        idHash: 'x1',
        kind: 'operator',
        workspaceId: 'w1',
        role: 'operator',
      }),
    ).rejects.toThrow(/console_sessions_kind/);
    await expect(
      consoleSessionStore.insert(db, {
        ...base,
        idHash: 'x2',
        kind: 'workspace',
        workspaceId: 'w1',
        role: 'agent',
      }),
    ).rejects.toThrow(/console_sessions_kind/);
  });

  it('spends a sign-in token once, even when two requests race', async () => {
    const hash = signInTokenHash('issuer', 'jti-1');
    const results = await Promise.all([
      consoleSessionStore.spendSignIn(db, hash, inAMinute()),
      consoleSessionStore.spendSignIn(db, hash, inAMinute()),
    ]);
    expect(results.sort()).toEqual(['spent', 'used']);
    expect(await consoleSessionStore.isSignInSpent(db, hash)).toBe(true);
    expect(await consoleSessionStore.isSignInSpent(db, signInTokenHash('issuer', 'jti-2'))).toBe(false);
    // The same jti from another issuer is another token.
    expect(await consoleSessionStore.spendSignIn(db, signInTokenHash('other', 'jti-1'), inAMinute())).toBe(
      'spent',
    );
  });

  it('purges expired rows in bounded batches', async () => {
    const past = new Date(Date.now() - 60_000);
    for (const n of [1, 2, 3]) {
      await consoleSessionStore.insert(db, {
        idHash: `old-${n}`,
        kind: 'workspace',
        workspaceId: 'w1',
        sub: 'u1',
        role: 'admin',
        expiresAt: past,
      });
      await consoleSessionStore.spendSignIn(db, `old-sign-in-${n}`, past);
    }
    const now = new Date();
    expect(await consoleSessionStore.purgeExpired(db, now, 2)).toEqual({ sessions: 2, signIns: 2 });
    expect(await consoleSessionStore.purgeExpired(db, now, 2)).toEqual({ sessions: 1, signIns: 1 });
    expect(await consoleSessionStore.purgeExpired(db, now, 2)).toEqual({ sessions: 0, signIns: 0 });
    expect(await consoleSessionStore.find(db, 'h-operator', 'operator')).toBeDefined();
    expect(await consoleSessionStore.isSignInSpent(db, signInTokenHash('issuer', 'jti-1'))).toBe(true);
  });
});

describe('console cookies', () => {
  it('are named per kind, __Host- prefixed on https; hashed with SHA-256; their CSRF token derived', () => {
    expect(consoleCookieName('workspace', 'http://127.0.0.1:3000')).toBe('connections_console');
    expect(consoleCookieName('operator', 'http://127.0.0.1:3000')).toBe('connections_operator');
    expect(consoleCookieName('workspace', 'https://connections.example')).toBe('__Host-connections_console');
    expect(consoleCookieName('operator', 'https://connections.example')).toBe('__Host-connections_operator');
    expect(hashSessionCookie('v')).toBe(createHash('sha256').update('v').digest('hex'));
    expect(consoleCsrf('v')).toBe(createHmac('sha256', 'v').update('console-csrf').digest('base64url'));
    expect(consoleCsrf('w')).not.toBe(consoleCsrf('v'));
  });
});
