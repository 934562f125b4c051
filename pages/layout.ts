// The one layout of every server-rendered page (the connect pages, the OAuth callback's pages, the console)
// and the headers each page is sent with: nothing cached, no script at all, the one inline stylesheet allowed
// by its hash, forms posting only to the service (and, for a form that starts an authorization, to the
// provider's origin: Chromium applies form-action to the redirect that follows the POST), no framing, no
// referrer (a page's URL can be a bearer link).
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { html, trustedHtml, type SafeHtml } from './html.js';

const stylesheet = [
  'body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b;background:#fff}',
  'h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:1.5rem}',
  'label{display:block;font-weight:600;margin-top:1rem}',
  'input[type=password]{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font:inherit}',
  'button,.button{display:inline-block;margin-top:1rem;padding:.55rem 1.2rem;font:inherit;color:#fff;background:#0b57d0;border:0;border-radius:.3rem;text-decoration:none;cursor:pointer}',
  'button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #1b1b1b;outline-offset:2px}',
  'a{color:#0b57d0}',
  '[role=alert]{padding:.6rem .8rem;border:2px solid #b3261e;color:#b3261e;border-radius:.3rem}',
  '.muted{color:#4a4a4a}',
].join('');

const styleHash = createHash('sha256').update(stylesheet).digest('base64');
// Made outside the page template, so that no formatting of the template can change the hashed text.
const styleElement = trustedHtml(`<style>${stylesheet}</style>`);

/** The Content-Security-Policy of a page: `formOrigins` are origins its forms may end at besides the service. */
export function pageCsp(formOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    `form-action ${["'self'", ...formOrigins].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export interface Page {
  title: string;
  body: SafeHtml;
  /** Origins a form of the page may be redirected to after its POST (an authorization's provider). */
  formOrigins?: readonly string[];
}

export function renderPage(page: Pick<Page, 'title' | 'body'>): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${page.title}</title>
        ${styleElement}
      </head>
      <body>
        <main>${page.body}</main>
      </body>
    </html> `.markup;
}

/** Sends a page at a status with the headers every page carries. */
export function sendPage(res: Response, status: number, page: Page): void {
  res
    .status(status)
    .type('html')
    .set({
      'cache-control': 'no-store',
      'content-security-policy': pageCsp(page.formOrigins),
      'referrer-policy': 'no-referrer',
    })
    .send(renderPage(page));
}
