// The console's doors: GET /console/sign-in?token=… shows who a sign-in link is for and a "Sign in" button
// (opening the page spends nothing, so a link previewer cannot use the link up); POST /console/sign-in spends
// the token once and opens the session (a workspace person's, or an operator's), with a CSRF token keyed by
// the browser cookie of connect/browser-binding.ts, and is rate limited by client address. GET /console
// leads to the integrations or to the sign-in-needed page; GET /console/operator is the operator's page; POST
// /console/sign-out ends the session its CSRF token belongs to. A sign-in token is never logged, nor written
// into a page other than the sign-in form that must carry it.
import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { RouteList, type Route } from '../api/routes.js';
import { credential } from '../api/validation.js';
import { browserIdOf, checkCsrf, csrfToken, ensureBrowserId } from '../connect/browser-binding.js';
import { html } from '../pages/html.js';
import { sendRateLimitedPage } from '../pages/layout.js';
import type { ConsoleSessions } from './console-auth.js';
import { csrfInput, sendConsolePage, sendConsoleProblem, sendSignInRequired } from './console-layout.js';
import type { ConsoleSession, OperatorSession } from './console-page.js';
import { consoleSessionStore } from './console-session-store.js';
import type { ConsoleDependencies } from './routes.js';
import type { SignIn, SignInVerifier } from './sign-in-links.js';

export interface SignInDependencies {
  /** Verifies sign-in tokens (sign-in-links.ts: createSignInVerifier). */
  verify: SignInVerifier;
  /** The session cookie's and the session's lifetime: CONSOLE_SESSION_TTL_SECONDS. */
  sessionTtlMs: number;
  /** Opens and ends sessions (console-auth.ts). */
  sessions: ConsoleSessions;
}

// JWTs of a platform's identity provider can be long (RSA signatures, many claims).
const tokenField = credential(8192);
// Link previewers and mail systems add parameters of their own: those are ignored, not refused.
const signInQuery = z.object({ token: tokenField });
const signInForm = z.strictObject({ token: tokenField, csrf: credential(100).optional() });
const signOutForm = z.strictObject({ csrf: credential(100).optional() });
/** What the browser-bound CSRF token of the sign-in form is keyed to (connect/browser-binding.ts). */
const SIGN_IN_FORM = 'console-sign-in';

function sendLinkProblem(res: Response, problem: 'invalid' | 'used', status?: number): void {
  const used = problem === 'used';
  sendConsolePage(res, status ?? (used ? 410 : 401), undefined, {
    title: used ? 'Sign-in link already used' : 'Sign-in link not valid',
    body: html`<p>
        ${
          used
            ? 'A sign-in link works once, and this one has been used. Nothing was changed.'
            : 'This sign-in link is not valid: it may have expired (links work for 15 minutes), or be incomplete. Nothing was changed.'
        }
      </p>
      <p>Ask for a new link (<code>npm run token -- --console</code>, or your platform's console link).</p>`,
  });
}

function who(signIn: SignIn) {
  return signIn.kind === 'operator'
    ? html`the operator <strong>${signIn.sub}</strong>`
    : html`<strong>${signIn.caller.sub}</strong> (${signIn.caller.role}) in workspace
        <strong>${signIn.caller.workspace}</strong>`;
}

export function signInRoutes(
  deps: Pick<ConsoleDependencies, 'db' | 'publicUrl' | 'auth' | 'signIn' | 'temporalUi'>,
): Route[] {
  const registry = new RouteList();
  const { db, publicUrl, signIn } = deps;
  const onInvalid = (res: Response, _req: Request, status: number) =>
    status === 413 ? sendConsoleProblem(res, 413, 'invalid') : sendLinkProblem(res, 'invalid', status);

  /** The verified sign-in of a token not yet spent, or the problem. */
  async function usable(token: string): Promise<SignIn | 'invalid' | 'used'> {
    let verified: SignIn;
    try {
      verified = await signIn.verify(token);
    } catch {
      return 'invalid';
    }
    return (await consoleSessionStore.isSignInSpent(db, verified.tokenHash)) ? 'used' : verified;
  }

  registry.add({
    method: 'get',
    path: '/console',
    summary: 'The console: the integrations when signed in, else the page saying how to sign in',
    tags: ['console'],
    roles: 'public',
    pages: [401],
    redirect: 303,
    async handler({ req, res }) {
      if (!(await deps.auth.session(req))) return sendSignInRequired(res);
      res.redirect(303, '/console/integrations');
    },
  });

  registry.add({
    method: 'get',
    path: '/console/sign-in',
    summary:
      "A sign-in link's page: who it signs in, and a Sign in button (opening it spends nothing; the " +
      'platform hands a signed-in user over with this URL and a short-lived JWT)',
    tags: ['console'],
    roles: 'public',
    query: signInQuery,
    pages: [200, 400, 401, 410],
    onInvalid,
    async handler({ query, req, res }) {
      const found = await usable(query.token);
      if (typeof found === 'string') return sendLinkProblem(res, found);
      const browserId = ensureBrowserId(req, res, publicUrl);
      sendConsolePage(res, 200, undefined, {
        title: 'Sign in',
        body: html`<p>This link signs you in to the Connections console as ${who(found)}.</p>
          <form method="post" action="/console/sign-in">
            <input type="hidden" name="token" value="${query.token}" />
            <input type="hidden" name="csrf" value="${csrfToken(browserId, SIGN_IN_FORM)}" />
            <button type="submit">Sign in</button>
          </form>
          <p class="muted">The link works once; the session ends after a while, or when you sign out.</p>`,
      });
    },
  });

  registry.add({
    method: 'post',
    path: '/console/sign-in',
    summary: 'Spends a sign-in token once and opens the session (a cookie); 303 to the console',
    tags: ['console'],
    roles: 'public',
    body: signInForm,
    bodyType: 'form',
    pages: [400, 401, 403, 410, 413, 429],
    redirect: 303,
    rateLimit: 'callback',
    onInvalid,
    onRefused: sendRateLimitedPage,
    async handler({ body, req, res }) {
      const browserId = browserIdOf(req, publicUrl);
      if (!browserId || body.csrf === undefined || !checkCsrf(browserId, SIGN_IN_FORM, body.csrf)) {
        return sendConsoleProblem(res, 403, 'form_expired');
      }
      const found = await usable(body.token);
      if (typeof found === 'string') return sendLinkProblem(res, found);
      await consoleSessionStore.purgeExpired(db, new Date());
      if ((await consoleSessionStore.spendSignIn(db, found.tokenHash, found.expiresAt)) === 'used') {
        return sendLinkProblem(res, 'used');
      }
      if (found.kind === 'operator') {
        await signIn.sessions.open(res, { kind: 'operator', sub: found.sub }, signIn.sessionTtlMs);
        return res.redirect(303, '/console/operator');
      }
      await signIn.sessions.open(res, { kind: 'workspace', caller: found.caller }, signIn.sessionTtlMs);
      res.redirect(303, '/console/integrations');
    },
  });

  registry.add({
    method: 'get',
    path: '/console/operator',
    summary: "The operator's page (an operator session): where to read the workflows",
    tags: ['console'],
    roles: 'public',
    pages: [200, 401],
    async handler({ req, res }) {
      const operator = await deps.auth.operator(req);
      if (!operator) return sendSignInRequired(res);
      const ui = deps.temporalUi;
      sendConsolePage(res, 200, undefined, {
        title: 'Operator',
        body: html`<p>Signed in as the operator <strong>${operator.sub}</strong>.</p>
          ${
            ui
              ? html`<p>
                    <a href="${ui.url}/namespaces/${encodeURIComponent(ui.namespace)}/workflows"
                      >Open Temporal UI</a
                    >
                  </p>
                  <p>A connection's console page links its workflow there while this session lasts.</p>`
              : html`<p>No Temporal UI is configured for this service (TEMPORAL_UI_URL).</p>`
          }
          ${signOutButton(operator)}`,
      });
    },
  });

  registry.add({
    method: 'post',
    path: '/console/sign-out',
    summary: 'Ends the session (workspace or operator) whose CSRF token the form carries',
    tags: ['console'],
    roles: 'public',
    body: signOutForm,
    bodyType: 'form',
    pages: [200, 400, 401, 403, 413],
    onInvalid: (res, _req, status) => sendConsoleProblem(res, status === 413 ? 413 : 400, 'invalid'),
    async handler({ body, req, res }) {
      const session = await deps.auth.session(req);
      const operator = await deps.auth.operator(req);
      if (!session && !operator) return sendSignInRequired(res);
      const ends = [
        ...(session && sameToken(session.csrf, body.csrf) ? (['workspace'] as const) : []),
        ...(operator && sameToken(operator.csrf, body.csrf) ? (['operator'] as const) : []),
      ];
      if (ends.length === 0) {
        return sendConsoleProblem(res, 403, 'form_expired', session);
      }
      for (const kind of ends) await signIn.sessions.close(req, res, kind);
      sendConsolePage(res, 200, undefined, {
        title: 'Signed out',
        body: html`<p>You are signed out of the console. Open a new sign-in link to come back.</p>`,
      });
    },
  });

  return registry.routes;
}

function sameToken(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function signOutButton(session: ConsoleSession | OperatorSession) {
  return html`<form method="post" action="/console/sign-out">
    ${csrfInput(session)}
    <button type="submit">Sign out</button>
  </form>`;
}
