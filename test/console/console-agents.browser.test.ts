// The console's agents pages in a real browser (Debian's Chromium, test/support/browser.ts) over the real
// stack: an admin signs in, opens Agents, finds the agent registered on a connection of the stand-in API
// (an API-key integration on loopback), makes that integration read only for it and saves; then the agent's
// POST through the proxy is refused 403 policy_denied and its GET goes through with the connection's key, and
// the connection's page shows both grants with their outcome, method and path. A refused form keeps what was
// typed; the same change is made with the keyboard alone. Every page state is checked with axe and for CSP
// refusals and photographed (docs/screenshots/console-agents*.png with SCREENSHOTS_DIR=docs/screenshots);
// no page, log line or history holds a credential.
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { AgentPolicies } from '../../agent-policies/agent-policies.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { launchBrowser, pagesSentUnsafely, showsPage, type TestBrowser } from '../support/browser.js';
import { consoleSignInUrl } from '../support/console.js';
import { column, ConsoleSecrets, signInWith } from '../support/console-browser.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';

describe("the console's agents pages, in a real browser", () => {
  let api: ApiHarness;
  let provider: StandInApi;
  let browser: TestBrowser;
  let secrets: ConsoleSecrets;
  let ada: BrowserContext;
  let page: Page;
  let connectionId: string;
  let agentToken: string;
  const providerKey = 'stand-in-key-Vb38';
  const agentId = 'crm-agent';

  beforeAll(async () => {
    api = await startApiHarness({ rateLimits: { change: 1000 } });
    provider = await startStandInApi();
    provider.validKeys.add(providerKey);
    await configureStandInIntegration(api, provider);
    secrets = new ConsoleSecrets(api);
    secrets.add("the stand-in API's key", providerKey);

    const admin = await api.token({ role: 'admin', sub: 'ada' });
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'stand-in', scope: 'workspace', apiKey: providerKey },
    });
    expect(created.status).toBe(201);
    connectionId = created.body.connection.id;
    const registered = await api.call('PUT', `/v1/connections/${connectionId}/dependents/agent/${agentId}`, {
      token: admin,
      body: { name: 'CRM agent' },
    });
    expect(registered.status).toBe(201);
    agentToken = secrets.add("the agent's token", await api.token({ role: 'agent', sub: agentId }));

    browser = await launchBrowser([api.url]);
    ada = await browser.person();
  });

  afterAll(async () => {
    await browser?.close();
    await provider?.stop();
    await api?.stop();
  });

  const at = (path: string) => `${api.url}${path}`;
  const standIn = () => page.getByRole('group', { name: 'stand-in', exact: true });

  /** The agent's call through the proxy to the stand-in API. */
  const proxied = (method: string, path: string) =>
    api.call(method, `/v1/connections/${connectionId}/proxy${path}`, {
      token: agentToken,
      ...(method === 'POST' && { body: { name: 'new item' } }),
    });

  /** Presses Tab until `target` has the focus (at most 80 times), as a person using the keyboard only. */
  async function tabTo(target: Locator, what: string): Promise<void> {
    const focused = () => target.evaluate((element) => element.matches(':focus'));
    for (let presses = 0; !(await focused()); presses++) {
      if (presses === 80) throw new Error(`Tab never reached ${what} in 80 presses`);
      await page.keyboard.press('Tab');
    }
  }

  it('signs in and opens Agents from the navigation: the registered agent, no policy yet', async () => {
    page = await signInWith(ada, await consoleSignInUrl(api, { sub: 'ada', role: 'admin' }), secrets);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Agents' }).click();
    await showsPage(page, 'Agents');
    expect(await column(page, 'Agents', 'Agent')).toEqual([agentId]);
    expect(await column(page, 'Agents', 'Policy')).toEqual(["No policy: today's behaviour"]);
    expect(await column(page, 'Agents', 'Known from')).toEqual(['Dependent of 1 connection']);
    await browser.pageState(page, 'console-agents');

    // Before any policy, the agent may POST (today's behaviour).
    expect((await proxied('POST', '/echo/items')).status).toBe(200);
  });

  it('makes the stand-in API read only for the agent, and sees it saved', async () => {
    await page.getByRole('link', { name: agentId, exact: true }).click();
    await showsPage(page, `Agent ${agentId}`);
    await expect(standIn().getByLabel('Allowed', { exact: true }).isChecked()).resolves.toBe(true);
    await expect(standIn().getByLabel('Any method').isChecked()).resolves.toBe(true);
    await browser.pageState(page, 'console-agents-policy');

    await standIn().getByLabel('Read only (GET, HEAD)').check();
    await standIn().getByRole('button', { name: 'Save stand-in' }).click();
    await page.waitForURL(/\?notice=saved$/);
    await expect(page.getByRole('status').textContent()).resolves.toContain('Saved.');
    await expect(standIn().getByLabel('Read only (GET, HEAD)').isChecked()).resolves.toBe(true);
    await expect(page.getByRole('main').textContent()).resolves.toContain('Own policy: ');
    await browser.pageState(page, 'console-agents-saved');

    const policy = await new AgentPolicies(api.db).get(api.workspaceId, agentId);
    expect(policy?.integrations['stand-in']).toEqual({ methods: ['GET', 'HEAD'], paths: null, token: false });
  });

  it("refuses the agent's POST through the proxy by the policy, and lets its GET through", async () => {
    const before = provider.requests.length;
    const post = await proxied('POST', '/echo/items');
    expect(post.status).toBe(403);
    expect(post.body.error).toMatchObject({
      code: 'policy_denied',
      details: { rule: 'method', integration: 'stand-in', method: 'POST' },
    });
    // Refused before anything was sent.
    expect(provider.requests.length).toBe(before);

    const get = await proxied('GET', '/echo/items');
    expect(get.status).toBe(200);
    expect(provider.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/echo/items',
      authorization: `Bearer ${providerKey}`,
    });
  });

  it("shows both on the connection's page, with their outcome, method and path", async () => {
    await api.flushGrants();
    await page.goto(at(`/console/connections/${connectionId}`));
    await showsPage(page, 'stand-in connection');
    const outcomes = await column(page, 'Grants', 'Outcome');
    const methods = await column(page, 'Grants', 'Method');
    const rows = outcomes.map((outcome, i) => `${outcome} ${methods[i]}`);
    expect(rows).toEqual(expect.arrayContaining(['Refused (method rule) POST', 'Allowed GET']));
    expect(await column(page, 'Grants', 'Path')).toContain('/echo/items');
    expect(new Set(await column(page, 'Grants', 'Via'))).toEqual(new Set(['API']));
    await browser.pageState(page, 'console-agents-grants');
  });

  it('shows a refused form again with the problem at its field and what was typed, and stores nothing', async () => {
    await page.goto(at(`/console/agents/${agentId}`));
    await showsPage(page, `Agent ${agentId}`);
    await standIn().getByLabel('Path prefixes').fill('/echo\n/echo/../admin');
    await standIn().getByRole('button', { name: 'Save stand-in' }).click();
    await expect(standIn().getByRole('alert').textContent()).resolves.toMatch(
      /Path prefixes: .*dot segments/,
    );
    await expect(standIn().getByLabel('Path prefixes').inputValue()).resolves.toBe('/echo\n/echo/../admin');
    await expect(standIn().getByLabel('Path prefixes').getAttribute('aria-invalid')).resolves.toBe('true');
    await browser.pageState(page, 'console-agents-refused');
    const policy = await new AgentPolicies(api.db).get(api.workspaceId, agentId);
    expect(policy?.integrations['stand-in']?.paths).toBeNull();
  });

  it('is done with the keyboard alone: the other integration cleared and saved', async () => {
    await page.goto(at('/console/agents'));
    await tabTo(page.getByRole('link', { name: agentId, exact: true }), 'the agent');
    await page.keyboard.press('Enter');
    await showsPage(page, `Agent ${agentId}`);
    const other = page.getByRole('group', { name: api.integration, exact: true });
    await tabTo(other.getByLabel('Allowed', { exact: true }), `${api.integration}'s Allowed`);
    await page.keyboard.press('Space');
    await tabTo(other.getByRole('button', { name: `Save ${api.integration}` }), 'its Save button');
    await browser.pageState(page, 'console-agents-keyboard', { screenshot: false });
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?notice=saved$/);
    const policy = await new AgentPolicies(api.db).get(api.workspaceId, agentId);
    expect(Object.keys(policy?.integrations ?? {})).toEqual(['stand-in']);
  });

  it('removes the policy: the agent may POST again', async () => {
    await page.getByRole('button', { name: 'Remove policy' }).click();
    await page.waitForURL(/\?notice=removed$/);
    await expect(page.getByRole('status').textContent()).resolves.toContain('The policy is removed.');
    await expect(page.getByRole('main').textContent()).resolves.toContain("No policy: today's behaviour");
    await browser.pageState(page, 'console-agents-removed', { screenshot: false });
    expect((await proxied('POST', '/echo/items')).status).toBe(200);
  });

  it('sent every page with no-store, a strict CSP, a language and a title', async () => {
    expect(browser.servedPages.length).toBeGreaterThan(6);
    expect(pagesSentUnsafely(browser.servedPages)).toEqual([]);
  });

  it('put no credential in any page, log line or history', async () => {
    // Positive control: the scan finds what is there.
    expect(secrets.inPages([{ url: at('/x'), status: 200, headers: {}, html: agentToken }])).toEqual([
      "the agent's token in /x",
    ]);
    const leaks = await secrets.leaks(browser.servedPages);
    expect(leaks.pages).toEqual([]);
    expect(leaks.logs).toEqual([]);
    expect(leaks.histories.workflows).toBeGreaterThan(0);
    expect(leaks.histories.found).toEqual([]);
  });
});
