// Temporal UI that operators can read, in a real browser (test/support/browser.ts): Temporal's UI server as
// `npm start` runs it (test/support/temporal-ui.ts), its codec fetches sending the browser's cookies to the
// API's codec server. An operator signs in with an operator sign-in link, opens the UI from the console's
// operator page, and reads a connection's workflow input decoded (its id and integration in clear JSON, no
// codec banner, no encrypted payload), and gets there from a connection's console page too (its "Open in
// Temporal UI" link, for operators); a workspace admin signed in to the console in another browser sees
// the banner and the payload encrypted, and the codec server refuses the admin's cookie from the UI's own
// page. What the UI decoded holds no secret: no credential, no session cookie, no sign-in token.
import type { BrowserContext, Page } from 'playwright-core';
import { startApiHarness, connectThroughApi, type ApiHarness } from '../support/api.js';
import { launchBrowser, screenshot, type TestBrowser } from '../support/browser.js';
import { consoleSignInUrl, operatorSignInUrl } from '../support/console.js';
import { startTestTemporalUi, temporalUiOrigin, type TestTemporalUi } from '../support/temporal-ui.js';

/** `binary/encrypted`, the codec's encoding, as the UI shows an undecoded payload's metadata (base64). */
const encryptedMarker = Buffer.from('binary/encrypted').toString('base64');
const codecBanner = 'Codec Server could not connect';

describe('Temporal UI for operators, in a real browser', () => {
  let api: ApiHarness;
  let ui: TestTemporalUi;
  let browser: TestBrowser;
  let connectionId: string;
  /** What the codec server answered the UI in the browser (the UI's decoded payloads), by person. */
  const decodedByUi: string[] = [];

  beforeAll(async () => {
    const { port, origin } = await temporalUiOrigin();
    api = await startApiHarness({ temporalUiOrigin: origin });
    ui = await startTestTemporalUi({ port, codecEndpoint: `${api.url}/codec` });
    browser = await launchBrowser([api.url]);
    // A workspace connection of the OAuth integration, made through the API and oidc-provider.
    connectionId = await connectThroughApi(api, await api.token({ role: 'admin' }), 'workspace');
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.stop();
    await api?.stop();
  });

  /** Opens a sign-in link and presses "Sign in", as a person does; answers the page it lands on. */
  async function signIn(person: BrowserContext, link: string): Promise<Page> {
    const page = await person.newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/console/sign-in'));
    return page;
  }

  const workflowUrl = () => `${ui.url}/namespaces/default/workflows/connection-${connectionId}`;
  /** The workflow page's "Input" card: its heading, then the code view the UI shows the input in. */
  const input = (page: Page) =>
    page.getByRole('heading', { name: 'Input', level: 2 }).locator('xpath=following::*[@role="textbox"][1]');

  function keepCodecAnswers(page: Page) {
    page.on('response', (response) => {
      if (!response.url().startsWith(`${api.url}/codec/`) || response.request().method() !== 'POST') return;
      void response
        .text()
        .then((text) => decodedByUi.push(text))
        .catch(() => undefined);
    });
  }

  it("shows an operator the connection's workflow input decoded, with no codec banner", async () => {
    const operator = await browser.person();
    const link = await operatorSignInUrl(api);
    const consolePage = await signIn(operator, link);
    await consolePage.getByRole('heading', { level: 1, name: 'Operator', exact: true }).waitFor();
    await browser.pageState(consolePage, 'console-operator', { screenshot: false });
    await consolePage.getByRole('link', { name: 'Open Temporal UI' }).click();
    await consolePage.waitForURL((url) => url.origin === ui.url);
    const opened = consolePage;
    // The UI scrolls inside its own frame, so a full-page picture is the window: one tall enough for it.
    await opened.setViewportSize({ width: 1280, height: 1100 });

    keepCodecAnswers(opened);
    await opened.goto(workflowUrl());
    await opened.getByRole('heading', { name: `connection-${connectionId}`, level: 1 }).waitFor();
    // The input in clear JSON: the connection's id and integration key, as the workflow was started with.
    await input(opened)
      .filter({ hasText: `"id": "${connectionId}"` })
      .waitFor();
    const text = await input(opened).innerText();
    expect(text).toContain(`"integration": "${api.integration}"`);
    expect(text).not.toContain(encryptedMarker);
    // The UI's own word that the codec answered (its spelling), and no banner.
    await opened.getByRole('button', { name: 'Codec Server succesfully converted content' }).waitFor();
    expect(await opened.getByText(codecBanner).count()).toBe(0);
    await input(opened).scrollIntoViewIfNeeded();
    await screenshot(opened, 'temporal-ui-decoded');

    // The input is the connection's reference: names and ids, never a credential.
    const shown = JSON.parse(text.slice(text.indexOf('{'))) as {
      connection: Record<string, unknown>;
    };
    expect(Object.keys(shown.connection).sort()).toEqual(
      expect.arrayContaining(['authType', 'id', 'integration', 'scope', 'workspaceId']),
    );
    expect(JSON.stringify(shown)).not.toMatch(/token|secret|password|apiKey/i);

    // Nothing the UI decoded holds a secret: no credential the vault sealed, no cookie, no sign-in token.
    const cookies = (await operator.cookies()).map((cookie) => cookie.value).filter((v) => v.length >= 16);
    expect(decodedByUi.length).toBeGreaterThan(0);
    const everything = decodedByUi.join('\n') + (await opened.locator('body').innerText());
    const signInToken = new URL(link).searchParams.get('token')!;
    const leaked = [...api.vault.secrets, ...cookies, signInToken].filter((secret) =>
      everything.includes(secret),
    );
    expect(leaked).toEqual([]);
    await operator.close();
  });

  it("takes an admin who is also signed in as an operator from the connection's console page to its decoded workflow", async () => {
    const person = await browser.person();
    await signIn(person, await consoleSignInUrl(api, { sub: 'admin-2', role: 'admin' }));
    const page = await signIn(person, await operatorSignInUrl(api, 'operator-2'));
    await page.goto(`${api.url}/console/connections/${connectionId}`);
    await page.setViewportSize({ width: 1280, height: 1100 });
    await page.getByRole('link', { name: 'Open in Temporal UI' }).click();
    await page.waitForURL(workflowUrl());
    await input(page)
      .filter({ hasText: `"id": "${connectionId}"` })
      .waitFor();
    await page.getByRole('button', { name: 'Codec Server succesfully converted content' }).waitFor();
    expect(await page.getByText(codecBanner).count()).toBe(0);
    await person.close();
  });

  it("shows a workspace admin's browser the payload encrypted and the codec banner; the codec refuses its cookie", async () => {
    const admin = await browser.person();
    const consolePage = await signIn(admin, await consoleSignInUrl(api, { sub: 'admin-1', role: 'admin' }));
    expect(new URL(consolePage.url()).pathname).toMatch(/^\/console\/integrations/);

    const page = await admin.newPage();
    await page.setViewportSize({ width: 1280, height: 1100 });
    await page.goto(workflowUrl());
    await page.getByRole('heading', { name: `connection-${connectionId}`, level: 1 }).waitFor();
    await page.getByRole('alert').filter({ hasText: codecBanner }).waitFor();
    await input(page).filter({ hasText: encryptedMarker }).waitFor();
    expect(await input(page).innerText()).not.toContain(connectionId);
    await input(page).scrollIntoViewIfNeeded();
    await screenshot(page, 'temporal-ui-encrypted');

    // From the UI's own page (its Origin), with the admin's console cookie, as the UI's fetch sends it.
    const answer = await page.evaluate(async (codecUrl) => {
      const response = await fetch(`${codecUrl}/decode`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default' },
        body: JSON.stringify({ payloads: [] }),
      });
      return { status: response.status, body: await response.text() };
    }, `${api.url}/codec`);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'unauthorized' } });
    // The admin's browser did hold its console session cookie (it is what was refused).
    expect((await admin.cookies(api.url)).map((cookie) => cookie.name)).toContain('connections_console');
    await admin.close();
  });
});
