// The console's sign-in over HTTP, as a browser without JavaScript uses it (fetch with a cookie jar; the
// Chromium tests are test/console/*.browser.test.ts): a link's page names who it signs in and spends
// nothing; its form opens a session cookie once; bad links, a form without its CSRF token, expired and ended
// sessions get their pages; operators and workspace people have sessions of their own; and no sign-in token
// or session cookie reaches a log line.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createTokenChecker } from '../../api/auth.js';
import { createOperatorVerifier } from '../../api/operator-auth.js';
import { OPERATOR_AUDIENCE } from '../../config/config.js';
import { consoleSessionStore } from '../../console/console-session-store.js';
import { hashSessionCookie } from '../../console/console-auth.js';
import { createSignInVerifier, signInUrl } from '../../console/sign-in-links.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';
import {
  consoleSignInUrl,
  CookieJar,
  operatorSignInUrl,
  signedInConsole,
  signInFields,
  signInWith,
} from '../support/console.js';

const h1 = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];

async function open(jar: CookieJar, url: string, form?: Record<string, string>) {
  const response = await fetch(url, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: {
      ...jar.header(),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form) : undefined,
  });
  jar.keep(response);
  return {
    status: response.status,
    html: await response.text(),
    headers: response.headers,
    location: response.headers.get('location'),
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('console sign-in', () => {
  let api: ApiHarness;
  /** Every token and cookie value of this file: none may be in a log line, nor in a page but its form. */
  const secrets: string[] = [];
  const secret = (value: string) => {
    secrets.push(value);
    api.addSecret(value);
    return value;
  };
  /** A workspace token signed with the harness's secret, as a platform might send it (its claims as given). */
  const workspaceToken = (claims: JWTPayload, key: Uint8Array = api.secrets.jwt) =>
    new SignJWT({
      workspace: api.workspaceId,
      role: 'admin',
      sub: 'admin-9',
      jti: randomUUID(),
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(key)
      .then(secret);
  const operatorToken = (claims: JWTPayload) =>
    new SignJWT({
      role: 'operator',
      sub: 'ops-9',
      aud: OPERATOR_AUDIENCE,
      jti: randomUUID(),
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'operator+jwt' })
      .sign(api.secrets.operator)
      .then(secret);

  beforeAll(async () => {
    api = await startApiHarness();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('opens a session from a link once: the page spends nothing, the form sets the cookie', async () => {
    const url = await consoleSignInUrl(api, { sub: 'admin-1', role: 'admin' });
    const jar = new CookieJar();
    const page = await open(jar, url);
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('Sign in');
    expect(page.html).toContain('admin-1');
    expect(page.html).toContain(api.workspaceId);
    // Opened twice (a link previewer, then the person): still usable.
    expect((await open(new CookieJar(), url)).status).toBe(200);

    const posted = await open(jar, `${api.url}/console/sign-in`, signInFields(page.html));
    expect(posted.status).toBe(303);
    expect(posted.location).toBe('/console/integrations');
    const cookie = posted.headers.getSetCookie().find((c) => c.startsWith('connections_console='))!;
    expect(cookie).toMatch(/; Max-Age=3600/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
    const value = jar.cookies.get('connections_console')!;
    api.addSecret(value);
    expect(await api.db('console_sessions').where({ id_hash: value }).first()).toBeUndefined();
    expect(
      await api
        .db('console_sessions')
        .where({ id_hash: hashSessionCookie(value) })
        .first(),
    ).toMatchObject({
      kind: 'workspace',
      workspace_id: api.workspaceId,
      sub: 'admin-1',
      role: 'admin',
    });

    const landing = await open(jar, `${api.url}/console`);
    expect(landing.status).toBe(303);
    expect(landing.location).toBe('/console/integrations');

    // The same link again: already used, by page and by form.
    const again = new CookieJar();
    const second = await open(again, url);
    expect(second.status).toBe(410);
    expect(h1(second.html)).toBe('Sign-in link already used');
    // Posted again from the browser that signed in (its CSRF token is still good): spent.
    const replay = await open(jar, `${api.url}/console/sign-in`, signInFields(page.html));
    expect(replay.status).toBe(410);
    expect(replay.headers.getSetCookie().some((c) => c.startsWith('connections_console='))).toBe(false);
  });

  it('refuses a link too long-lived, without jti, for an agent, badly signed or expired: page and form', async () => {
    const refusedTokens = {
      'valid for more than 15 minutes': await workspaceToken({ exp: nowSeconds() + 901 }),
      'without a jti': await workspaceToken({ jti: undefined }),
      'for an agent': await workspaceToken({ role: 'agent' }),
      'signed with another key': await workspaceToken({}, randomBytes(32)),
      expired: await workspaceToken({ iat: nowSeconds() - 700, exp: nowSeconds() - 100 }),
      'an operator token valid an hour': await operatorToken({ exp: nowSeconds() + 3600 }),
      'an operator token without a jti': await operatorToken({ jti: undefined }),
      'an API bearer token': secret(await api.token({ role: 'admin' })),
    };
    const jar = new CookieJar();
    // A good link's page gives this browser its cookie and the form's CSRF token.
    const good = await open(jar, await consoleSignInUrl(api, { sub: 'admin-9', role: 'admin' }));
    const { csrf } = signInFields(good.html);
    for (const [what, token] of Object.entries(refusedTokens)) {
      const page = await open(jar, signInUrl(api.url, token));
      expect([what, page.status, h1(page.html)]).toEqual([what, 401, 'Sign-in link not valid']);
      expect(page.html).not.toContain(token);
      const posted = await open(jar, `${api.url}/console/sign-in`, { token, csrf });
      expect([what, posted.status, h1(posted.html)]).toEqual([what, 401, 'Sign-in link not valid']);
      expect(posted.headers.getSetCookie()).toEqual([]);
    }
    const missing = await open(jar, `${api.url}/console/sign-in`);
    expect([missing.status, h1(missing.html)]).toEqual([400, 'Sign-in link not valid']);
    // A link of exactly 15 minutes, with a jti, is good.
    const fifteen = await open(jar, signInUrl(api.url, await workspaceToken({ exp: nowSeconds() + 900 })));
    expect(fifteen.status).toBe(200);
    expect(await api.db('console_sessions').where({ sub: 'admin-9' }).first()).toBeUndefined();
  });

  it('refuses a form without its CSRF token, and opens no session', async () => {
    const url = await consoleSignInUrl(api, { sub: 'owner-1', role: 'owner' });
    const jar = new CookieJar();
    const page = await open(jar, url);
    const { token } = signInFields(page.html);
    const before = await api.db('console_sessions').count({ n: '*' }).first();
    const refused = await open(jar, `${api.url}/console/sign-in`, { token });
    expect(refused.status).toBe(403);
    expect(h1(refused.html)).toBe('Form expired');
    const wrong = await open(new CookieJar(), `${api.url}/console/sign-in`, signInFields(page.html));
    expect(wrong.status).toBe(403);
    expect(await api.db('console_sessions').count({ n: '*' }).first()).toEqual(before);
    // The link is still good for its own browser.
    expect((await open(jar, `${api.url}/console/sign-in`, signInFields(page.html))).status).toBe(303);
  });

  it('gives an operator an operator session, never a workspace one, and the other way round', async () => {
    const jar = new CookieJar();
    const posted = await signInWith(jar, await operatorSignInUrl(api, 'ops-1'));
    expect(posted.headers.get('location')).toBe('/console/operator');
    expect(jar.cookies.has('connections_operator')).toBe(true);
    expect(jar.cookies.has('connections_console')).toBe(false);
    api.addSecret(jar.cookies.get('connections_operator')!);
    const page = await open(jar, `${api.url}/console/operator`);
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('Operator');
    expect(page.html).toContain('ops-1');
    expect((await open(jar, `${api.url}/console`)).status).toBe(401);

    const member = await signedInConsole(api, { sub: 'member-1', role: 'member' });
    const notOperator = await member.get('/console/operator');
    expect(notOperator.status).toBe(401);
    expect(h1(notOperator.html)).toBe('Sign in needed');
  });

  it('ends a session on sign out, and at its expiry', async () => {
    const admin = await signedInConsole(api, { sub: 'admin-2', role: 'admin' });
    expect((await admin.get('/console')).status).toBe(303);
    const refused = await admin.post('/console/sign-out', {}, { csrf: null });
    expect(refused.status).toBe(403);
    const out = await admin.post('/console/sign-out', {});
    expect(out.status).toBe(200);
    expect(h1(out.html)).toBe('Signed out');
    expect(out.headers.getSetCookie()[0]).toMatch(/^connections_console=; Max-Age=0/);
    const reused = await fetch(`${api.url}/console`, {
      redirect: 'manual',
      headers: { cookie: admin.cookie },
    });
    expect(reused.status).toBe(401);
    expect(h1(await reused.text())).toBe('Sign in needed');

    const member = await signedInConsole(api, { sub: 'member-2', role: 'member' });
    expect((await member.get('/console')).status).toBe(303);
    const idHash = hashSessionCookie(member.cookie.split('=')[1]!);
    await api
      .db('console_sessions')
      .where({ id_hash: idHash })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const expired = await member.get('/console');
    expect(expired.status).toBe(401);
    expect(h1(expired.html)).toBe('Sign in needed');
    expect(await consoleSessionStore.purgeExpired(api.db, new Date())).toMatchObject({ sessions: 1 });
  });

  it('gives the cookie and the session the configured lifetime', async () => {
    const checkToken = await createTokenChecker({
      jwtSecretFile: '/nonexistent',
      jwtSecret: new TextDecoder().decode(api.secrets.jwt),
    });
    const verifyOperator = createOperatorVerifier(api.secrets.operator);
    const signIn = createSignInVerifier({ checkToken, verifyOperator });
    const short = await listen(api.appWith({ console: { signIn, sessionTtlMs: 300_000 } }));
    try {
      const jar = new CookieJar();
      const url = (await consoleSignInUrl(api, { sub: 'admin-5', role: 'admin' })).replace(
        api.url,
        short.url,
      );
      const posted = await signInWith(jar, url);
      expect(posted.headers.getSetCookie().find((c) => c.startsWith('connections_console='))).toMatch(
        /; Max-Age=300;/,
      );
      secret(jar.cookies.get('connections_console')!);
      const { created_at, expires_at } = await api.db('console_sessions').where({ sub: 'admin-5' }).first();
      expect(expires_at.getTime() - created_at.getTime()).toBeGreaterThan(299_000);
      expect(expires_at.getTime() - created_at.getTime()).toBeLessThan(301_000);
    } finally {
      await short.close();
    }
  });

  it("shows a workspace's session only its own workspace and person", async () => {
    const a = await signedInConsole(api, { sub: 'admin-a', role: 'admin' });
    const b = await signedInConsole(api, { sub: 'admin-b', role: 'admin', workspace: 'workspace-b' });
    secret(a.cookie.split('=')[1]!);
    secret(b.cookie.split('=')[1]!);
    // A page of the session (here the refusal of a form without the right token names who is signed in).
    const pageOfB = await b.post('/console/sign-out', {}, { csrf: a.csrf });
    expect(pageOfB.status).toBe(403);
    expect(pageOfB.html).toContain('Signed in as admin-b (admin), workspace workspace-b');
    expect(pageOfB.html).not.toContain('admin-a');
    expect(pageOfB.html).not.toContain(api.workspaceId);
    // B's sign-out form cannot end A's session.
    expect((await a.get('/console')).status).toBe(303);
  });

  describe('the handover from a platform (AUTH_JWKS_URL)', () => {
    const issuer = 'https://idp.platform.example';
    const audience = 'connections';
    let jwks: Server;
    let service: { url: string; close(): Promise<void> };
    let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

    beforeAll(async () => {
      const pair = await generateKeyPair('ES256');
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'platform-1', alg: 'ES256', use: 'sig' };
      jwks = createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
      const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
      const checkToken = await createTokenChecker({
        jwtSecretFile: '/nonexistent',
        jwksUrl,
        issuer,
        audience,
      });
      const verifyOperator = createOperatorVerifier(api.secrets.operator);
      service = await listen(
        api.appWith({ console: { signIn: createSignInVerifier({ checkToken, verifyOperator }) } }),
      );
    });
    afterAll(async () => {
      await service?.close();
      await new Promise((resolve) => jwks?.close(resolve));
    });

    /** What the platform's identity provider issues for its signed-in user. */
    const handover = (claims: JWTPayload) =>
      new SignJWT({
        workspace: 'platform-workspace',
        role: 'member',
        sub: 'user-42',
        jti: randomUUID(),
        iss: issuer,
        aud: audience,
        iat: nowSeconds(),
        exp: nowSeconds() + 300,
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'platform-1' })
        .sign(privateKey)
        .then(secret);

    it("signs in the platform's user with its identity provider's short-lived token", async () => {
      const jar = new CookieJar();
      const posted = await signInWith(jar, signInUrl(service.url, await handover({})));
      expect(posted.headers.get('location')).toBe('/console/integrations');
      secret(jar.cookies.get('connections_console')!);
      const session = await api.db('console_sessions').where({ sub: 'user-42' }).first();
      expect(session).toMatchObject({
        kind: 'workspace',
        workspace_id: 'platform-workspace',
        role: 'member',
      });
    });

    it('refuses a token for another audience, or signed with the embedded secret', async () => {
      for (const token of [
        await handover({ aud: 'another-app' }),
        await workspaceToken({ iss: issuer, aud: audience }),
      ]) {
        const page = await open(new CookieJar(), signInUrl(service.url, token));
        expect([page.status, h1(page.html)]).toEqual([401, 'Sign-in link not valid']);
      }
    });
  });

  it('wrote no sign-in token or session cookie into a log line', () => {
    expect(api.logLines.length).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThan(10);
    for (const value of secrets) expect(api.logLines.filter((line) => line.includes(value))).toEqual([]);
  });
});
