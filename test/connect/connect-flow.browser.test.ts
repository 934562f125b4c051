// The hosted connect flow in a real browser (Debian's Chromium, test/support/browser.ts), over the real stack,
// done as the people do it: an agent task needs a member's personal account and records a connect link; the
// member opens it, reads who asks and why, clicks Connect, signs in and consents on oidc-provider's own
// development pages, and lands on "Connected", while the agent's ready long-poll and its waiting workflow
// wake. Then what must be refused is refused: the link in a second browser, a callback replayed in a browser
// that did not start it, an expired or spent link, a rejected API key (which leaves nothing behind); an
// expired connection is reconnected in place through its reconnect link, and its dependent hears `expired`
// then `recovered`. A link for several integrations offers the choice; one flow is done with the keyboard
// alone, two in a browser that runs no script; the direct API flow's start URL is bound like the page. Every
// page state is checked with axe and for CSP refusals and photographed (SCREENSHOTS_DIR; `npm run
// screenshots` writes the README's); every page carries no-store and the strict CSP, and no page, log line
// or history holds a link token, an API key, an authorization code or an access token.
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createExampleAgentActivities, type AgentTaskEvent } from '../../agents/example-agent-activities.js';
import type { ExampleAgentInput, ExampleAgentResult } from '../../agents/example-agent-workflow.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { projectRoot } from '../../platform/process.js';
import { workerDataConverter } from '../../temporal/data-converter.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { createWorker } from '../../worker/create-worker.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import {
  expectAccessible,
  launchBrowser,
  pagesSentUnsafely,
  showsPage,
  signInAndConsent,
  type TestBrowser,
} from '../support/browser.js';
import { withDeadline } from '../support/deadline.js';
import { testEnv } from '../support/env.js';
import { eventually, waiterRegistrations } from '../support/lifecycle.js';
import { secretsInHistories } from '../support/secret-scan.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';
import { noticeLinks, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

describe('the hosted connect flow in a real browser', () => {
  const webhookSecret = 'whsec-browser-0123456789abcdef';
  let receiver: WebhookReceiver;
  let api: ApiHarness;
  let standIn: StandInApi;
  let browser: TestBrowser;
  let agentWorker: { worker: Worker; connection: NativeConnection; running: Promise<void> };
  const agentQueue = `agent-tasks-${randomUUID()}`;
  const agentEvents: AgentTaskEvent[] = [];
  /** Values no page and no log line may hold: link tokens, API keys, authorization codes. */
  const secrets = new Set<string>();
  const goodKey = `key-good-${randomUUID()}`;
  const badKey = `key-bad-${randomUUID()}`;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(webhookSecret);

    // Every person here comes from 127.0.0.1: the pages' per-address limit would be one budget for them all.
    api = await startApiHarness({ ownPublicUrl: true, worker: false, rateLimits: { connect: 1000 } });
    // The worker sends health events to the receiver, minting expiries' reconnect links as the service does.
    await api.startWorker({
      webhook: { url: receiver.url, secret: webhookSecret, links: noticeLinks(api.db, api.url) },
    });
    standIn = await startStandInApi();
    standIn.validKeys.add(goodKey);
    for (const key of [goodKey, badKey]) {
      secrets.add(key);
      api.addSecret(key);
    }
    // The stand-in also serves the OAuth integration's API: it accepts exactly the tokens the service sealed.
    const keys = standIn.validKeys;
    keys.has = (key: string) => Set.prototype.has.call(keys, key) || api.vault.secrets.has(key);
    await configureStandInIntegration(api, standIn);
    const integration = (await integrationStore.get(api.db, api.workspaceId, api.integration))!;
    await integrationStore.configure(api.db, api.vault, {
      workspaceId: api.workspaceId,
      key: api.integration,
      provider: { ...integration.provider, apiBaseUrl: standIn.baseUrl },
      clientId: integration.clientId,
      scopes: integration.scopes,
    });
    // Agents of this workspace use their user's own connection of the OAuth integration.
    await api
      .db('integrations')
      .where({ workspace_id: api.workspaceId, key: api.integration })
      .update({ agent_connection_scope: 'user' });

    const { worker, connection } = await createWorker({
      address: testEnv.temporalAddress,
      namespace: 'default',
      taskQueue: agentQueue,
      workflowsPath: path.join(projectRoot, 'test/fixtures/example-agent-workflows.ts'),
      activities: createExampleAgentActivities({
        apiUrl: api.url,
        agentToken: (userId) => api.token({ role: 'agent', sub: 'research-agent', on_behalf_of: userId }),
        record: (event) => void agentEvents.push(event),
        logger: api.logger,
      }),
      dataConverter: workerDataConverter(new AesGcmPayloadCodec({ id: 'test', key: api.codecKey })),
      logger: api.logger,
    });
    agentWorker = { worker, connection, running: worker.run() };
    browser = await launchBrowser([api.url]);
  });

  afterAll(async () => {
    await browser?.close();
    if (agentWorker) {
      agentWorker.worker.shutdown();
      await agentWorker.running.catch(() => undefined);
      await agentWorker.connection.close();
    }
    await standIn?.stop();
    await api?.stop();
    await receiver?.close();
  });

  /** A link's token is a secret (a bearer link): kept to be looked for in every page and log line. */
  function keepLink(url: string): string {
    const token = new URL(url).pathname.split('/').pop()!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secrets.add(token);
    api.addSecret(token);
    return url;
  }

  async function connectLink(
    userId: string,
    body: Record<string, unknown> = {},
  ): Promise<{ url: string; id: string; expiresAt: string }> {
    const token = await api.token({ role: 'member', sub: userId });
    const created = await api.call('POST', '/v1/connect-sessions', {
      token,
      body: { integration: api.integration, scope: 'user', ...body },
    });
    expect(created.status).toBe(201);
    keepLink(created.body.url);
    return created.body;
  }

  async function connectionsOf(userId: string, integration = api.integration) {
    const token = await api.token({ role: 'member', sub: userId });
    const listed = await api.call('GET', `/v1/connections?integration=${integration}&scope=user`, { token });
    expect(listed.status).toBe(200);
    return (
      listed.body.connections as Array<{ id: string; status: string; ownerUserId: string | null }>
    ).filter((connection) => connection.ownerUserId === userId);
  }

  /** The one connection of the user's that the Connect click has started (pending until the callback). */
  async function startedConnection(userId: string): Promise<string> {
    const [connection] = await eventually(
      () => connectionsOf(userId),
      (list) => list.length === 1,
    );
    return connection!.id;
  }

  async function connection(id: string) {
    const token = await api.token({ role: 'admin', sub: 'admin-1' });
    const read = await api.call('GET', `/v1/connections/${id}`, { token });
    expect(read.status).toBe(200);
    return read.body.connection as { id: string; status: string; scope: string; ownerUserId: string | null };
  }

  const heading = (page: Page) => page.getByRole('heading', { level: 1 });

  async function openPage(person: BrowserContext, url: string): Promise<Page> {
    const page = await person.newPage();
    await page.goto(url);
    return page;
  }

  /** Presses Tab until `target` has the focus (at most 20 times), as a person using the keyboard only. */
  async function tabTo(page: Page, target: Locator, what: string): Promise<void> {
    const focused = () => target.evaluate((element) => element.matches(':focus'));
    for (let presses = 0; !(await focused()); presses++) {
      if (presses === 20) throw new Error(`Tab never reached ${what} in 20 presses`);
      await page.keyboard.press('Tab');
    }
  }

  /** Resolves when a ready long-poll of the connection listens for its changes (it waits, not answered). */
  async function longPollWaiting(connectionId: string): Promise<void> {
    await eventually(
      async () => api.changes.listenerCount(`change:${connectionId}`),
      (count) => count > 0,
      { intervalMs: 20, attempts: 3000 },
    );
  }

  it('has page checks that fail a critical accessibility violation and a CSP refusal (positive controls)', async () => {
    const person = await browser.person();
    const page = await person.newPage();
    await page.setContent(
      '<!doctype html><html lang="en"><head><title>Control</title></head><body><main><h1>Control</h1>' +
        '<form><input type="password"><button></button></form></main></body></html>',
    );
    await expect(expectAccessible(page, 'control')).rejects.toThrow(/button-name \(critical\)/);
    // And the CSP check one whose inline stylesheet its policy refuses.
    await page.setContent(
      '<!doctype html><html lang="en"><head><title>Control</title>' +
        `<meta http-equiv="Content-Security-Policy" content="style-src 'none'">` +
        '<style>h1{color:#000}</style></head><body><main><h1>Control</h1></main></body></html>',
    );
    await expect(browser.pageState(page, 'control', { screenshot: false })).rejects.toThrow(/CSP/);
    await person.close();
  });

  it('an agent asks for a member: she reads who asks and why, connects, and the agent wakes', async () => {
    // The agent's own resolve answers with a link for the member it acts for.
    const agentToken = await api.token({ role: 'agent', sub: 'research-agent', on_behalf_of: 'mia' });
    const resolved = await api.call('POST', '/v1/connections/resolve', {
      token: agentToken,
      body: { integration: api.integration, agentId: 'research-agent' },
    });
    expect(resolved.status).toBe(409);
    expect(resolved.body.error.code).toBe('connection_required');
    keepLink(resolved.body.error.details.connectUrl);
    expect(resolved.body.error.details.connectUrl).toMatch(new RegExp(`^${api.url}/connect/`));

    // The example agent task records the link for its user (not in its history) and waits.
    const input: ExampleAgentInput = {
      integration: api.integration,
      userId: 'mia',
      agentId: 'research-agent',
      request: { method: 'GET', path: 'v1/me' },
      timing: { resolveEveryMs: 500, reminderAfterMs: 600_000, giveUpAfterMs: 120_000 },
    };
    const task = await api.client.workflow.start('exampleAgentTask', {
      taskQueue: agentQueue,
      workflowId: `example-agent-mia-${randomUUID()}`,
      args: [input],
    });
    const [requested] = await eventually(
      async () =>
        agentEvents.filter((event) => event.userId === 'mia' && event.kind === 'connection_requested'),
      (list) => list.length > 0,
    );
    const link = keepLink((requested as AgentTaskEvent & { connectUrl: string }).connectUrl);

    const mia = await browser.person();
    const page = await openPage(mia, link);
    await showsPage(page, `Connect ${api.integration}`);
    const main = page.getByRole('main');
    await expect(main.textContent()).resolves.toContain(`Workspace ${api.workspaceId}`);
    await expect(main.textContent()).resolves.toContain('For you: mia');
    const access = page.getByRole('list', { name: 'Access requested' });
    await expect(access.textContent()).resolves.toContain('api:read');
    const asking = page.getByRole('region', { name: 'Who is asking' });
    await expect(asking.textContent()).resolves.toContain('research-agent');
    await expect(asking.textContent()).resolves.toContain(task.workflowId);
    await browser.pageState(page, 'connect-page');
    // Opening the link made nothing (a link previewer opens it too): the Connect click does.
    expect(await connectionsOf('mia')).toEqual([]);

    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByPlaceholder('Enter any login').waitFor();
    const connectionId = await startedConnection('mia');
    // A ready long-poll started after the click waits for the connection; so does the agent's workflow.
    expect(api.changes.listenerCount(`change:${connectionId}`)).toBe(0);
    const ready = api.call('GET', `/v1/connections/${connectionId}/ready?timeout=60`, { token: agentToken });
    await longPollWaiting(connectionId);
    await eventually(
      () => waiterRegistrations(api.client, connectionId),
      (count) => count > 0,
    );

    await signInAndConsent(page, 'mia');
    await showsPage(page, 'Connected');
    await browser.pageState(page, 'connected');

    await expect(withDeadline(ready, 'the ready long-poll')).resolves.toMatchObject({
      status: 200,
      body: { ready: true, status: 'active' },
    });
    const result = (await withDeadline(task.result(), 'the agent task')) as ExampleAgentResult;
    expect(result).toMatchObject({ ended: 'called', connectionId, response: { status: 200 } });
    expect(await connection(connectionId)).toMatchObject({
      status: 'active',
      scope: 'user',
      ownerUserId: 'mia',
    });
    await mia.close();
  });

  it('offers the choice of a link for several integrations; shows the reason as written; continues to returnTo', async () => {
    const admin = await api.token({ role: 'admin', sub: 'admin-1' });
    const text = 'Sync <b>the quarterly</b> report & "summary"';
    const created = await api.call('POST', '/v1/connect-sessions', {
      token: admin,
      body: {
        allowedIntegrations: [api.integration, 'stand-in'],
        scope: 'workspace',
        reason: { agentId: 'ops-agent', taskId: 'task-42', text },
        returnTo: `${api.url}/after-connect`,
      },
    });
    expect(created.status).toBe(201);
    const url = keepLink(created.body.url);
    const owner = await browser.person();
    const page = await openPage(owner, url);
    await expect(page.getByRole('main').textContent()).resolves.toContain('For the whole workspace');
    await expect(page.getByRole('button', { name: 'Connect' }).count()).resolves.toBe(0);
    // The reason is shown as its words, never as markup.
    const asking = page.getByRole('region', { name: 'Who is asking' });
    await expect(asking.textContent()).resolves.toContain(text);
    await expect(asking.locator('b').count()).resolves.toBe(0);
    await browser.pageState(page, 'connect-choose');

    await page.getByRole('link', { name: `Connect ${api.integration}` }).click();
    await showsPage(page, `Connect ${api.integration}`);
    await page.getByRole('button', { name: 'Connect' }).click();
    await signInAndConsent(page, 'workspace-account');
    await showsPage(page, 'Connected');
    const onward = page.getByRole('link', { name: 'Continue' });
    await expect(onward.getAttribute('href')).resolves.toMatch(
      new RegExp(`^${api.url.replaceAll('.', '\\.')}/after-connect(\\?|$)`),
    );
    const token = await api.token({ role: 'admin', sub: 'admin-1' });
    const listed = await api.call('GET', `/v1/connections?integration=${api.integration}&scope=workspace`, {
      token,
    });
    expect(listed.body.connections).toEqual([
      expect.objectContaining({ status: 'active', ownerUserId: null }),
    ]);
    await owner.close();
  });

  it('refuses the link in a second browser and a callback replayed elsewhere; the first browser finishes', async () => {
    const { url } = await connectLink('noah');
    const first = await browser.person();
    const second = await browser.person();
    const page = await openPage(first, url);
    // Both have the page open (a forwarded link); the first to click Connect holds it.
    const early = await openPage(second, url);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByPlaceholder('Enter any login').waitFor();
    const connectionId = await startedConnection('noah');
    await early.getByRole('button', { name: 'Connect' }).click();
    await showsPage(early, 'Link in use in another browser');
    expect(await connectionsOf('noah')).toHaveLength(1);

    // Opened in the second browser after the first started: refused as well.
    const elsewhere = await openPage(second, url);
    await showsPage(elsewhere, 'Link in use in another browser');
    await expect(elsewhere.getByRole('button', { name: 'Connect' }).count()).resolves.toBe(0);
    await browser.pageState(elsewhere, 'other-browser');

    // The provider's redirect back is held in the first browser (a redirect's target never reaches a
    // route handler, so the provider's answers are fetched here and the one that sends the browser to the
    // callback is kept instead of followed), then the callback is replayed in the second browser.
    let callback: string | undefined;
    const provider = (target: URL) => target.origin === new URL(api.oidc.issuer).origin;
    await page.getByPlaceholder('Enter any login').fill('noah');
    await page.getByPlaceholder('and password').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).waitFor();
    await page.route(provider, async (route) => {
      let answer = await route.fetch({ maxRedirects: 0 });
      for (let hop = 0; hop < 5 && answer.status() >= 300 && answer.status() < 400; hop++) {
        const next = new URL(answer.headers()['location'] ?? '', answer.url());
        if (next.pathname === '/v1/oauth/callback') {
          callback = next.href;
          return route.fulfill({ status: 204 });
        }
        if (!provider(next)) break;
        answer = await first.request.get(next.href, { maxRedirects: 0 });
      }
      await route.fulfill({ response: answer });
    });
    await page.getByRole('button', { name: 'Continue' }).click();
    await eventually(
      async () => callback,
      (seen) => seen !== undefined,
    );
    await page.unroute(provider);
    const caught = new URL(callback!);
    secrets.add(caught.searchParams.get('code')!);
    api.addSecret(caught.searchParams.get('code')!);
    const replayed = await second.newPage();
    const refused = await replayed.goto(caught.href);
    expect(refused?.status()).toBe(400);
    await showsPage(replayed, 'Finished in another browser');
    await browser.pageState(replayed, 'finished-elsewhere');
    expect(await connection(connectionId)).toMatchObject({ status: 'pending' });

    // The browser that started it finishes it with the same callback: nothing was spent by the replay.
    await page.goto(caught.href);
    await showsPage(page, 'Connected');
    expect(await connection(connectionId)).toMatchObject({ status: 'active', ownerUserId: 'noah' });

    // The link is spent now, in any browser.
    const again = await openPage(first, url);
    await showsPage(again, 'Link already used');
    await browser.pageState(again, 'link-used');
    const againElsewhere = await openPage(second, url);
    expect(['Link already used', 'Link in use in another browser']).toContain(
      await heading(againElsewhere).textContent(),
    );
    await expect(againElsewhere.getByRole('button', { name: 'Connect' }).count()).resolves.toBe(0);
    expect(await connectionsOf('noah')).toHaveLength(1);
    await first.close();
    await second.close();
  });

  it('starts one connection however often Connect is clicked', async () => {
    const { url } = await connectLink('vera');
    const vera = await browser.person();
    const page = await openPage(vera, url);
    await page.getByRole('button', { name: 'Connect' }).dblclick();
    await page.getByPlaceholder('Enter any login').waitFor();
    // And once more from the page before, as the browser's Back button gives it.
    await page.goBack();
    await showsPage(page, `Connect ${api.integration}`);
    await page.getByRole('button', { name: 'Connect' }).click();
    await signInAndConsent(page, 'vera');
    await showsPage(page, 'Connected');
    const made = await connectionsOf('vera');
    expect(made.map((c) => c.status)).toEqual(['active']);
    await vera.close();
  });

  it('shows an expired link as such, and its Connect click starts nothing', async () => {
    const { url, id } = await connectLink('olga', { ttl: 60 });
    const olga = await browser.person();
    const page = await openPage(olga, url);
    await page.getByRole('button', { name: 'Connect' }).waitFor();
    // Time passing, done in the database (named so): the link's minute is over.
    await api
      .db('connect_sessions')
      .where({ id })
      .update({ expires_at: new Date(Date.now() - 60_000) });
    await page.getByRole('button', { name: 'Connect' }).click();
    await showsPage(page, 'Link expired');
    await browser.pageState(page, 'link-expired');
    const reopened = await openPage(olga, url);
    await showsPage(reopened, 'Link expired');
    await browser.pageState(reopened, 'link-expired-opened', { screenshot: false });
    expect(await connectionsOf('olga')).toEqual([]);
    await olga.close();
  });

  it('shows a refusal at the provider as "Not connected"', async () => {
    const { url } = await connectLink('pia');
    const pia = await browser.person();
    const page = await openPage(pia, url);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByPlaceholder('Enter any login').fill('pia');
    await page.getByPlaceholder('and password').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await showsPage(page, 'Not connected');
    await browser.pageState(page, 'not-connected');
    const [failed] = await connectionsOf('pia');
    expect(failed).toMatchObject({ status: 'failed' });
    await pia.close();
  });

  it('connects an API key through the form; a rejected key is shown in the page and leaves nothing', async () => {
    const { url } = await connectLink('quinn', { integration: 'stand-in' });
    const quinn = await browser.person();
    const page = await openPage(quinn, url);
    await showsPage(page, 'Connect stand-in');
    const key = page.getByLabel('API key');
    await expect(key.getAttribute('type')).resolves.toBe('password');
    await browser.pageState(page, 'connect-api-key');

    await key.fill(badKey);
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'The provider did not accept this API key.',
    );
    await expect(page.getByLabel('API key').inputValue()).resolves.toBe('');
    await browser.pageState(page, 'connect-api-key-rejected');
    expect(await connectionsOf('quinn', 'stand-in')).toEqual([]);
    expect(
      await api.db('connections').where({ workspace_id: api.workspaceId, integration: 'stand-in' }).count(),
    ).toEqual([{ count: '0' }]);

    await page.getByLabel('API key').fill(goodKey);
    await page.getByRole('button', { name: 'Connect' }).click();
    await showsPage(page, 'Connected');
    const [connected] = await connectionsOf('quinn', 'stand-in');
    expect(connected).toMatchObject({ status: 'active', ownerUserId: 'quinn' });
    await quinn.close();
  });

  it('reconnects an expired connection in place through its reconnect link; its dependent hears both', async () => {
    const { url } = await connectLink('ravi');
    const ravi = await browser.person();
    const page = await openPage(ravi, url);
    await page.getByRole('button', { name: 'Connect' }).click();
    await signInAndConsent(page, 'ravi');
    await showsPage(page, 'Connected');
    const [made] = await connectionsOf('ravi');
    const connectionId = made!.id;
    const admin = await api.token({ role: 'admin', sub: 'admin-1' });
    const registered = await api.call(
      'PUT',
      `/v1/connections/${connectionId}/dependents/agent/research-agent`,
      {
        token: admin,
        body: {},
      },
    );
    expect(registered.status).toBeLessThan(300);

    // The user removes the app at the provider; the next refresh is refused and the connection expires.
    await api.oidc.revokeGrant('ravi');
    const refreshed = await api.call('POST', `/v1/connections/${connectionId}/refresh`, { token: admin });
    expect(refreshed.body.connection).toMatchObject({ status: 'expired' });

    // The agent's token request answers connection_not_active with a reconnect link for that connection.
    const agentToken = await api.token({ role: 'agent', sub: 'research-agent', on_behalf_of: 'ravi' });
    const refused = await api.call('POST', `/v1/connections/${connectionId}/token`, { token: agentToken });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'connection_not_active',
      details: { status: 'expired' },
    });
    const reconnect = keepLink(refused.body.error.details.reconnectUrl);

    // The dependent hears `expired`, with a reconnect link of its own for the same connection.
    const expired = await eventually(
      async () =>
        receiver
          .accepted()
          .find((hook) => hook.connectionId === connectionId && hook.type === 'connection.expired'),
      (hook) => hook !== undefined,
    );
    expect(expired).toMatchObject({ dependent: { kind: 'agent', id: 'research-agent' } });
    keepLink((expired!.reconnect as { url: string }).url);

    const again = await openPage(ravi, reconnect);
    await showsPage(again, `Connect ${api.integration}`);
    await again.getByRole('button', { name: 'Connect' }).click();
    // The provider still knows this browser's session: consent only, or sign-in then consent.
    await again
      .getByRole('button', { name: /^(Sign-in|Continue)$/ })
      .first()
      .waitFor();
    if (await again.getByRole('button', { name: 'Sign-in' }).count()) await signInAndConsent(again, 'ravi');
    else await again.getByRole('button', { name: 'Continue' }).click();
    await showsPage(again, 'Connected');
    expect(await connection(connectionId)).toMatchObject({ status: 'active', ownerUserId: 'ravi' });
    expect(await connectionsOf('ravi')).toHaveLength(1);

    const heard = await eventually(
      async () =>
        receiver
          .accepted()
          .filter((hook) => hook.connectionId === connectionId)
          .map((hook) => hook.type),
      (types) => types.includes('connection.recovered'),
    );
    expect(heard.filter((type) => type !== 'connection.created')).toEqual([
      'connection.expired',
      'connection.recovered',
    ]);
    const recovered = receiver
      .accepted()
      .find((hook) => hook.connectionId === connectionId && hook.type === 'connection.recovered');
    expect(Number(recovered!.sequence)).toBeGreaterThan(Number(expired!.sequence));
    expect(receiver.deliveries.filter((d) => !d.verified)).toEqual([]);
    await ravi.close();
  });

  it('can be done with the keyboard alone', async () => {
    const { url } = await connectLink('sam');
    const sam = await browser.person();
    const page = await openPage(sam, url);
    await tabTo(page, page.getByRole('button', { name: 'Connect' }), 'the Connect button');
    await browser.pageState(page, 'connect-page-keyboard', { screenshot: false });
    await page.keyboard.press('Enter');
    // On oidc-provider's pages (each focuses its first field once loaded) Tab goes on from there.
    await page.getByPlaceholder('Enter any login').waitFor();
    await tabTo(page, page.getByPlaceholder('Enter any login'), 'the login field');
    await page.keyboard.type('sam');
    await tabTo(page, page.getByPlaceholder('and password'), 'the password field');
    await page.keyboard.type('any password');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Continue' }).waitFor();
    await tabTo(page, page.getByRole('button', { name: 'Continue' }), 'the Continue button');
    await page.keyboard.press('Enter');
    await showsPage(page, 'Connected');
    const [connected] = await connectionsOf('sam');
    expect(connected).toMatchObject({ status: 'active', ownerUserId: 'sam' });
    await sam.close();
  });

  it('works in a browser that runs no script (OAuth and API key)', async () => {
    // Axe runs as a script, so these states are checked in the other tests; here only that they work.
    const uma = await browser.person({ javaScript: false });
    const oauth = await openPage(uma, (await connectLink('uma')).url);
    await oauth.getByRole('button', { name: 'Connect' }).click();
    await signInAndConsent(oauth, 'uma');
    await showsPage(oauth, 'Connected');
    const withKey = await openPage(uma, (await connectLink('uma', { integration: 'stand-in' })).url);
    await withKey.getByLabel('API key').fill(badKey);
    await withKey.getByRole('button', { name: 'Connect' }).click();
    await expect(withKey.getByRole('alert').textContent()).resolves.toContain(
      'The provider did not accept this API key.',
    );
    await withKey.getByLabel('API key').fill(goodKey);
    await withKey.getByRole('button', { name: 'Connect' }).click();
    await showsPage(withKey, 'Connected');
    expect((await connectionsOf('uma')).map((c) => c.status)).toEqual(['active']);
    expect((await connectionsOf('uma', 'stand-in')).map((c) => c.status)).toEqual(['active']);
    await uma.close();
  });

  it("binds the direct API flow's start URL to the browser that opened it", async () => {
    const token = await api.token({ role: 'member', sub: 'tara' });
    const created = await api.call('POST', '/v1/connections', {
      token,
      body: { integration: api.integration, scope: 'user' },
    });
    expect(created.status).toBe(201);
    expect(created.body.startUrl).toMatch(new RegExp(`^${api.url.replaceAll('.', '\\.')}/v1/oauth/start\\?`));
    const connectionId = created.body.connection.id as string;
    const tara = await browser.person();
    const other = await browser.person();
    const page = await openPage(tara, created.body.startUrl);
    await page.getByPlaceholder('Enter any login').waitFor();
    // Opened again elsewhere once this browser holds it: refused.
    const elsewhere = await openPage(other, created.body.startUrl);
    await showsPage(elsewhere, 'Link in use in another browser');
    await browser.pageState(elsewhere, 'start-url-other-browser', { screenshot: false });
    await signInAndConsent(page, 'tara');
    await showsPage(page, 'Connected');
    await browser.pageState(page, 'start-url-connected', { screenshot: false });
    expect(await connection(connectionId)).toMatchObject({ status: 'active', ownerUserId: 'tara' });
    await tara.close();
    await other.close();
  });

  it('sent every page with no-store, a strict CSP, a language and a title', async () => {
    expect(browser.servedPages.length).toBeGreaterThan(10);
    expect(pagesSentUnsafely(browser.servedPages)).toEqual([]);
  });

  it('put no link token, API key, authorization code or access token in any page, log line or history', async () => {
    expect(browser.servedPages.length).toBeGreaterThan(10);
    const everySecret = [...secrets, ...api.vault.secrets];
    // Positive control: the scan finds a value that is there.
    expect(browser.servedPages.some((page) => page.html.includes('Connected'))).toBe(true);
    const inPages = everySecret.filter((secret) =>
      browser.servedPages.some((page) => page.html.includes(secret)),
    );
    expect(inPages).toHaveLength(0);
    const inLogs = everySecret.filter((secret) => api.logLines.some((line) => line.includes(secret)));
    expect(inLogs).toHaveLength(0);
    expect(api.vault.secrets.size).toBeGreaterThan(0);
    // The connections' workflows, their health events' and the agent tasks': none holds a link, key or code.
    const codec = new AesGcmPayloadCodec({ id: 'test', key: api.codecKey });
    const query = `TaskQueue="${api.taskQueue}" OR TaskQueue="${agentQueue}"`;
    const inHistories = await secretsInHistories(api.client, codec, query, secrets);
    expect(inHistories.workflows).toBeGreaterThan(10);
    expect(inHistories.found).toEqual([]);
  });
});
