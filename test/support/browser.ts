// A real browser for tests of the pages: Debian's Chromium (CHROMIUM_PATH overrides /usr/bin/chromium)
// driven by playwright-core, headless. Playwright's own browser download does not work on these machines,
// so the browser is the system's (`.ci/run` installs it). Each person is a browser context of their own (own
// cookies, as two people on two machines); every page state is checked with axe (no serious or critical
// violation), must have had nothing refused by its Content-Security-Policy, and is photographed into
// SCREENSHOTS_DIR; every HTML answer the service sends is kept, so a test can search all of them for secrets.
import { AxeBuilder } from '@axe-core/playwright';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  type Page,
  type Response,
} from 'playwright-core';
import { projectRoot } from '../../platform/process.js';

export interface TestBrowser {
  browser: Browser;
  /**
   * A new person (a browser context of their own): nothing shared with any other person. `javaScript: false`
   * is a browser that runs no script (the pages must work without).
   */
  person(options?: { javaScript?: boolean }): Promise<BrowserContext>;
  /** Every text/html answer the service (origins given to launchBrowser) sent any person, in order. */
  servedPages: Array<{ url: string; status: number; headers: Record<string, string>; html: string }>;
  /** Axe on the page as it is now, and a screenshot named `name` (unless `screenshot: false`). */
  pageState(page: Page, name: string, options?: { screenshot?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export const screenshotsDir = path.resolve(
  projectRoot,
  process.env.SCREENSHOTS_DIR ?? path.join('test-results', 'screenshots'),
);

/** `serviceOrigins`: whose HTML answers are kept in `servedPages` (the API's; not the provider's). */
export async function launchBrowser(serviceOrigins: string[]): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // Chromium's sandbox refuses to start as root (CI runs as root); a normal user keeps it.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  const servedPages: TestBrowser['servedPages'] = [];
  // What the browser refused by the pages' Content-Security-Policy (an inline style whose hash is not the
  // one allowed, a form sent elsewhere), by page, until a page state looks.
  const refused = new Map<Page, string[]>();
  const noteRefusal = (message: ConsoleMessage) => {
    const page = message.page();
    if (!page || message.type() !== 'error' || !/Content Security Policy/i.test(message.text())) return;
    refused.set(page, [...(refused.get(page) ?? []), message.text()]);
  };
  const reading = new Set<Promise<void>>();
  const keep = (response: Response) => {
    const url = new URL(response.url());
    if (!serviceOrigins.includes(url.origin)) return;
    if (!(response.headers()['content-type'] ?? '').startsWith('text/html')) return;
    const read = response
      .text()
      .then((html) => {
        servedPages.push({
          url: response.url(),
          status: response.status(),
          headers: response.headers(),
          html,
        });
      })
      // A redirect's body, or one of a page already navigated away from, cannot be read: it was not shown.
      .catch(() => undefined)
      .finally(() => reading.delete(read));
    reading.add(read);
  };
  return {
    browser,
    servedPages,
    async person(options = {}) {
      const context = await browser.newContext({
        viewport: { width: 800, height: 560 },
        locale: 'en-GB',
        javaScriptEnabled: options.javaScript ?? true,
      });
      // A page state that does not come fails its wait in 15 s, with what was awaited.
      context.setDefaultTimeout(15_000);
      context.on('response', keep);
      context.on('console', noteRefusal);
      // Nothing leaves the machine (oidc-provider's pages import a web font): the test needs no network.
      await context.route(
        (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
        (route) => route.abort('blockedbyclient'),
      );
      return context;
    },
    async pageState(page, name, options = {}) {
      await page.waitForLoadState('load');
      await Promise.all(reading);
      const refusals = refused.get(page) ?? [];
      refused.delete(page);
      if (refusals.length) {
        throw new Error(`"${name}": the browser refused by the page's CSP:\n${refusals.join('\n')}`);
      }
      await expectAccessible(page, name);
      if (options.screenshot !== false) await screenshot(page, name);
    },
    async close() {
      await Promise.all(reading);
      await browser.close();
    },
  };
}

/** Fails naming every serious or critical axe violation of the page as it is now (WCAG 2.x A and AA). */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  const grave = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (grave.length) {
    const list = grave.map(
      (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target).join(', ')}`,
    );
    throw new Error(`accessibility of "${state}" ("${await page.title()}"):\n${list.join('\n')}`);
  }
}

/** A full-page PNG of the page as it is now, `<SCREENSHOTS_DIR>/<name>.png`; answers the file's path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** Waits for the page whose h1 is `title` (a click's navigation may not have landed yet); fails naming the h1 seen. */
export async function showsPage(page: Page, title: string): Promise<void> {
  try {
    await page.getByRole('heading', { level: 1, name: title, exact: true }).waitFor();
  } catch {
    const seen = await page.getByRole('heading', { level: 1 }).allTextContents();
    throw new Error(`expected the page "${title}"; the page's heading is ${JSON.stringify(seen)}`);
  }
}

/** oidc-provider's development pages (test/support/oidc-provider.ts): sign in with any login and password, then consent. */
export async function signInAndConsent(page: Page, login: string): Promise<void> {
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/**
 * What every page the service sent must carry: no-store, the strict CSP, a language and a title. Answers one
 * entry per page that does not (its path, link tokens masked, and what it lacks).
 */
export function pagesSentUnsafely(servedPages: TestBrowser['servedPages']): string[] {
  const directives = ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", 'form-action'];
  return servedPages.flatMap(({ url, headers, html }) => {
    const where = new URL(url).pathname.replace(/[A-Za-z0-9_-]{43}/, '<token>');
    const csp = headers['content-security-policy'] ?? '';
    const lacks = [
      ...(headers['cache-control'] === 'no-store' ? [] : ['no-store']),
      ...directives.filter((directive) => !csp.includes(directive)),
      ...(/<html[^>]* lang="en"/.test(html) ? [] : ['lang']),
      ...(/<title>[^<]+<\/title>/.test(html) ? [] : ['title']),
    ];
    return lacks.length ? [`${where}: ${lacks.join(', ')}`] : [];
  });
}
