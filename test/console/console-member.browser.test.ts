// The console as a member uses it, and what it must refuse, in a real browser (test/support/browser.ts)
// over the real stack. A member signs in and sees no admin action anywhere (no Configure link, no Actions on
// the workspace's connection, no "Connect for the workspace"), sees the workspace's connection but not
// another member's, connects her own account twice (OAuth through oidc-provider's pages, an API key through
// the connect page's form against a stand-in API) and rotates that key, deletes her own connection that
// nothing depends on and is told that one with a dependent is for managers; another workspace's ids are
// "Not found". A member does the same in a browser that runs no script. Then safety: a form posted without its CSRF token, or from a page of another origin, is "Form
// expired" and changes nothing; a session of another workspace finds nothing of this one; a connection named
// `<script>alert(1)</script>` is shown as text, and no script runs. Every page state is checked with axe and
// for CSP refusals; no page, log line or history holds a credential.
import type { BrowserContext, Page } from 'playwright-core';
import express from 'express';
import { randomUUID } from 'node:crypto';
import { integrationStore } from '../../integrations/integration-store.js';
import { connectThroughApi, startApiHarness, type ApiHarness } from '../support/api.js';
import {
  launchBrowser,
  pagesSentUnsafely,
  showsPage,
  signInAndConsent,
  type TestBrowser,
} from '../support/browser.js';
import { consoleSignInUrl } from '../support/console.js';
import {
  badges,
  bodyRows,
  column,
  ConsoleSecrets,
  signInWith,
  table,
  withoutCsrf,
} from '../support/console-browser.js';
import { listen } from '../support/http.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';

describe('the console for members, and what it refuses, in a real browser', () => {
  let api: ApiHarness;
  let standIn: StandInApi;
  let browser: TestBrowser;
  let secrets: ConsoleSecrets;
  const otherWorkspace = `ws-other-${randomUUID()}`;
  const keys = {
    good: `key-good-${randomUUID()}`,
    rotated: `key-rotated-${randomUUID()}`,
    rejected: `key-rejected-${randomUUID()}`,
    named: `key-named-${randomUUID()}`,
  };
  /** Made through the API: the workspace's connection, another member's, and one of another workspace. */
  const made = { workspace: '', bobs: '', otherWorkspace: '' };

  beforeAll(async () => {
    api = await startApiHarness({
      ownPublicUrl: true,
      rateLimits: { connect: 1000, callback: 1000, change: 1000, refresh: 1000 },
    });
    secrets = new ConsoleSecrets(api);
    standIn = await startStandInApi();
    for (const [name, key] of Object.entries(keys)) {
      secrets.add(`the ${name} API key`, key);
      if (name !== 'rejected') standIn.validKeys.add(key);
    }
    await configureStandInIntegration(api, standIn);

    const admin = await api.token({ role: 'admin', sub: 'ada' });
    made.workspace = await connectThroughApi(api, admin, 'workspace');
    made.bobs = await connectThroughApi(api, await api.token({ role: 'member', sub: 'bob' }), 'user');

    // Another workspace, with an integration of its own and a connection to it.
    const integration = (await integrationStore.get(api.db, api.workspaceId, api.integration))!;
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: otherWorkspace,
      key: 'other-oidc',
      provider: integration.provider,
      clientId: api.oidc.clientId,
      clientSecret: api.oidc.clientSecret,
    });
    const theirs = await api.call('POST', '/v1/connections', {
      token: await api.token({ role: 'admin', sub: 'otto', workspace: otherWorkspace }),
      body: { integration: 'other-oidc', scope: 'workspace' },
    });
    expect(theirs.status).toBe(201);
    made.otherWorkspace = theirs.body.connection.id;

    browser = await launchBrowser([api.url]);
  });

  afterAll(async () => {
    await browser?.close();
    await standIn?.stop();
    await api?.stop();
  });

  const at = (path: string) => `${api.url}${path}`;

  async function connection(id: string) {
    const token = await api.token({ role: 'admin', sub: 'ada' });
    const read = await api.call('GET', `/v1/connections/${id}`, { token });
    expect(read.status).toBe(200);
    return read.body.connection as { id: string; status: string; ownerUserId: string | null };
  }

  async function connectionsOf(userId: string, integration: string) {
    const token = await api.token({ role: 'member', sub: userId });
    const listed = await api.call('GET', `/v1/connections?integration=${integration}&scope=user`, { token });
    return (listed.body.connections as Array<{ id: string; status: string; ownerUserId: string }>).filter(
      (c) => c.ownerUserId === userId,
    );
  }

  /** Opens a console path in the page; answers the status it was sent with. */
  async function open(page: Page, path: string): Promise<number | undefined> {
    return (await page.goto(at(path)))?.status();
  }

  /** Keeps a connect link's token (from the connect page's address) as a secret. */
  function keepConnectLink(page: Page): void {
    const token = new URL(page.url()).pathname.split('/').pop()!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secrets.add('a connect link token', token);
  }

  describe('a member', () => {
    let mia: BrowserContext;
    let page: Page;
    let apiKeyConnection = '';

    beforeAll(async () => {
      mia = await browser.person();
      page = await signInWith(mia, await consoleSignInUrl(api, { sub: 'mia', role: 'member' }), secrets, {
        names: ['mia', 'member'],
      });
    });
    afterAll(() => mia?.close());

    it('sees the integrations without any manager link', async () => {
      await expect(table(page, 'Integrations').count()).resolves.toBe(1);
      await expect(page.getByRole('link', { name: /^Configure / }).count()).resolves.toBe(0);
      await expect(page.getByRole('link', { name: 'Register a custom provider' }).count()).resolves.toBe(0);
      await browser.pageState(page, 'console-integrations-member', { screenshot: false });
      // Nor do the managers' pages open for her.
      expect(await open(page, `/console/integrations/${api.integration}/settings`)).toBe(403);
      await showsPage(page, 'Not allowed');
      await browser.pageState(page, 'console-not-allowed', { screenshot: false });
    });

    it("sees the workspace's connection, not another member's, and may only connect her own", async () => {
      await open(page, `/console/integrations/${api.integration}`);
      await showsPage(page, api.integration);
      const links = await bodyRows(page, 'Your Connections').getByRole('link').allTextContents();
      expect(links.map((text) => text.trim())).toEqual([made.workspace]);
      expect((await column(page, 'Your Connections', 'Owner')).join(' ')).not.toContain('bob');
      await expect(page.getByRole('button', { name: 'Connect for the workspace' }).count()).resolves.toBe(0);
      await expect(page.getByRole('button', { name: 'Connect your own account' }).count()).resolves.toBe(1);
      await browser.pageState(page, 'console-your-connections-member', { screenshot: false });

      // Bob's connection is not there for her at all.
      expect(await open(page, `/console/connections/${made.bobs}`)).toBe(404);
      await showsPage(page, 'Not found');
    });

    it("reads the workspace's connection, with no action on it", async () => {
      await open(page, `/console/connections/${made.workspace}`);
      await showsPage(page, `${api.integration} connection`);
      expect(await badges(page.getByRole('main'))).toContain('active');
      await expect(page.getByRole('heading', { level: 2, name: 'Actions' }).count()).resolves.toBe(0);
      for (const action of ['Refresh now', 'Deactivate', 'Create a reconnect link', 'Register dependent']) {
        await expect(page.getByRole('button', { name: action }).count()).resolves.toBe(0);
      }
      await expect(page.getByRole('link', { name: 'Delete connection' }).count()).resolves.toBe(0);
      // Who used it is the managers' (and its own user's) to read.
      await expect(page.getByRole('heading', { level: 2, name: 'Who used it' }).count()).resolves.toBe(0);
      await browser.pageState(page, 'console-connection-member', { screenshot: false });
    });

    it('connects her own account through OAuth', async () => {
      await open(page, `/console/integrations/${api.integration}`);
      await page.getByRole('button', { name: 'Connect your own account' }).click();
      await showsPage(page, `Connect ${api.integration}`);
      keepConnectLink(page);
      await expect(page.getByRole('main').textContent()).resolves.toContain('For you: mia');
      await page.getByRole('button', { name: 'Connect' }).click();
      await signInAndConsent(page, 'mia');
      await showsPage(page, 'Connected');
      await page.getByRole('link', { name: 'Continue' }).click();
      await showsPage(page, api.integration);
      const [own] = await connectionsOf('mia', api.integration);
      expect(own).toMatchObject({ status: 'active' });
      const links = await bodyRows(page, 'Your Connections').getByRole('link').allTextContents();
      expect(links.map((text) => text.trim()).sort()).toEqual([made.workspace, own!.id].sort());
      const mine = bodyRows(page, 'Your Connections').filter({ hasText: own!.id });
      expect(await badges(mine)).toEqual(['active']);
      await expect(mine.textContent()).resolves.toContain('mia');
    });

    it('connects her own API key through the connect page; a rejected key leaves nothing', async () => {
      await open(page, '/console/integrations/stand-in');
      await showsPage(page, 'stand-in');
      await page.getByRole('button', { name: 'Connect your own account' }).click();
      await showsPage(page, 'Connect stand-in');
      keepConnectLink(page);
      await page.getByLabel('API key').fill(keys.rejected);
      await page.getByRole('button', { name: 'Connect' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain(
        'The provider did not accept this API key.',
      );
      expect(await connectionsOf('mia', 'stand-in')).toEqual([]);
      await page.getByLabel('API key').fill(keys.good);
      await page.getByRole('button', { name: 'Connect' }).click();
      await showsPage(page, 'Connected');
      await page.getByRole('link', { name: 'Continue' }).click();
      await showsPage(page, 'stand-in');
      const [own] = await connectionsOf('mia', 'stand-in');
      expect(own).toMatchObject({ status: 'active' });
      apiKeyConnection = own!.id;
      expect(await badges(bodyRows(page, 'Your Connections'))).toEqual(['active']);
    });

    it("reads her key's age and the advice, and rotates the key; a rejected one is refused in the page", async () => {
      await page.getByRole('link', { name: apiKeyConnection }).click();
      await showsPage(page, 'stand-in connection');
      const main = (await page.getByRole('main').textContent()) ?? '';
      for (const shown of ['Key age', 'Rotation due', 'Unused']) expect(main).toContain(shown);
      await expect(page.getByRole('heading', { level: 2, name: 'Advice' }).count()).resolves.toBe(1);
      await expect(page.getByRole('heading', { level: 2, name: 'Actions' }).count()).resolves.toBe(1);
      await browser.pageState(page, 'console-connection-api-key');

      await page.getByRole('link', { name: 'Rotate the API key' }).click();
      await showsPage(page, 'Rotate the API key');
      const field = page.getByLabel('New API key');
      await expect(field.getAttribute('type')).resolves.toBe('password');
      await browser.pageState(page, 'console-rotate-key');

      await field.fill(keys.rejected);
      const refused = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Rotate key' }).click();
      expect((await refused).status()).toBe(422);
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/\S/);
      await expect(page.getByLabel('New API key').inputValue()).resolves.toBe('');
      await browser.pageState(page, 'console-rotate-key-rejected', { screenshot: false });

      await page.getByLabel('New API key').fill(keys.rotated);
      await page.getByRole('button', { name: 'Rotate key' }).click();
      await page.waitForURL(new RegExp(`/console/connections/${apiKeyConnection}\\?notice=key_rotated$`));
      await expect(page.getByRole('status').textContent()).resolves.toMatch(/\S/);
      // The provider saw the new key (its verification), and the connection is still active.
      expect(standIn.requests.some((r) => r.authorization === `Bearer ${keys.rotated}`)).toBe(true);
      expect(await connection(apiKeyConnection)).toMatchObject({ status: 'active', ownerUserId: 'mia' });
    });

    it('deletes her own connection with nothing depending on it; one with a dependent is for managers', async () => {
      // An admin registers a dependent of her API-key connection.
      const registered = await api.call(
        'PUT',
        `/v1/connections/${apiKeyConnection}/dependents/automation/weekly-report`,
        { token: await api.token({ role: 'admin', sub: 'ada' }), body: { name: 'Weekly report' } },
      );
      expect(registered.status).toBe(201);
      await open(page, `/console/connections/${apiKeyConnection}/delete`);
      await showsPage(page, 'Delete stand-in connection');
      expect(await column(page, 'Dependents', 'ID')).toEqual(['weekly-report']);
      await expect(page.getByRole('main').textContent()).resolves.toContain('only an owner or admin');
      await expect(page.getByRole('button', { name: /^Delete/ }).count()).resolves.toBe(0);
      await expect(page.getByRole('checkbox').count()).resolves.toBe(0);
      await browser.pageState(page, 'console-delete-review-member', { screenshot: false });

      const [own] = await connectionsOf('mia', api.integration);
      await open(page, `/console/connections/${own!.id}`);
      await page.getByRole('link', { name: 'Delete connection' }).click();
      await showsPage(page, `Delete ${api.integration} connection`);
      await expect(page.getByRole('main').textContent()).resolves.toContain(
        'Nothing is registered as depending on this connection.',
      );
      await browser.pageState(page, 'console-delete-nothing-depends', { screenshot: false });
      await page.getByRole('button', { name: 'Delete connection' }).click();
      await page.waitForURL(new RegExp(`/console/connections/${own!.id}\\?notice=deleted$`));
      expect(await badges(page.getByRole('main'))).toContain('disconnected');
      expect(await connection(own!.id)).toMatchObject({ status: 'disconnected' });
      expect(await connection(apiKeyConnection)).toMatchObject({ status: 'active' });
    });

    it('finds another workspace\'s connection and integration "Not found"', async () => {
      expect(await open(page, `/console/connections/${made.otherWorkspace}`)).toBe(404);
      await showsPage(page, 'Not found');
      await browser.pageState(page, 'console-not-found-other-workspace', { screenshot: false });
      expect(await open(page, '/console/integrations/other-oidc')).toBe(404);
      await showsPage(page, 'Not found');
    });
  });

  it('works in a browser that runs no script: sign in, connect a key, deactivate and activate, sign out', async () => {
    // Axe runs as a script, so these states are checked in the other tests; here only that they work.
    const noah = await browser.person({ javaScript: false });
    const page = await signInWith(
      noah,
      await consoleSignInUrl(api, { sub: 'noah', role: 'member' }),
      secrets,
    );
    await open(page, '/console/integrations/stand-in');
    await page.getByRole('button', { name: 'Connect your own account' }).click();
    await showsPage(page, 'Connect stand-in');
    keepConnectLink(page);
    await page.getByLabel('API key').fill(keys.good);
    await page.getByRole('button', { name: 'Connect' }).click();
    await showsPage(page, 'Connected');
    await page.getByRole('link', { name: 'Continue' }).click();
    await showsPage(page, 'stand-in');
    const [own] = await connectionsOf('noah', 'stand-in');
    expect(own).toMatchObject({ status: 'active' });
    await page.getByRole('link', { name: own!.id }).click();
    await showsPage(page, 'stand-in connection');
    await page.getByRole('button', { name: 'Deactivate', exact: true }).click();
    await page.waitForURL(/\?notice=deactivated$/);
    expect(await connection(own!.id)).toMatchObject({ status: 'inactive' });
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/\?notice=activated$/);
    expect(await connection(own!.id)).toMatchObject({ status: 'active' });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await showsPage(page, 'Signed out');
    await noah.close();
  });

  describe('safety', () => {
    let ada: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      ada = await browser.person();
      page = await signInWith(ada, await consoleSignInUrl(api, { sub: 'ada', role: 'admin' }), secrets);
    });
    afterAll(() => ada?.close());

    it('refuses a form posted without its CSRF token: "Form expired", nothing changed', async () => {
      await open(page, `/console/connections/${made.workspace}`);
      await showsPage(page, `${api.integration} connection`);
      const answer = page.waitForResponse((r) => r.request().method() === 'POST');
      await withoutCsrf(page.getByRole('button', { name: 'Deactivate' }));
      expect((await answer).status()).toBe(403);
      await showsPage(page, 'Form expired');
      await browser.pageState(page, 'console-form-expired');
      expect(await connection(made.workspace)).toMatchObject({ status: 'active' });
    });

    it('refuses a form of a page on another origin that posts to the console', async () => {
      // Another port of the same host: the same site for the browser, so the session cookie goes along
      // (SameSite does not stop it); the CSRF token is what the forger cannot know.
      const forger = express();
      forger.get('/', (_req, res) => {
        res
          .type('html')
          .send(
            `<!doctype html><html lang="en"><head><title>Win a prize</title></head><body><main>` +
              `<h1>Win a prize</h1><form method="post" action="${at(`/console/connections/${made.workspace}/deactivate`)}">` +
              `<input type="hidden" name="csrf" value="forged"><button type="submit">Claim</button></form>` +
              `</main></body></html>`,
          );
      });
      const site = await listen(forger);
      try {
        const lure = await ada.newPage();
        await lure.goto(site.url);
        const answer = lure.waitForResponse((r) => r.url().startsWith(api.url));
        await lure.getByRole('button', { name: 'Claim' }).click();
        expect((await answer).status()).toBe(403);
        await showsPage(lure, 'Form expired');
        expect(await connection(made.workspace)).toMatchObject({ status: 'active' });
        await lure.close();
      } finally {
        await site.close();
      }
    });

    it('gives a session of another workspace nothing of this one: "Not found"', async () => {
      const bea = await browser.person();
      const theirs = await signInWith(
        bea,
        await consoleSignInUrl(api, { sub: 'bea', role: 'admin', workspace: otherWorkspace }),
        secrets,
        { names: [otherWorkspace] },
      );
      expect(await open(theirs, `/console/connections/${made.workspace}`)).toBe(404);
      await showsPage(theirs, 'Not found');
      await browser.pageState(theirs, 'console-not-found-session-elsewhere', { screenshot: false });
      expect(await open(theirs, `/console/integrations/${api.integration}`)).toBe(404);
      expect(await open(theirs, '/console/integrations/stand-in')).toBe(404);
      // A form of theirs (their own CSRF token) aimed at this workspace's connection changes nothing.
      await open(theirs, '/console/integrations');
      const csrf = await theirs.locator('input[name="csrf"]').first().inputValue();
      const posted = await bea.request.post(at(`/console/connections/${made.workspace}/deactivate`), {
        form: { csrf },
        maxRedirects: 0,
      });
      expect(posted.status()).toBe(404);
      expect(await connection(made.workspace)).toMatchObject({ status: 'active' });
      await bea.close();
    });

    it('shows a connection named <script>alert(1)</script> as text, and runs nothing', async () => {
      const name = '<script>alert(1)</script>';
      const created = await api.call('POST', '/v1/connections', {
        token: await api.token({ role: 'admin', sub: 'ada' }),
        body: { integration: 'stand-in', scope: 'workspace', name, apiKey: keys.named },
      });
      expect(created.status).toBe(201);
      const id = created.body.connection.id as string;
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await open(page, '/console/integrations/stand-in');
      await showsPage(page, 'stand-in');
      const link = page.getByRole('link', { name, exact: true });
      await expect(link.getAttribute('href')).resolves.toBe(`/console/connections/${id}`);
      await browser.pageState(page, 'console-script-name-list', { screenshot: false });
      await link.click();
      await showsPage(page, name);
      await browser.pageState(page, 'console-script-name', { screenshot: false });
      expect(dialogs).toEqual([]);
      const served = browser.servedPages.filter((p) => p.html.includes('alert(1)'));
      expect(served.length).toBeGreaterThanOrEqual(2);
      for (const { html } of served) {
        expect(html).not.toContain(name);
        expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      }
    });
  });

  it('sent every page with no-store, a strict CSP, a language and a title', async () => {
    expect(browser.servedPages.length).toBeGreaterThan(15);
    expect(pagesSentUnsafely(browser.servedPages)).toEqual([]);
  });

  it('put no credential in any page (but the one that gives it), log line or history', async () => {
    const leaks = await secrets.leaks(browser.servedPages);
    expect(leaks.pages).toEqual([]);
    expect(leaks.logs).toEqual([]);
    expect(leaks.histories.workflows).toBeGreaterThan(0);
    expect(leaks.histories.found).toEqual([]);
  });
});
