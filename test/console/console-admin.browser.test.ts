// The console as an admin uses it, in a real browser (Debian's Chromium, test/support/browser.ts) over the
// real stack: she signs in with a link like the one `npm start` prints, registers a custom OAuth provider
// (oidc-provider on loopback: http URLs, which the test harness allows) and configures it on its settings
// page, connects it for the workspace through the hosted connect page and oidc-provider's own login and
// consent pages, and back in "Your Connections" sees it active; on its page she refreshes it, deactivates and
// activates it, creates a reconnect link, registers dependents and removes one, is shown what stops working
// when she opens "Delete connection", is refused a forced delete she did not confirm, confirms it, and sees
// it disconnected with its events. Then the pages around: Not found, signed out, sign-in needed, a spent
// sign-in link, the operator's page. Every page state is checked with axe and for CSP refusals and
// photographed (`npm run screenshots` writes the README's); every page carries no-store and the strict CSP,
// and no page (but the one that must show it), log line or history holds a credential.
import type { BrowserContext, Page } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import {
  launchBrowser,
  pagesSentUnsafely,
  showsPage,
  signInAndConsent,
  type TestBrowser,
} from '../support/browser.js';
import { consoleSignInUrl, operatorSignInUrl } from '../support/console.js';
import { badges, bodyRows, column, ConsoleSecrets, signInWith, table } from '../support/console-browser.js';
import { catalogueWithServer } from '../support/catalogue.js';

describe('the console for an admin, in a real browser', () => {
  let api: ApiHarness;
  let browser: TestBrowser;
  let secrets: ConsoleSecrets;
  let ada: BrowserContext;
  let page: Page;
  let connectionId: string;
  /** The catalogue provider she configures and connects: the catalogue's Linear, at oidc-provider here. */
  const provider = { key: 'linear', name: 'Linear' };
  const custom = { key: 'acme-login', name: 'Acme Login' };

  beforeAll(async () => {
    // One person does everything here, from 127.0.0.1: the per-caller and per-address limits are set out of
    // the way (their own tests cross them).
    api = await startApiHarness({
      ownPublicUrl: true,
      rateLimits: { connect: 1000, callback: 1000, change: 1000, refresh: 1000 },
      catalogue: catalogueWithServer(provider.key, () => api?.oidc),
    });
    secrets = new ConsoleSecrets(api);
    secrets.add("the provider's client secret", api.oidc.clientSecret);
    browser = await launchBrowser([api.url]);
    ada = await browser.person();
  });

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  const at = (path: string) => `${api.url}${path}`;

  async function adminCall(method: string, route: string, body?: unknown) {
    const token = await api.token({ role: 'admin', sub: 'ada' });
    return api.call(method, route, { token, body });
  }

  async function connection(id: string) {
    const read = await adminCall('GET', `/v1/connections/${id}`);
    expect(read.status).toBe(200);
    return read.body.connection as { status: string; scope: string; ownerUserId: string | null };
  }

  /** The connection's status as its page's Status section shows it (the badge's word). */
  async function shownStatus(): Promise<string | undefined> {
    const status = page.getByRole('region', { name: 'Status' });
    const scope = (await status.count()) ? status : page.getByRole('main');
    return (await badges(scope))[0];
  }

  it('signs in with the printed-style link, which names her, and is spent by the sign-in', async () => {
    const link = await consoleSignInUrl(api, { sub: 'ada', role: 'admin' });
    expect(link.startsWith(at('/console/sign-in?token='))).toBe(true);
    page = await signInWith(ada, link, secrets, {
      names: ['ada', 'admin', api.workspaceId],
      onPage: (signIn) => browser.pageState(signIn, 'console-sign-in'),
    });
    await expect(page.getByRole('navigation', { name: 'Console' }).textContent()).resolves.toContain('ada');
    expect(new URL(page.url()).pathname).toBe('/console/integrations');
    const cookie = (await ada.cookies()).find((c) => c.name === 'connections_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });

    // The link is spent: opened again (anywhere), it says so, and signs nobody in.
    const other = await browser.person();
    const again = await other.newPage();
    const answer = await again.goto(link);
    expect(answer?.status()).toBe(410);
    await showsPage(again, 'Sign-in link already used');
    await browser.pageState(again, 'console-sign-in-used', { screenshot: false });
    await other.close();
  });

  it("lists the integrations, with the managers' links", async () => {
    await expect(table(page, 'Integrations').count()).resolves.toBe(1);
    // The harness's own provider is configured in this workspace; a catalogue entry is not.
    const states = await column(page, 'Integrations', 'State');
    expect(states).toContain('Enabled');
    expect(states).toContain('Not configured');
    await expect(page.getByRole('link', { name: /^Configure / }).count()).resolves.toBeGreaterThan(1);
    await browser.pageState(page, 'console-integrations');

    // The filter: only the configured ones.
    await page.getByLabel('Configured only').check();
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/configured=yes/);
    expect(await column(page, 'Integrations', 'State')).not.toContain('Not configured');
  });

  async function integrationView(key: string) {
    const listed = await adminCall('GET', '/v1/integrations');
    return (listed.body.integrations as Array<Record<string, unknown>>).find((i) => i.key === key);
  }

  it('registers a custom OAuth provider, and sets which connection agents use on its settings page', async () => {
    await page.getByRole('link', { name: 'Register a custom provider' }).click();
    await showsPage(page, 'Register a custom provider');
    await browser.pageState(page, 'console-custom-provider');
    const oauth = page.getByRole('group', { name: 'OAuth 2.0 provider' });
    await oauth.getByLabel('Key').fill(custom.key);
    await oauth.getByLabel('Display name').fill(custom.name);
    await oauth.getByLabel('Authorization URL').fill(api.oidc.authorizationEndpoint);
    await oauth.getByLabel('Token URL').fill(api.oidc.tokenEndpoint);
    await oauth.getByLabel('Revocation URL').fill(api.oidc.revocationEndpoint);
    await oauth.getByLabel('Scopes').fill('openid offline_access');
    await oauth.getByLabel('Client ID').fill(api.oidc.clientId);
    const secret = oauth.getByLabel('Client secret');
    await expect(secret.getAttribute('type')).resolves.toBe('password');
    await secret.fill(api.oidc.clientSecret);
    await oauth.getByRole('button', { name: 'Register OAuth provider' }).click();

    await showsPage(page, `Configure ${custom.name}`);
    expect(new URL(page.url()).search).toBe('?notice=registered');
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/\S/);
    await page.getByLabel('Agents use').selectOption({ label: "The workspace's connection" });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\?notice=saved$/);
    await expect(page.getByRole('status').textContent()).resolves.toContain('Saved.');
    await browser.pageState(page, 'console-custom-settings', { screenshot: false });
    expect(await integrationView(custom.key)).toMatchObject({
      source: 'custom',
      displayName: custom.name,
      enabled: true,
      clientIdPresent: true,
      clientSecretPresent: true,
      scopes: ['openid', 'offline_access'],
    });
    const scope = await api
      .db('integrations')
      .where({ workspace_id: api.workspaceId, key: custom.key })
      .first('agent_connection_scope');
    expect(scope).toEqual({ agent_connection_scope: 'workspace' });
  });

  it('configures a catalogue provider on its settings page; a refused form stores nothing', async () => {
    await page.goto(at('/console/integrations'));
    await page.getByRole('link', { name: `Configure ${provider.name}`, exact: true }).click();
    await showsPage(page, `Configure ${provider.name}`);
    const secret = page.getByLabel('Client secret');
    await expect(secret.getAttribute('type')).resolves.toBe('password');
    await page.getByLabel('Client ID').fill(api.oidc.clientId);
    await secret.fill(api.oidc.clientSecret);
    await page.getByLabel('Scopes').fill('openid bad"scope');
    await page.getByLabel('Enabled').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/scope/i);
    // Write-only, even when the form comes back: the secret typed is not in it.
    await expect(page.getByLabel('Client secret').inputValue()).resolves.toBe('');
    await browser.pageState(page, 'console-settings-refused', { screenshot: false });
    expect(await integrationView(provider.key)).toMatchObject({ configured: false });

    await page.getByLabel('Client ID').fill(api.oidc.clientId);
    await page.getByLabel('Client secret').fill(api.oidc.clientSecret);
    await page.getByLabel('Scopes').fill('openid offline_access api:read');
    await page.getByLabel('Enabled').check();
    await page.getByLabel('Agents use').selectOption({ label: "The workspace's connection" });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\?notice=saved$/);
    await expect(page.getByRole('status').textContent()).resolves.toContain('Saved.');
    await expect(page.getByLabel('Client secret').inputValue()).resolves.toBe('');
    await expect(page.getByLabel('Client ID').inputValue()).resolves.toBe(api.oidc.clientId);
    await browser.pageState(page, 'console-settings');
    expect(await integrationView(provider.key)).toMatchObject({
      source: 'catalogue',
      configured: true,
      enabled: true,
      clientIdPresent: true,
      clientSecretPresent: true,
      scopes: ['openid', 'offline_access', 'api:read'],
    });
  });

  it('connects it for the workspace through the connect page and the provider, and sees it active', async () => {
    await page.goto(at('/console/integrations'));
    await page.getByRole('link', { name: provider.name, exact: true }).click();
    await showsPage(page, provider.name);
    await expect(page.getByRole('heading', { level: 2, name: 'Your Connections' }).count()).resolves.toBe(1);
    await expect(bodyRows(page, 'Your Connections').count()).resolves.toBe(0);
    await browser.pageState(page, 'console-your-connections-empty', { screenshot: false });

    await page.getByRole('button', { name: 'Connect for the workspace' }).click();
    await showsPage(page, `Connect ${provider.name}`);
    const token = new URL(page.url()).pathname.split('/').pop()!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secrets.add('a connect link token', token);
    await expect(page.getByRole('main').textContent()).resolves.toContain('For the whole workspace');
    await page.getByRole('button', { name: 'Connect' }).click();
    await signInAndConsent(page, 'workspace-account');
    await showsPage(page, 'Connected');
    await page.getByRole('link', { name: 'Continue' }).click();

    await showsPage(page, provider.name);
    expect(new URL(page.url()).pathname).toBe(`/console/integrations/${provider.key}`);
    const rows = bodyRows(page, 'Your Connections');
    await expect(rows.count()).resolves.toBe(1);
    expect(await badges(rows.first())).toEqual(['active']);
    expect(await column(page, 'Your Connections', 'Scope')).toEqual([expect.stringMatching(/workspace/i)]);
    await browser.pageState(page, 'console-your-connections');

    const listed = await adminCall('GET', `/v1/connections?integration=${provider.key}`);
    expect(listed.body.connections).toEqual([
      expect.objectContaining({ status: 'active', scope: 'workspace', ownerUserId: null }),
    ]);
    connectionId = listed.body.connections[0].id;

    // The filter: none is inactive.
    await page.getByLabel('Status').selectOption('inactive');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=inactive/);
    await expect(rows.count()).resolves.toBe(0);
    await page.getByLabel('Status').selectOption({ label: 'Any' });
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((url) => url.searchParams.get('status') !== 'inactive');
    await expect(rows.count()).resolves.toBe(1);
  });

  it('opens the connection, refreshes it, deactivates and activates it', async () => {
    // Its link is its id (it has no name).
    await page.getByRole('link', { name: connectionId }).click();
    await showsPage(page, `${provider.name} connection`);
    expect(new URL(page.url()).pathname).toBe(`/console/connections/${connectionId}`);
    for (const section of ['Status', 'Actions', 'Events', 'Who used it', 'Dependents']) {
      await expect(page.getByRole('heading', { level: 2, name: section }).count()).resolves.toBe(1);
    }
    expect(await shownStatus()).toBe('active');
    await expect(page.getByRole('button', { name: 'Activate', exact: true }).count()).resolves.toBe(0);

    // An agent takes a token for a task: "Who used it" names it once the grants are written.
    const agent = await api.token({ role: 'agent', sub: 'research-agent' });
    const used = await api.call('POST', `/v1/connections/${connectionId}/token`, {
      token: agent,
      body: { taskId: 'task-42' },
    });
    expect(used.status).toBe(200);
    await api.flushGrants();
    await page.reload();
    expect(await column(page, 'Grants', 'Caller')).toEqual(['research-agent']);
    expect(await column(page, 'Grants', 'Task')).toEqual(['task-42']);
    await browser.pageState(page, 'console-connection');

    const refreshesBefore = api.oidc.tokenRequests('refresh_token');
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await page.waitForURL(/\?notice=refreshed$/);
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/\S/);
    expect(api.oidc.tokenRequests('refresh_token')).toBe(refreshesBefore + 1);
    expect(await shownStatus()).toBe('active');

    await page.getByRole('button', { name: 'Deactivate', exact: true }).click();
    await page.waitForURL(/\?notice=deactivated$/);
    expect(await shownStatus()).toBe('inactive');
    expect(await connection(connectionId)).toMatchObject({ status: 'inactive' });
    await expect(page.getByRole('button', { name: 'Deactivate', exact: true }).count()).resolves.toBe(0);
    await browser.pageState(page, 'console-connection-inactive', { screenshot: false });

    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/\?notice=activated$/);
    expect(await shownStatus()).toBe('active');
    expect(await connection(connectionId)).toMatchObject({ status: 'active' });
  });

  it('creates a reconnect link, shown once on its own page', async () => {
    await page.getByRole('button', { name: 'Create a reconnect link' }).click();
    await showsPage(page, 'Reconnect link');
    const open = page.getByRole('link', { name: 'Open the reconnect link' });
    const url = (await open.getAttribute('href'))!;
    expect(url).toMatch(new RegExp(`^${api.url.replaceAll('.', '\\.')}/connect/[A-Za-z0-9_-]{43}$`));
    await expect(page.getByRole('main').textContent()).resolves.toContain(url);
    const token = new URL(url).pathname.split('/').pop()!;
    const reconnectPage = page.url();
    secrets.add('a reconnect link token', token, (shown) => shown.href === reconnectPage);
    await browser.pageState(page, 'console-reconnect-link');
    await page.goto(at(`/console/connections/${connectionId}`));
    await showsPage(page, `${provider.name} connection`);
  });

  it('registers dependents and removes one', async () => {
    const register = async (kind: string, id: string, name: string) => {
      await page.getByLabel('Kind').selectOption(kind);
      await page.getByLabel('Dependent ID').fill(id);
      await page.getByLabel('Name').fill(name);
      await page.getByRole('button', { name: 'Register dependent' }).click();
      await table(page, 'Dependents').getByText(id, { exact: true }).waitFor();
    };
    await register('agent', 'research-agent', 'Research agent');
    await register('task', 'nightly-sync', 'Nightly sync');
    expect(await column(page, 'Dependents', 'ID')).toEqual(['research-agent', 'nightly-sync']);
    await browser.pageState(page, 'console-connection-dependents', { screenshot: false });

    const remove = page.getByRole('button', { name: 'Remove task nightly-sync' });
    await remove.click();
    await remove.waitFor({ state: 'detached' });
    expect(await column(page, 'Dependents', 'ID')).toEqual(['research-agent']);
    const listed = await adminCall('GET', `/v1/connections/${connectionId}/dependents`);
    expect(listed.body.dependents).toEqual([
      expect.objectContaining({ kind: 'agent', id: 'research-agent', name: 'Research agent' }),
    ]);
  });

  it('is shown what stops working, is refused an unconfirmed forced delete, and deletes when she confirms', async () => {
    await page.getByRole('link', { name: 'Delete connection' }).click();
    await showsPage(page, `Delete ${provider.name} connection`);
    await expect(page.getByRole('heading', { level: 2, name: 'What depends on it' }).count()).resolves.toBe(
      1,
    );
    expect(await column(page, 'Dependents', 'ID')).toEqual(['research-agent']);
    const stops = await column(page, 'Dependents', 'What stops working');
    expect(stops).toEqual([expect.stringMatching(/\S/)]);
    await expect(page.getByRole('button', { name: 'Delete connection' }).count()).resolves.toBe(0);
    const understood = page.getByRole('checkbox', {
      name: /^I understand that these 1 dependents? stops? working/,
    });
    await expect(understood.isChecked()).resolves.toBe(false);
    await browser.pageState(page, 'console-delete-review');

    // Not confirmed: the review again, saying so, and nothing done.
    const refused = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Delete anyway' }).click();
    expect((await refused).status()).toBe(400);
    await showsPage(page, `Delete ${provider.name} connection`);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/\S/);
    await browser.pageState(page, 'console-delete-unconfirmed', { screenshot: false });
    expect(await connection(connectionId)).toMatchObject({ status: 'active' });

    await page.getByRole('checkbox', { name: /^I understand that/ }).check();
    await page.getByRole('button', { name: 'Delete anyway' }).click();
    await page.waitForURL(new RegExp(`/console/connections/${connectionId}\\?notice=deleted$`));
    await showsPage(page, `${provider.name} connection`);
    expect(await shownStatus()).toBe('disconnected');
    expect(await connection(connectionId)).toMatchObject({ status: 'disconnected' });
    // The events as the API lists them: each transition, the last one her delete.
    const events = await adminCall('GET', `/v1/connections/${connectionId}/events`);
    const transitions = (events.body.events as Array<{ to: string }>).map((event) => event.to);
    expect(transitions.slice(-3)).toEqual(['inactive', 'active', 'disconnected']);
    expect(await column(page, 'Events', 'To')).toEqual(
      expect.arrayContaining(transitions.map((to) => expect.stringContaining(to))),
    );
    expect(await bodyRows(page, 'Events').count()).toBe(transitions.length);
    expect(
      (await column(page, 'Events', 'Actor')).filter((actor) => actor.includes('ada')).length,
    ).toBeGreaterThan(0);
    // Nothing left to do on a disconnected connection but read it.
    for (const action of ['Refresh now', 'Deactivate', 'Activate']) {
      await expect(page.getByRole('button', { name: action, exact: true }).count()).resolves.toBe(0);
    }
    await browser.pageState(page, 'console-connection-deleted');
  });

  it('shows "Not found" for an id nobody has', async () => {
    const answer = await page.goto(at(`/console/connections/${randomUUID()}`));
    expect(answer?.status()).toBe(404);
    await showsPage(page, 'Not found');
    await browser.pageState(page, 'console-not-found');
  });

  it('signs out: the session ends, and the console asks for a sign-in again', async () => {
    await page.goto(at('/console/integrations'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await showsPage(page, 'Signed out');
    await browser.pageState(page, 'console-signed-out');
    expect((await ada.cookies()).filter((c) => c.name === 'connections_console')).toEqual([]);
    const answer = await page.goto(at('/console/integrations'));
    expect(answer?.status()).toBe(401);
    await showsPage(page, 'Sign in needed');
    await browser.pageState(page, 'console-sign-in-needed');
  });

  it("opens an operator's page with an operator link", async () => {
    const olive = await browser.person();
    const operator = await signInWith(olive, await operatorSignInUrl(api, 'olive'), secrets, {
      lands: 'Operator',
      names: ['operator'],
    });
    expect(new URL(operator.url()).pathname).toBe('/console/operator');
    await browser.pageState(operator, 'console-operator');
    // An operator session opens no workspace.
    const answer = await operator.goto(at('/console/integrations'));
    expect(answer?.status()).toBe(401);
    await olive.close();
  });

  it('sent every page with no-store, a strict CSP, a language and a title', async () => {
    expect(browser.servedPages.length).toBeGreaterThan(15);
    expect(pagesSentUnsafely(browser.servedPages)).toEqual([]);
  });

  it('put no credential in any page (but the one that gives it), log line or history', async () => {
    // Positive control: the scan finds what is there.
    expect(
      secrets.inPages([{ url: at('/x'), status: 200, headers: {}, html: api.oidc.clientSecret }]),
    ).toEqual(["the provider's client secret in /x"]);
    const leaks = await secrets.leaks(browser.servedPages);
    expect(leaks.pages).toEqual([]);
    expect(leaks.logs).toEqual([]);
    expect(leaks.histories.workflows).toBeGreaterThan(0);
    expect(leaks.histories.found).toEqual([]);
  });
});
