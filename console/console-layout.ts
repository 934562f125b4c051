// The console's frame: every console page is sent with the kit's layout and headers (pages/layout.ts), wide,
// with a navigation header naming who is signed in and a Sign out form; the status badge (the status as a
// word, coloured, never colour alone); a form's hidden CSRF field; and the pages of refusals (sign-in needed,
// not found, not allowed, form expired, not valid, unavailable), in fixed words.
import type { Response } from 'express';
import type { ConnectionStatus } from '../workflows/messages.js';
import { html, type HtmlValue, type SafeHtml } from '../pages/html.js';
import { sendPage } from '../pages/layout.js';
import type { ConsoleSession } from './console-page.js';

/** The hidden field that carries the session's CSRF token: in every console form. */
export function csrfInput(session: Pick<ConsoleSession, 'csrf'>): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${session.csrf}" />`;
}

/** A connection's status as a badge: the word itself, so that it reads without colour too. */
export function statusBadge(status: ConnectionStatus): SafeHtml {
  return html`<span class="badge badge-${status}">${status}</span>`;
}

/**
 * A table of the console: its caption (what the browser test and screen readers find it by), its column
 * headings (a false one left out), its rows; or `empty`, a sentence, when there is no row.
 */
export function dataTable(table: {
  caption: string;
  columns: ReadonlyArray<string | false>;
  rows: readonly SafeHtml[];
  empty: string;
}): SafeHtml {
  if (table.rows.length === 0) return html`<p>${table.empty}</p>`;
  const columns = table.columns.filter((column): column is string => column !== false);
  return html`<table>
    <caption>
      ${table.caption}
    </caption>
    <thead>
      <tr>
        ${columns.map((column) => html`<th scope="col">${column}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${table.rows}
    </tbody>
  </table>`;
}

function navigation(session: ConsoleSession | undefined): SafeHtml {
  if (!session) return html`<nav aria-label="Console"><a href="/console">Connections console</a></nav>`;
  const { caller } = session;
  return html`<nav aria-label="Console">
    <a href="/console/integrations">Integrations</a>
    ${caller.role === 'owner' || caller.role === 'admin' ? html`<a href="/console/agents">Agents</a>` : ''}
    <span>Signed in as ${caller.sub} (${caller.role}), workspace ${caller.workspace}</span>
    <form method="post" action="/console/sign-out">
      ${csrfInput(session)}
      <button type="submit">Sign out</button>
    </form>
  </nav>`;
}

export interface ConsolePage {
  title: string;
  body: HtmlValue;
  /** An outcome to announce at the top (after a form: "Refreshed", "Saved"). */
  notice?: string;
  /** Origins a form of the page may be redirected to after its POST. */
  formOrigins?: readonly string[];
}

/** Sends a console page at a status: navigation, the title as the page's one h1, then its body. */
export function sendConsolePage(
  res: Response,
  status: number,
  session: ConsoleSession | undefined,
  page: ConsolePage,
): void {
  sendPage(res, status, {
    title: `${page.title} · Connections console`,
    wide: true,
    header: navigation(session),
    formOrigins: page.formOrigins,
    body: html`<h1>${page.title}</h1>
      ${page.notice ? html`<p role="status">${page.notice}</p>` : ''} ${page.body}`,
  });
}

export type ConsoleProblem = 'invalid' | 'form_expired' | 'forbidden' | 'not_found' | 'unavailable' | string;

function problemWords(problem: ConsoleProblem, status: number): { title: string; text: string } {
  if (problem === 'form_expired') {
    return {
      title: 'Form expired',
      text: 'This form could not be checked (it may be from another session, or an old page). Nothing was changed. Go back, reload the page and try again.',
    };
  }
  if (problem === 'invalid' || status === 400 || status === 413) {
    return { title: 'Not valid', text: 'This address or form is not valid. Nothing was changed.' };
  }
  if (problem === 'not_found' || status === 404) {
    return {
      title: 'Not found',
      text: 'There is nothing here, or nothing you can see in this workspace.',
    };
  }
  if (problem === 'forbidden' || status === 403) {
    return { title: 'Not allowed', text: 'Your role may not do this. Nothing was changed.' };
  }
  if (status >= 500) {
    return {
      title: 'Not available now',
      text: 'A part of the service or the provider could not be reached. Nothing was changed. Try again in a moment.',
    };
  }
  return { title: 'Not done', text: 'This could not be done. Nothing was changed.' };
}

/**
 * The page of a refusal at its status. `detail` (the refusal's own message, made by the service, never a
 * credential) is shown below the fixed words, escaped like everything else.
 */
export function sendConsoleProblem(
  res: Response,
  status: number,
  problem: ConsoleProblem,
  session?: ConsoleSession,
  detail?: string,
): void {
  const { title, text } = problemWords(problem, status);
  sendConsolePage(res, status, session, {
    title,
    body: html`<p>${text}</p>
      ${detail && status !== 404 ? html`<p class="muted">${detail}</p>` : ''}
      ${session ? html`<p><a href="/console/integrations">Back to the integrations</a></p>` : ''}`,
  });
}

/** The page for a browser without a valid session: how to get a sign-in link. */
export function sendSignInRequired(res: Response): void {
  sendConsolePage(res, 401, undefined, {
    title: 'Sign in needed',
    body: html`<p>
        The console opens with a one-time sign-in link. With the embedded default,
        <code>npm start</code> prints one, and <code>npm run token -- --console</code> mints another; a
        platform in front of this service hands its signed-in users over with a link of its own (see the
        README, "Console").
      </p>
      <p>Sessions end after a while and on Sign out; then sign in again.</p>`,
  });
}
