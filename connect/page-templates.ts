// The connect pages' markup: the connect form (OAuth and API key), the choice among several integrations,
// and the result pages, in fixed words. Everything shown that came from outside (names, the reason, the
// workspace and user ids) is escaped by the kit's template; a page never holds the link's token, a state or
// a key. The accessible names (headings, the "Connect" button, the "API key" field) are what people and the
// browser test find the page by.
import type { Response } from 'express';
import { html, type SafeHtml } from '../pages/html.js';
import { sendPage } from '../pages/layout.js';
import type { ConnectReason } from './connect-session-store.js';

export interface ConnectFormView {
  integration: string;
  displayName: string;
  workspaceId: string;
  scope: 'workspace' | 'user';
  userId: string | null;
  reason: ConnectReason | null;
  reconnect: boolean;
  csrf: string;
  /** The scopes the authorization asks for (OAuth); undefined for an API key. */
  oauthScopes?: string[];
  /** The provider's authorization origin, which the form's POST is redirected to (OAuth). */
  providerOrigin?: string;
  /** An alert shown above the form (a rejected key). */
  alert?: string;
}

function whoFor(view: { workspaceId: string; scope: 'workspace' | 'user'; userId: string | null }): SafeHtml {
  return html`<p>Workspace ${view.workspaceId}</p>
    <p>${view.scope === 'user' ? `For you: ${view.userId ?? ''}` : 'For the whole workspace'}</p>`;
}

function whoIsAsking(reason: ConnectReason | null): SafeHtml {
  if (!reason || (!reason.agentId && !reason.taskId && !reason.text)) return html``;
  return html`<section aria-labelledby="who-is-asking">
    <h2 id="who-is-asking">Who is asking</h2>
    <dl>
      ${
        reason.agentId
          ? html`<dt>Agent</dt>
              <dd>${reason.agentId}</dd>`
          : ''
      }
      ${
        reason.taskId
          ? html`<dt>Task</dt>
              <dd>${reason.taskId}</dd>`
          : ''
      }
      ${
        reason.text
          ? html`<dt>Reason</dt>
              <dd>${reason.text}</dd>`
          : ''
      }
    </dl>
  </section>`;
}

export function sendConnectForm(res: Response, status: number, view: ConnectFormView): void {
  const title = `Connect ${view.displayName}`;
  const access =
    view.oauthScopes === undefined
      ? html``
      : html`<h2 id="access-requested">Access requested</h2>
          ${
            view.oauthScopes.length
              ? html`<ul aria-labelledby="access-requested">
                  ${view.oauthScopes.map((scope) => html`<li>${scope}</li>`)}
                </ul>`
              : html`<ul aria-labelledby="access-requested">
                  <li>The provider's default access</li>
                </ul>`
          }`;
  const keyField =
    view.oauthScopes === undefined
      ? html`<label for="api-key">API key</label>
          <input
            id="api-key"
            name="apiKey"
            type="password"
            autocomplete="off"
            required
            maxlength="4096"
            ${view.alert ? html` aria-describedby="form-alert" aria-invalid="true" autofocus` : ''}
          />`
      : html``;
  sendPage(res, status, {
    title,
    formOrigins: view.providerOrigin ? [view.providerOrigin] : [],
    body: html`<h1>${title}</h1>
      ${view.alert ? html`<p id="form-alert" role="alert">${view.alert}</p>` : ''} ${whoFor(view)}
      ${view.reconnect ? html`<p>This reconnects an existing connection; its id stays the same.</p>` : ''}
      ${access} ${whoIsAsking(view.reason)}
      <form method="post">
        <input type="hidden" name="csrf" value="${view.csrf}" />
        <input type="hidden" name="integration" value="${view.integration}" />
        ${keyField}
        <button type="submit">Connect</button>
      </form>`,
  });
}

export function sendIntegrationChoice(
  res: Response,
  view: {
    workspaceId: string;
    scope: 'workspace' | 'user';
    userId: string | null;
    reason: ConnectReason | null;
    integrations: Array<{ key: string; displayName: string }>;
  },
): void {
  sendPage(res, 200, {
    title: 'Connect an account',
    body: html`<h1>Connect an account</h1>
      ${whoFor(view)} ${whoIsAsking(view.reason)}
      <h2 id="choose">Choose what to connect</h2>
      <ul aria-labelledby="choose">
        ${view.integrations.map(
          ({ key, displayName }) =>
            html`<li><a href="?integration=${encodeURIComponent(key)}">Connect ${displayName}</a></li>`,
        )}
      </ul>`,
  });
}

export type ConnectResult =
  | { kind: 'connected'; displayName?: string; returnTo?: string }
  | { kind: 'not_connected'; why: string; returnTo?: string }
  | { kind: 'expired' }
  | { kind: 'used' }
  | { kind: 'other_browser' }
  | { kind: 'finished_elsewhere' }
  | { kind: 'forbidden' }
  | { kind: 'invalid' };

const resultStatus: Record<ConnectResult['kind'], number> = {
  connected: 200,
  not_connected: 200,
  expired: 410,
  used: 410,
  other_browser: 409,
  finished_elsewhere: 400,
  forbidden: 403,
  invalid: 400,
};

function resultWords(result: ConnectResult): { title: string; text: string } {
  switch (result.kind) {
    case 'connected':
      return {
        title: 'Connected',
        text: result.displayName
          ? `Your ${result.displayName} account is connected. You can close this window.`
          : 'The account is connected. You can close this window.',
      };
    case 'not_connected':
      return { title: 'Not connected', text: result.why };
    case 'expired':
      return {
        title: 'Link expired',
        text: 'This link has expired or does not exist. Nothing was changed. Ask for a new link.',
      };
    case 'used':
      return {
        title: 'Link already used',
        text: 'This link was already used to connect an account. Nothing was changed. Ask for a new link if you need one.',
      };
    case 'other_browser':
      return {
        title: 'Link in use in another browser',
        text: 'Connecting was started from this link in another browser, so it can be finished only there. Nothing was changed. Ask for a new link if that was not you.',
      };
    case 'finished_elsewhere':
      return {
        title: 'Finished in another browser',
        text: 'This authorization belongs to another browser: it was started there and can be finished only there. Nothing was changed.',
      };
    case 'forbidden':
      return {
        title: 'Form expired',
        text: 'This form could not be checked (it may be from another browser, or cookies are off). Nothing was changed. Open the link again and retry.',
      };
    case 'invalid':
      return {
        title: 'Link not valid',
        text: 'This link or form is not valid. Nothing was changed. Open the link you were sent again.',
      };
  }
}

/** Sends a result page at its status: `continueTo` is an allowed returnTo, linked as "Continue". */
export function sendConnectResult(
  res: Response,
  result: ConnectResult,
  status = resultStatus[result.kind],
): void {
  const { title, text } = resultWords(result);
  const returnTo = 'returnTo' in result ? result.returnTo : undefined;
  sendPage(res, status, {
    title,
    body: html`<h1>${title}</h1>
      <p>${text}</p>
      ${returnTo ? html`<p><a class="button" href="${returnTo}">Continue</a></p>` : ''}`,
  });
}
