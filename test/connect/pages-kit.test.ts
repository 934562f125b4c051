// The HTML kit (every interpolation escaped unless it is the kit's own markup; the stylesheet allowed by its
// hash) and the start URL's box (opens only with its own state, refuses an altered one).
import { createHash } from 'node:crypto';
import { html, trustedHtml } from '../../pages/html.js';
import { pageCsp, renderPage } from '../../pages/layout.js';
import {
  openAuthorizationUrl,
  sealAuthorizationUrl,
  startUrl,
} from '../../connections/authorization-url-box.js';

describe('the HTML kit', () => {
  it('escapes every interpolation, lists included, and keeps the kit’s own markup', () => {
    const hostile = `<script>alert("x")</script>&'`;
    const list = [hostile, html`<b>${hostile}</b>`];
    // Its HTML formatting would add whitespace to the markup under test:
    // prettier-ignore
    const page = html`<p title="${hostile}">${hostile}</p>${list}${trustedHtml('<hr>')}${undefined}${false}`;
    expect(page.markup).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>' +
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</b><hr>',
    );
  });

  it('allows exactly the layout’s inline stylesheet by its hash, and no script', () => {
    const rendered = renderPage({ title: 'T <1>', body: html`<h1>x</h1>` });
    const style = /<style>([\s\S]*?)<\/style>/.exec(rendered)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(pageCsp()).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    expect(pageCsp(['https://idp.example'])).toContain("form-action 'self' https://idp.example;");
    expect(rendered).toContain('<html lang="en">');
    expect(rendered).toContain('<title>T &lt;1&gt;</title>');
    expect(rendered).not.toContain('<script');
  });
});

describe('the start URL box', () => {
  const url = 'https://idp.example/authorize?client_id=c&state=the-state-value&code_challenge=x';

  it('opens with its own state only, and never holds the state or the URL in clear', () => {
    const box = sealAuthorizationUrl('the-state-value', url);
    expect(box).not.toContain('the-state-value');
    expect(Buffer.from(box, 'base64url').toString('latin1')).not.toContain('idp.example');
    expect(openAuthorizationUrl('the-state-value', box)).toBe(url);
    expect(openAuthorizationUrl('another-state', box)).toBeUndefined();
    const altered = Buffer.from(box, 'base64url');
    altered[altered.length - 1]! ^= 1;
    expect(openAuthorizationUrl('the-state-value', altered.toString('base64url'))).toBeUndefined();
    expect(openAuthorizationUrl('the-state-value', 'short')).toBeUndefined();
  });

  it('is reached at the service’s start URL, which carries the state the authorization URL already does', () => {
    expect(startUrl('https://connections.example/', url)).toBe(
      'https://connections.example/v1/oauth/start?state=the-state-value',
    );
  });
});
