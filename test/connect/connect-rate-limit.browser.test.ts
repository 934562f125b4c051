// A browser over the connect page's or the OAuth callback's per-address limit is told so with a page, as every
// answer of the browser routes is (never the API's JSON error), and is told when to try again (Retry-After).
// Its own harness: the limits are set low here so that a few page loads cross them.
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';

describe('the connect page over its rate limit, in a real browser', () => {
  let api: ApiHarness;
  let browser: TestBrowser;

  beforeAll(async () => {
    api = await startApiHarness({ ownPublicUrl: true, rateLimits: { connect: 3, callback: 3 } });
    browser = await launchBrowser([api.url]);
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  it('answers a page at 429 with Retry-After once the address has used its budget', async () => {
    const member = await api.token({ role: 'member', sub: 'wes' });
    const created = await api.call('POST', '/v1/connect-sessions', {
      token: member,
      body: { integration: api.integration, scope: 'user' },
    });
    expect(created.status).toBe(201);
    api.addSecret(new URL(created.body.url).pathname.split('/').pop()!);
    const wes = await browser.person();
    const page = await wes.newPage();
    let answer = await page.goto(created.body.url);
    for (let loads = 1; answer?.status() !== 429; loads++) {
      if (loads === 10) throw new Error('the connect page was never rate limited in 10 loads');
      expect(answer?.status()).toBe(200);
      answer = await page.reload();
    }
    expect(answer.headers()['content-type']).toMatch(/^text\/html/);
    expect(Number(answer.headers()['retry-after'])).toBeGreaterThan(0);
    expect(answer.headers()['cache-control']).toBe('no-store');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/\S/);
    await browser.pageState(page, 'rate-limited', { screenshot: false });
    await wes.close();
  });

  it('answers the OAuth callback with a page at 429 once the address has used its budget', async () => {
    const xia = await browser.person();
    const page = await xia.newPage();
    // A state nothing knows: its page until the budget is spent, then the limit's.
    const callback = `${api.url}/v1/oauth/callback?state=${'s'.repeat(43)}&code=c`;
    let answer = await page.goto(callback);
    for (let loads = 1; answer?.status() !== 429; loads++) {
      if (loads === 10) throw new Error('the callback was never rate limited in 10 loads');
      expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
      answer = await page.reload();
    }
    expect(answer.headers()['content-type']).toMatch(/^text\/html/);
    expect(Number(answer.headers()['retry-after'])).toBeGreaterThan(0);
    await browser.pageState(page, 'callback-rate-limited', { screenshot: false });
    await xia.close();
  });
});
