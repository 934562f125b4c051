// The console's sign-in over HTTP, as a browser without JavaScript uses it (fetch with a cookie jar; the
// Chromium tests are test/console/*.browser.test.ts): a link's page names who it signs in and spends
// nothing; its form opens a session cookie once; bad links, a form without its CSRF token, expired and ended
// sessions get their pages; operators and workspace people have sessions of their own; and no sign-in token
// or session cookie reaches a log line.
import { consoleSessionStore } from '../../console/console-session-store.js';
import { hashSessionCookie } from '../../console/console-auth.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
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

describe('console sign-in', () => {
  let api: ApiHarness;

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

  it('wrote no sign-in token or session cookie into the logs', () => {
    expect(api.logLines.length).toBeGreaterThan(0);
    // The harness checks every registered secret against every log line at stop.
  });
});
