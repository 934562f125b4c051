// The plain page the OAuth callback shows when there is nowhere to send the browser back to. It names what
// happened in fixed words; nothing the provider or the browser sent is echoed except a sanitised error code.
import type { Response } from 'express';
import { html } from '../pages/html.js';
import { sendPage } from '../pages/layout.js';
import { alreadyConnectedMessage } from './connection-errors.js';

export type CallbackOutcome =
  | { kind: 'connected' }
  | { kind: 'denied' }
  | { kind: 'refused' }
  | { kind: 'failed'; reason: string }
  | { kind: 'already_connected'; existingConnectionId?: string }
  | { kind: 'account_mismatch' }
  | { kind: 'other'; status: string };

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function words(outcome: CallbackOutcome): { title: string; text: string } {
  switch (outcome.kind) {
    case 'connected':
      return { title: 'Connected', text: 'The connection is ready. You can close this window.' };
    case 'denied':
      return {
        title: 'Access denied',
        text: 'Access was not granted, so the connection was not made. Start again to try once more.',
      };
    case 'refused':
      return {
        title: 'Link expired or already used',
        text: 'This authorization link has expired, was already used, or does not belong here. Nothing was changed. Start again from the application.',
      };
    case 'failed':
      return {
        title: 'Connection failed',
        text: `The provider answered with an error (${outcome.reason}). The connection was not made.`,
      };
    case 'already_connected':
      return {
        title: 'Account already connected',
        text: `${capitalised(alreadyConnectedMessage(outcome.existingConnectionId))}. Nothing new was stored.`,
      };
    case 'account_mismatch':
      return {
        title: 'A different account',
        text: "You signed in with another account than this connection's, so nothing was changed. Sign in with the connection's own account, or create a new connection for the other one.",
      };
    case 'other':
      return { title: 'Authorization finished', text: `The connection is now ${outcome.status}.` };
  }
}

export function sendCallbackPage(res: Response, status: number, outcome: CallbackOutcome): void {
  const { title, text } = words(outcome);
  sendPage(res, status, {
    title,
    body: html`<h1>${title}</h1>
      <p>${text}</p>`,
  });
}
