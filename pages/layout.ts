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
  // The console: wider pages with a navigation header, tables, status badges (words, never colour alone).
  'body.wide{max-width:64rem}',
  'header nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;border-bottom:1px solid #c4c4c4;padding-bottom:.5rem}',
  'header nav form{margin:0 0 0 auto}header nav button{margin:0}',
  'table{border-collapse:collapse;width:100%;margin-top:.5rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d4d4d4;vertical-align:top}',
  'input[type=text],input[type=url],select,textarea{display:block;width:100%;box-sizing:border-box;padding:.45rem;margin-top:.25rem;font:inherit}',
  'input[type=checkbox]{margin-right:.4rem}label.inline{display:inline;font-weight:400}',
  'form.inline{display:inline-block;margin-right:.5rem}fieldset{border:1px solid #c4c4c4;margin-top:1rem}',
  '.badge{display:inline-block;padding:0 .45rem;border-radius:.8rem;font-size:.9rem;font-weight:600;border:1px solid currentColor}',
  '.badge-active{color:#0b5e1c;background:#e3f6e6}.badge-pending{color:#6b4e00;background:#fff4d0}',
  '.badge-inactive{color:#37474f;background:#eceff1}.badge-expired,.badge-failed{color:#8c1d18;background:#fde7e6}',
  '.badge-disconnected{color:#303030;background:#e6e6e6}',
  'button.danger{background:#b3261e}[role=status]{padding:.6rem .8rem;border:2px solid #0b5e1c;border-radius:.3rem}',
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
  /** Shown above the page's main content (the console's navigation). */
  header?: SafeHtml;
  /** A wide page (the console's tables). */
  wide?: boolean;
  /** Origins a form of the page may be redirected to after its POST (an authorization's provider). */
  formOrigins?: readonly string[];
}

export function renderPage(page: Pick<Page, 'title' | 'body' | 'header' | 'wide'>): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${page.title}</title>
        ${styleElement}
      </head>
      <body${page.wide ? html` class="wide"` : ''}>
        ${page.header ? html`<header>${page.header}</header>` : ''}
        <main>${page.body}</main>
      </body>
    </html> `.markup;
}

/**
 * The page of a browser route over its rate limit (the registry has set Retry-After): a browser is told with a
 * page, as by every other answer of its routes, never with the API's JSON error.
 */
export function sendRateLimitedPage(res: Response, refusal: { status: number }): void {
  const title = 'Too many requests';
  sendPage(res, refusal.status, {
    title,
    body: html`<h1>${title}</h1>
      <p>
        Too many requests came from your network in a short time. Nothing was changed. Wait a minute, then
        reload this page.
      </p>`,
  });
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
