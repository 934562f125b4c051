// The hosted connect page and the browser binding over HTTP, as a browser without JavaScript uses them
// (fetch with a cookie jar per browser; the Chromium test is test/connect/connect-flow.browser.test.ts):
// the page and its headers, the CSRF check, binding at the Connect click (not on open), the callback refused
// from another browser with nothing changed and then finished by the right one, the link's spent, expired
// and in-use pages, the API-key form (a rejected key leaves nothing behind), the direct API flow's start URL,
// and no link token, state or key in any page or log line.
import { createHash } from 'node:crypto';
import { connectSessionStore } from '../../connect/connect-session-store.js';
import { hashState } from '../../connections/oauth-state-store.js';
import { connectThroughApi, startApiHarness, type ApiHarness } from '../support/api.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const PUBLIC_URL = 'http://127.0.0.1:9';

/** One browser: its own cookies, no redirect followed, every page it was shown kept for the secret scan. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly base: string,
    private readonly pages: string[],
  ) {}

  async open(
    url: string,
    options: { form?: Record<string, string> | Array<[string, string]>; cookies?: boolean } = {},
  ): Promise<{ status: number; html: string; headers: Headers; location: string | null }> {
    const target = new URL(url.replace(PUBLIC_URL, this.base), this.base);
    const response = await fetch(target, {
      method: options.form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        ...(this.cookies.size && options.cookies !== false
          ? { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
          : {}),
        ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: options.form ? new URLSearchParams(options.form) : undefined,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [, name = '', value = ''] = /^([^=]+)=([^;]*)/.exec(cookie) ?? [];
      this.cookies.set(name, value);
    }
    const html = await response.text();
    this.pages.push(html);
    return {
      status: response.status,
      html,
      headers: response.headers,
      location: response.headers.get('location'),
    };
  }
}

const h1 = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('the hosted connect page', () => {
  let api: ApiHarness;
  let standIn: StandInApi;
  let ownerToken: string;
  let memberToken: string;
  const shown: string[] = [];
  const secrets: string[] = [];
  const browser = () => new Browser(api.url, shown);
  const secret = (value: string) => {
    secrets.push(value);
    api.addSecret(value);
    return value;
  };

  beforeAll(async () => {
    api = await startApiHarness();
    standIn = await startStandInApi();
    await configureStandInIntegration(api, standIn);
    ownerToken = await api.token({ role: 'owner', sub: 'owner-1' });
    memberToken = await api.token({ role: 'member', sub: 'member-1' });
  });
  afterAll(async () => {
    await standIn?.stop();
    await api?.stop();
  });

  /** A connect link made by the owner for member-1; its token is registered as a secret. */
  async function link(body: Record<string, unknown>): Promise<{ id: string; url: string; token: string }> {
    const created = await api.call('POST', '/v1/connect-sessions', {
      token: ownerToken,
      body: { scope: 'user', userId: 'member-1', ...body },
    });
    expect(created.status).toBe(201);
    const token = secret(created.body.url.split('/connect/')[1]);
    return { id: created.body.id, url: created.body.url, token };
  }

  const connectionsOf = (integration: string) =>
    api
      .db('connections')
      .where({ workspace_id: api.workspaceId, integration })
      .select('id', 'status', 'scope', 'owner_user_id');
  const sessionRow = (id: string) => connectSessionStore.get(api.db, id);

  it('shows who it is for, the access requested and who asks, with strict headers, and binds nothing on open', async () => {
    const { id, url } = await link({
      integration: api.integration,
      reason: { agentId: 'agent-7', taskId: 'task-42', text: 'Reads your <calendar> & files' },
    });
    const page = await browser().open(url);
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe(`Connect ${api.integration}`);
    expect(page.html).toContain('<html lang="en">');
    expect(page.html).toMatch(/<title>Connect test-oidc<\/title>/);
    expect(page.html).toContain(`Workspace ${api.workspaceId}`);
    expect(page.html).toContain('For you: member-1');
    expect(page.html).toContain('Access requested');
    for (const scope of ['openid', 'offline_access', 'api:read'])
      expect(page.html).toContain(`<li>${scope}</li>`);
    expect(page.html).toContain('Who is asking');
    expect(page.html).toContain('agent-7');
    expect(page.html).toContain('task-42');
    // The reason is text, never markup.
    expect(page.html).toContain('Reads your &lt;calendar&gt; &amp; files');
    expect(page.html).toContain('<button type="submit">Connect</button>');
    expect(page.html).not.toContain('<script');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self' http:\/\/127\.0\.0\.1:\d+; frame-ancestors 'none'; base-uri 'none'$/,
    );
    expect(csp).toContain(`form-action 'self' ${new URL(api.oidc.authorizationEndpoint).origin}`);
    // The page's one stylesheet is the one its CSP allows.
    const style = /<style>([\s\S]*?)<\/style>/.exec(page.html)![1]!;
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const cookie = page.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(
      /^connections_browser=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    // Opening (a link previewer, a mail scanner) neither binds nor spends the link.
    const session = await sessionRow(id);
    expect(session).toMatchObject({ browserHash: null, spentAt: null });
  });

  it('refuses a form without the CSRF token of this browser, changing nothing', async () => {
    const { id, url } = await link({ integration: api.integration });
    const alice = browser();
    const csrf = csrfOf((await alice.open(url)).html);
    expect(csrf).not.toBe('');
    const before = (await connectionsOf(api.integration)).length;
    const refusals = [
      await alice.open(url, { form: { integration: api.integration } }),
      await alice.open(url, { form: { csrf: 'A'.repeat(43), integration: api.integration } }),
      // The right token, but from a browser without the cookie it is tied to.
      await browser().open(url, { form: { csrf, integration: api.integration } }),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe(403);
      expect(refusal.headers.get('content-type')).toMatch(/^text\/html/);
      expect(h1(refusal.html)).toBe('Form expired');
    }
    expect(await sessionRow(id)).toMatchObject({ browserHash: null, spentAt: null });
    expect(await connectionsOf(api.integration)).toHaveLength(before);
  });

  it('binds the link and the state at Connect; the callback from another browser is refused with nothing changed; the right browser connects', async () => {
    const { id, url } = await link({ integration: api.integration, returnTo: '/done' });
    const alice = browser();
    const csrf = csrfOf((await alice.open(url)).html);
    const before = (await connectionsOf(api.integration)).length;
    const started = await alice.open(url, { form: { csrf, integration: api.integration } });
    expect(started.status).toBe(303);
    const authorizationUrl = started.location!;
    expect(authorizationUrl.startsWith(api.oidc.authorizationEndpoint)).toBe(true);
    const state = secret(new URL(authorizationUrl).searchParams.get('state')!);
    // A double submit makes no second connection: it answers the same authorization.
    const again = await alice.open(url, { form: { csrf, integration: api.integration } });
    expect(again.status).toBe(303);
    expect(again.location).toBe(authorizationUrl);
    const made = (await connectionsOf(api.integration)).filter((row) => row.status === 'pending');
    expect(await connectionsOf(api.integration)).toHaveLength(before + 1);
    const session = await sessionRow(id);
    expect(session!.browserHash).toMatch(/^[0-9a-f]{64}$/);
    const stateRow = await api
      .db('oauth_states')
      .where({ state_hash: hashState(state) })
      .first();
    expect(stateRow).toMatchObject({
      browser_hash: session!.browserHash,
      connect_session_id: id,
      used_at: null,
    });

    // The link forwarded to someone else after Alice started: refused on open and on submit.
    const bob = browser();
    const forwarded = await bob.open(url);
    expect(forwarded.status).toBe(409);
    expect(h1(forwarded.html)).toBe('Link in use in another browser');

    const callback = await authorizeInBrowser(authorizationUrl, { login: 'member-1' });
    secret(callback.searchParams.get('code')!);
    const path = `/v1/oauth/callback${callback.search}`;
    const replayed = await bob.open(path);
    expect(replayed.status).toBe(400);
    expect(h1(replayed.html)).toBe('Finished in another browser');
    const cookieless = await alice.open(path, { cookies: false });
    expect(h1(cookieless.html)).toBe('Finished in another browser');
    const unchanged = await api
      .db('oauth_states')
      .where({ state_hash: hashState(state) })
      .first();
    expect(unchanged).toMatchObject({ used_at: null, claimed_by: null });
    const connectionId = made.find((row) => row.id)!.id as string;
    expect((await api.db('connections').where({ id: connectionId }).first()).status).toBe('pending');
    expect(await sessionRow(id)).toMatchObject({ spentAt: null });

    const done = await alice.open(path);
    expect(done.status).toBe(200);
    expect(h1(done.html)).toBe('Connected');
    // The result names what was connected (this custom provider has no display name: its key).
    expect(done.html).toContain(`Your ${api.integration} account is connected`);
    expect(done.html).toContain(`href="${PUBLIC_URL}/done?connection=${connectionId}&amp;status=active"`);
    expect(done.html).toContain('>Continue</a>');
    expect(await api.db('connections').where({ id: connectionId }).first()).toMatchObject({
      status: 'active',
      scope: 'user',
      owner_user_id: 'member-1',
    });
    expect(await sessionRow(id)).toMatchObject({ resultConnectionId: connectionId });
    expect((await sessionRow(id))!.spentAt).toBeInstanceOf(Date);

    const used = await alice.open(url);
    expect(used.status).toBe(410);
    expect(h1(used.html)).toBe('Link already used');
    const usedSubmit = await alice.open(url, { form: { csrf, integration: api.integration } });
    expect(h1(usedSubmit.html)).toBe('Link already used');
  });

  it('shows "Not connected" when access is denied at the provider, and the link stays usable', async () => {
    const { id, url } = await link({ integration: api.integration });
    const alice = browser();
    const csrf = csrfOf((await alice.open(url)).html);
    const started = await alice.open(url, { form: { csrf, integration: api.integration } });
    secret(new URL(started.location!).searchParams.get('state')!);
    const callback = await authorizeInBrowser(started.location!, { login: 'member-1', deny: true });
    const denied = await alice.open(`/v1/oauth/callback${callback.search}`);
    expect(denied.status).toBe(200);
    expect(h1(denied.html)).toBe('Not connected');
    expect(await sessionRow(id)).toMatchObject({ spentAt: null });
    // Trying again from the same link starts a new authorization (the failed connection is not reused).
    const retried = await alice.open(url, { form: { csrf, integration: api.integration } });
    expect(retried.status).toBe(303);
    expect(retried.location).not.toBe(started.location);
    secret(new URL(retried.location!).searchParams.get('state')!);
  });

  it('shows "Link expired" for an unknown or expired link, and "Link not valid" for a malformed one', async () => {
    const { id, url } = await link({ integration: api.integration });
    // Deliberately injected: the link's expiry moved into the past (its shortest lifetime is a minute).
    await api
      .db('connect_sessions')
      .where({ id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    for (const page of [
      await browser().open(url),
      await browser().open(url, { form: { csrf: 'x', integration: api.integration } }),
      await browser().open(`/connect/${'B'.repeat(43)}`),
    ]) {
      expect(page.status).toBe(410);
      expect(h1(page.html)).toBe('Link expired');
      expect(page.headers.get('cache-control')).toBe('no-store');
    }
    const malformed = await browser().open('/connect/not-a-token');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/^text\/html/);
    expect(h1(malformed.html)).toBe('Link not valid');
    const forms: Array<Array<[string, string]>> = [
      [['', 'null']],
      [['__proto__', 'x']],
      [
        ['csrf', 'x'],
        ['extra', 'y'],
      ],
      [
        ['csrf', 'x'],
        ['csrf', 'y'],
      ],
    ];
    for (const form of forms) {
      const refused = await browser().open(url, { form });
      expect(refused.status).toBe(400);
      expect(h1(refused.html)).toBe('Link not valid');
    }
    const oversized = await browser().open(url, { form: { csrf: 'x'.repeat(70_000) } });
    expect(oversized.status).toBe(413);
    expect(h1(oversized.html)).toBe('Link not valid');
  });

  it('connects an API key through the form; a rejected key is shown in the page and leaves nothing behind', async () => {
    const good = secret('stand-in-key-accepted-1');
    const bad = secret('stand-in-key-rejected-1');
    standIn.validKeys.add(good);
    standIn.accounts.set(good, { id: 'acct-1', name: 'Account one' });
    const { id, url } = await link({ integration: 'stand-in' });
    const alice = browser();
    const form = await alice.open(url);
    expect(h1(form.html)).toBe('Connect stand-in');
    expect(form.html).toMatch(
      /<label for="api-key">API key<\/label>\s*<input\s+id="api-key"\s+name="apiKey"\s+type="password"/,
    );
    expect(form.html).not.toContain('Access requested');
    const csrf = csrfOf(form.html);

    const rejected = await alice.open(url, { form: { csrf, integration: 'stand-in', apiKey: bad } });
    expect(rejected.status).toBe(422);
    expect(rejected.html).toContain('role="alert">The provider did not accept this API key.</p>');
    expect(rejected.html).not.toMatch(/name="apiKey"[^>]*value=/);
    expect(await connectionsOf('stand-in')).toHaveLength(0);
    expect(
      await api.db('credentials').where({ workspace_id: api.workspaceId, purpose: 'api_key' }),
    ).toHaveLength(0);
    expect(await sessionRow(id)).toMatchObject({ spentAt: null });

    const accepted = await alice.open(url, {
      form: { csrf: csrfOf(rejected.html), integration: 'stand-in', apiKey: good },
    });
    expect(accepted.status).toBe(200);
    expect(h1(accepted.html)).toBe('Connected');
    const [connection] = await connectionsOf('stand-in');
    expect(connection).toMatchObject({ status: 'active', scope: 'user', owner_user_id: 'member-1' });
    expect(await sessionRow(id)).toMatchObject({ resultConnectionId: connection!.id });
  });

  it('reconnects a connection in place through a link with its connectionId', async () => {
    const connectionId = await connectThroughApi(api, memberToken, 'user');
    const { id, url } = await link({ connectionId });
    const alice = browser();
    const page = await alice.open(url);
    expect(page.html).toContain('This reconnects an existing connection');
    const count = (await connectionsOf(api.integration)).length;
    const started = await alice.open(url, {
      form: { csrf: csrfOf(page.html), integration: api.integration },
    });
    expect(started.status).toBe(303);
    secret(new URL(started.location!).searchParams.get('state')!);
    const callback = await authorizeInBrowser(started.location!, { login: 'member-1' });
    secret(callback.searchParams.get('code')!);
    const done = await alice.open(`/v1/oauth/callback${callback.search}`);
    expect(h1(done.html)).toBe('Connected');
    expect(await connectionsOf(api.integration)).toHaveLength(count);
    expect(await sessionRow(id)).toMatchObject({ resultConnectionId: connectionId });
    expect((await api.db('connections').where({ id: connectionId }).first()).status).toBe('active');
  });

  it('lets the person choose among the allowed integrations first', async () => {
    const { url } = await link({ allowedIntegrations: [api.integration, 'stand-in'] });
    const alice = browser();
    const choice = await alice.open(url);
    expect(choice.status).toBe(200);
    expect(choice.html).toContain(`<a href="?integration=${api.integration}">Connect ${api.integration}</a>`);
    expect(choice.html).toContain('<a href="?integration=stand-in">Connect stand-in</a>');
    const form = await alice.open(`${url}?integration=stand-in`);
    expect(h1(form.html)).toBe('Connect stand-in');
    expect(form.html).toContain('name="integration" value="stand-in"');
  });

  describe('the direct API flow: startUrl', () => {
    it('binds the browser that opens it, so the callback is refused elsewhere and finished there', async () => {
      const created = await api.call('POST', '/v1/connections', {
        token: memberToken,
        body: { integration: api.integration, scope: 'user' },
      });
      expect(created.status).toBe(201);
      const { authorizationUrl, startUrl } = created.body as { authorizationUrl: string; startUrl: string };
      const state = secret(new URL(authorizationUrl).searchParams.get('state')!);
      expect(startUrl).toBe(`${PUBLIC_URL}/v1/oauth/start?state=${encodeURIComponent(state)}`);
      const row = await api
        .db('oauth_states')
        .where({ state_hash: hashState(state) })
        .first();
      expect(row.authorization_url_box).toEqual(expect.any(String));
      expect(row.authorization_url_box).not.toContain(state);

      const alice = browser();
      const opened = await alice.open(startUrl);
      expect(opened.status).toBe(303);
      expect(opened.location).toBe(authorizationUrl);
      const bound = await api
        .db('oauth_states')
        .where({ state_hash: hashState(state) })
        .first();
      expect(bound.browser_hash).toMatch(/^[0-9a-f]{64}$/);
      expect((await alice.open(startUrl)).location).toBe(authorizationUrl);
      const elsewhere = await browser().open(startUrl);
      expect(elsewhere.status).toBe(409);
      expect(h1(elsewhere.html)).toBe('Link in use in another browser');

      const callback = await authorizeInBrowser(authorizationUrl);
      secret(callback.searchParams.get('code')!);
      const path = `/v1/oauth/callback${callback.search}`;
      const replayed = await browser().open(path);
      expect(replayed.status).toBe(400);
      expect(h1(replayed.html)).toBe('Finished in another browser');
      expect(await api.db('connections').where({ id: created.body.connection.id }).first()).toMatchObject({
        status: 'pending',
      });
      const done = await alice.open(path);
      expect(done.status).toBe(200);
      expect(h1(done.html)).toBe('Connected');

      const spent = await browser().open(startUrl);
      expect(spent.status).toBe(410);
      expect(h1(spent.html)).toBe('Link expired');
      expect((await browser().open('/v1/oauth/start?state=made-up')).status).toBe(410);
    });

    it('keeps the plain flow (authorizationUrl, no cookie) working', async () => {
      const created = await api.call('POST', '/v1/connections', {
        token: memberToken,
        body: { integration: api.integration, scope: 'user' },
      });
      secret(new URL(created.body.authorizationUrl).searchParams.get('state')!);
      const callback = await authorizeInBrowser(created.body.authorizationUrl);
      secret(callback.searchParams.get('code')!);
      const done = await browser().open(`/v1/oauth/callback${callback.search}`);
      expect(done.status).toBe(200);
      expect(h1(done.html)).toBe('Connected');
      expect(done.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    });
  });

  it('never wrote a link token, a state, a code or a key into any page it showed', () => {
    expect(shown.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThan(8);
    for (const page of shown) for (const value of secrets) expect(page).not.toContain(value);
  });
});
