// The console in a real browser (test/support/browser.ts): signing a person in with a sign-in link as the
// printed one, reading the console's tables and badges as a person reads them, and the values no page, log
// line or history may hold. Some must be shown exactly once, on the page that gives them (a sign-in link's
// token is the hidden field of its sign-in page, a reconnect link is the text of its own page), so each
// secret can name the one page it may appear on.
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import type { ApiHarness } from './api.js';
import { showsPage, type TestBrowser } from './browser.js';
import { secretsInHistories } from './secret-scan.js';

export class ConsoleSecrets {
  private readonly values = new Map<string, { what: string; shownOn?: (page: URL) => boolean }>();

  constructor(private readonly api: ApiHarness) {}

  /** A value no page may hold, but the one `shownOn` admits; no log line either (the harness checks at stop). */
  add(what: string, value: string, shownOn?: (page: URL) => boolean): string {
    this.values.set(value, { what, shownOn });
    this.api.addSecret(value);
    return value;
  }

  /** The person's session and browser cookies: their values are credentials (their CSRF tokens are not). */
  async addCookiesOf(person: BrowserContext): Promise<void> {
    for (const cookie of await person.cookies()) {
      if (/connections_(console|operator|browser)$/.test(cookie.name)) {
        this.add(`the ${cookie.name} cookie`, cookie.value);
      }
    }
  }

  all(): string[] {
    return [...this.values.keys()];
  }

  /** Each secret found in a page it may not be on: what it is and the page's path (never the value). */
  inPages(served: TestBrowser['servedPages']): string[] {
    return served.flatMap(({ url, html }) => {
      const page = new URL(url);
      return [...this.values]
        .filter(([value, { shownOn }]) => html.includes(value) && !shownOn?.(page))
        .map(([, { what }]) => `${what} in ${page.pathname}`);
    });
  }

  /** Each secret found in a log line: what it is. */
  inLogs(lines: string[]): string[] {
    return [...this.values]
      .filter(([value]) => lines.some((line) => line.includes(value)))
      .map(([, { what }]) => what);
  }

  /**
   * Every vault credential added, then where any secret is found: pages (but its own), log lines, and the
   * histories of the harness's workflows (decoded with its codec key), with how many histories were read.
   */
  async leaks(served: TestBrowser['servedPages']) {
    for (const value of this.api.vault.secrets) this.add('a credential the vault sealed', value);
    const codec = new AesGcmPayloadCodec({ id: 'test', key: this.api.codecKey });
    const histories = await secretsInHistories(
      this.api.client,
      codec,
      `TaskQueue="${this.api.taskQueue}"`,
      this.all(),
    );
    return { pages: this.inPages(served), logs: this.inLogs(this.api.logLines), histories };
  }
}

/**
 * Opens a sign-in link in a new page of `person`, reads who it signs in, presses "Sign in" and waits for
 * the page it lands on (the integrations, or "Operator"). The link's token may appear on its sign-in page
 * only; the session's cookie is kept as a secret.
 */
export async function signInWith(
  person: BrowserContext,
  link: string,
  secrets: ConsoleSecrets,
  options: { lands?: string; names?: string[]; onPage?: (page: Page) => Promise<void> } = {},
): Promise<Page> {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error('a sign-in link carries its token');
  secrets.add(
    'a sign-in link token',
    token,
    (page) => page.pathname === '/console/sign-in' && page.searchParams.get('token') === token,
  );
  const page = await person.newPage();
  await page.goto(link);
  await showsPage(page, 'Sign in');
  const main = (await page.getByRole('main').textContent()) ?? '';
  const unnamed = (options.names ?? []).filter((name) => !main.includes(name));
  if (unnamed.length) throw new Error(`the sign-in page does not name ${unnamed.join(', ')}`);
  await options.onPage?.(page);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await showsPage(page, options.lands ?? 'Integrations');
  await secrets.addCookiesOf(person);
  return page;
}

/** The table whose caption is `caption`. */
export const table = (page: Page, caption: string): Locator => page.getByRole('table', { name: caption });

/** The body rows of the table (the header row left out). */
export const bodyRows = (page: Page, caption: string): Locator =>
  table(page, caption).locator('tbody').getByRole('row');

/** The status badges' words in `scope` (statusBadge: the status as a word). */
export const badges = (scope: Page | Locator): Promise<string[]> => scope.locator('.badge').allTextContents();

/** A form's submit after its hidden CSRF field was removed (as a page from an old session would post). */
export async function withoutCsrf(button: Locator): Promise<void> {
  // Runs in the page (no DOM types here): a button's form, and its hidden field.
  type InPage = { form: { querySelector(selector: string): { remove(): void } | null } | null };
  const removed = await button.evaluate((element) => {
    const field = (element as unknown as InPage).form?.querySelector('input[name="csrf"]');
    field?.remove();
    return field !== null && field !== undefined;
  });
  if (!removed) throw new Error("the button's form has no CSRF field to remove");
  await button.click();
}

/** The words of one column (by its header) of each body row of the table whose caption is `caption`. */
export async function column(page: Page, caption: string, header: string): Promise<string[]> {
  const headers = (await table(page, caption).getByRole('columnheader').allTextContents()).map((h) =>
    h.trim(),
  );
  const index = headers.indexOf(header);
  if (index < 0) throw new Error(`the table "${caption}" has no column "${header}" (${headers.join(', ')})`);
  const rows = await bodyRows(page, caption).all();
  return Promise.all(
    rows.map(async (row) =>
      ((await row.getByRole('cell').or(row.getByRole('rowheader')).nth(index).textContent()) ?? '').trim(),
    ),
  );
}
