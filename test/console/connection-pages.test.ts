// The console's connection pages over the real stack (Postgres, Temporal, oidc-provider, the stand-in API),
// signed in through the sign-in pages: what owners, admins and members see of an integration's connections
// and of one connection, and each action as it goes through the connection's workflow, read back afterwards
// through the API. No page holds a key, an access token, a bearer token or a session cookie (a reconnect
// link's token is on its own page only).
import { randomUUID } from 'node:crypto';
import { dependentStore } from '../../dependents/dependent-store.js';
import { startApiHarness, connectThroughApi, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';
import {
  CookieJar,
  operatorSignInUrl,
  signedInConsole,
  signInWith,
  type ConsoleClient,
} from '../support/console.js';
import { startStandInApi, configureStandInIntegration, type StandInApi } from '../support/stand-in-api.js';

/** The text a person reads: tags dropped, the template's entities decoded, spaces folded. */
function textOf(html: string): string {
  return html
    .replace(/<(title|style)>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/** The body rows of the table with this caption, each as its cells' text. */
function tableRows(html: string, caption: string): string[][] {
  const tables = html.split('<table>').slice(1);
  const table = tables.find((t) => textOf(t.split('</caption>')[0]!).trim() === caption);
  if (!table) return [];
  const body = table.split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return body
    .split('</tr>')
    .filter((row) => row.includes('<td'))
    .map((row) =>
      row
        .split('</td>')
        .filter((cell) => cell.includes('<td'))
        .map((cell) => textOf(cell).trim()),
    );
}

/** The labels of the page's buttons. */
const buttonsOf = (html: string) =>
  [...html.matchAll(/<button[^>]*>([\s\S]*?)<\/button>/g)].map((match) => textOf(match[1]!).trim());
const h1 = (html: string) => textOf(/<h1>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? '').trim();
const alertOf = (html: string) => textOf(/<p role="alert">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '').trim();
const noticeOf = (html: string) => textOf(/<p role="status">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '').trim();

describe('console: connection pages', () => {
  let api: ApiHarness;
  let standIn: StandInApi;
  let admin: ConsoleClient;
  let member: ConsoleClient;
  let otherMember: ConsoleClient;
  let foreignAdmin: ConsoleClient;
  const tokens: Record<'admin' | 'member' | 'member2', string> = {} as never;
  /** Every page the tests were shown, but the reconnect link's own (scanned for secrets at the end). */
  const shown: string[] = [];
  /** Session cookies besides the clients' own (an operator's). */
  const sessionCookies: string[] = [];
  const goodKey = `key-good-${randomUUID()}`;
  const nextKey = `key-next-${randomUUID()}`;
  const badKey = `key-bad-${randomUUID()}`;

  const page = async (client: ConsoleClient, path: string) => {
    const answer = await client.get(path);
    shown.push(answer.html);
    return answer;
  };
  const submit = async (
    client: ConsoleClient,
    path: string,
    fields: Record<string, string> = {},
    options?: { csrf?: string | null },
  ) => {
    const answer = await client.post(path, fields, options);
    shown.push(answer.html);
    return answer;
  };
  const statusOf = async (id: string) =>
    (await api.call('GET', `/v1/connections/${id}`, { token: tokens.admin })).body.connection.status;

  beforeAll(async () => {
    api = await startApiHarness({ rateLimits: { connect: 1000, refresh: 1000, change: 1000 } });
    standIn = await startStandInApi();
    standIn.validKeys.add(goodKey);
    standIn.validKeys.add(nextKey);
    for (const key of [goodKey, nextKey, badKey]) api.addSecret(key);
    await configureStandInIntegration(api, standIn);
    tokens.admin = await api.token({ role: 'admin' });
    tokens.member = await api.token({ role: 'member' });
    tokens.member2 = await api.token({ role: 'member', sub: 'member-2' });
    admin = await signedInConsole(api, { sub: 'admin-1', role: 'admin' });
    member = await signedInConsole(api, { sub: 'member-1', role: 'member' });
    otherMember = await signedInConsole(api, { sub: 'member-2', role: 'member' });
    foreignAdmin = await signedInConsole(api, {
      sub: 'admin-1',
      role: 'admin',
      workspace: `ws-${randomUUID()}`,
    });
  });

  afterAll(async () => {
    await standIn?.stop();
    await api?.stop();
  });

  async function pendingConnection(token: string, scope: 'workspace' | 'user', name?: string) {
    const created = await api.call('POST', '/v1/connections', {
      token,
      body: { integration: api.integration, scope, ...(name && { name }) },
    });
    expect(created.status).toBe(201);
    return created.body.connection.id as string;
  }

  async function keyConnection(apiKey = goodKey): Promise<string> {
    const created = await api.call('POST', '/v1/connections', {
      token: tokens.admin,
      body: { integration: 'stand-in', scope: 'workspace', name: 'Reports key', apiKey },
    });
    expect(created.status).toBe(201);
    return created.body.connection.id as string;
  }

  it("lists an integration's connections with their badges, filtered by status and scope", async () => {
    const active = await connectThroughApi(api, tokens.admin, 'workspace');
    const pending = await pendingConnection(tokens.admin, 'workspace', 'Waiting one');
    const own = await connectThroughApi(api, tokens.member, 'user');
    const all = await page(admin, `/console/integrations/${api.integration}`);
    expect(all.status).toBe(200);
    expect(textOf(all.html)).toContain('Your Connections');
    const rows = tableRows(all.html, 'Your Connections');
    const byId = (id: string, name?: string) => rows.find((row) => row[0] === (name ?? id));
    expect(byId(active)).toEqual([
      active,
      expect.stringMatching(/^active /),
      'Workspace',
      'The workspace',
      expect.any(String),
    ]);
    expect(byId(pending, 'Waiting one')?.slice(1, 3)).toEqual([
      expect.stringMatching(/^pending/),
      'Workspace',
    ]);
    expect(byId(own)?.slice(2, 4)).toEqual(['User', 'member-1']);
    expect(all.html).toContain(`<a href="/console/connections/${active}">`);
    expect(all.html).toContain('<span class="badge badge-active">active</span>');
    expect(byId(active)![4]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(all.html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">/);

    const onlyPending = tableRows(
      (await page(admin, `/console/integrations/${api.integration}?status=pending`)).html,
      'Your Connections',
    );
    expect(onlyPending.map((row) => row[0])).toContain('Waiting one');
    expect(onlyPending.every((row) => row[1]!.startsWith('pending'))).toBe(true);
    const users = tableRows(
      (await page(admin, `/console/integrations/${api.integration}?scope=user`)).html,
      'Your Connections',
    );
    expect(users.map((row) => row[0])).toContain(own);
    expect(users.every((row) => row[2] === 'User')).toBe(true);
    const filtered = await page(
      admin,
      `/console/integrations/${api.integration}?status=active&scope=workspace`,
    );
    expect(filtered.html).toMatch(/<option value="active"\s+selected>/);
    // Back from the connect flow's Continue (`?connection=<id>&status=<outcome>`): the outcome is said, and
    // the list is not filtered by it.
    const back = await page(
      admin,
      `/console/integrations/${api.integration}?connection=${pending}&status=active`,
    );
    expect(noticeOf(back.html)).toBe('Back from connecting: Waiting one is pending.');
    expect(tableRows(back.html, 'Your Connections').map((row) => row[0])).toEqual(
      expect.arrayContaining([active, 'Waiting one', own]),
    );
    expect(back.html).not.toMatch(/<option value="active"\s+selected>/);
    expect((await page(admin, `/console/integrations/${api.integration}?status=sleeping`)).status).toBe(400);
    expect((await page(admin, '/console/integrations/no-such-integration')).status).toBe(404);
  });

  it('shows members the workspace connections and their own, with actions on their own only', async () => {
    const shared = await connectThroughApi(api, tokens.admin, 'workspace');
    const mine = await connectThroughApi(api, tokens.member, 'user');
    const theirs = await connectThroughApi(api, tokens.member2, 'user');
    const listed = await page(member, `/console/integrations/${api.integration}`);
    const ids = tableRows(listed.html, 'Your Connections').map((row) => row[0]);
    expect(ids).toEqual(expect.arrayContaining([shared, mine]));
    expect(ids).not.toContain(theirs);
    expect(textOf(listed.html)).toContain('Connect your own account');
    expect(textOf(listed.html)).not.toContain('Connect for the workspace');

    const sharedPage = await page(member, `/console/connections/${shared}`);
    expect(sharedPage.status).toBe(200);
    expect(textOf(sharedPage.html)).not.toMatch(
      /Actions|Refresh now|Deactivate|Delete connection|Who used it/,
    );
    expect(sharedPage.html).not.toContain('Register dependent');
    const refused = await submit(member, `/console/connections/${shared}/deactivate`);
    expect(refused.status).toBe(403);
    expect(h1(refused.html)).toBe('Not allowed');
    expect((await page(member, `/console/connections/${shared}/delete`)).status).toBe(403);
    expect(await statusOf(shared)).toBe('active');

    const minePage = await page(member, `/console/connections/${mine}`);
    expect(textOf(minePage.html)).toContain('Refresh now');
    expect(textOf(minePage.html)).toContain('Who used it');

    const hidden = await page(member, `/console/connections/${theirs}`);
    expect(hidden.status).toBe(404);
    expect(h1(hidden.html)).toBe('Not found');
    expect((await submit(member, `/console/connections/${theirs}/refresh`)).status).toBe(404);
    expect((await page(otherMember, `/console/connections/${theirs}`)).status).toBe(200);
  });

  it("answers another workspace's connection as not found", async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    for (const path of [`/console/connections/${id}`, `/console/connections/${id}/delete`]) {
      const answer = await page(foreignAdmin, path);
      expect(answer.status).toBe(404);
      expect(h1(answer.html)).toBe('Not found');
    }
    const refused = await submit(foreignAdmin, `/console/connections/${id}/deactivate`);
    expect(refused.status).toBe(404);
    expect(await statusOf(id)).toBe('active');
    expect((await page(foreignAdmin, `/console/connections/${randomUUID()}`)).status).toBe(404);
  });

  it('refreshes, deactivates and activates through the workflow, and shows the events', async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    const before = await page(admin, `/console/connections/${id}`);
    expect(h1(before.html)).toMatch(/ connection$/);
    expect(textOf(before.html)).toMatch(/Token expires \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(textOf(before.html)).toMatch(/Next refresh \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(textOf(before.html)).toContain('Last used Never');

    const refreshed = await submit(admin, `/console/connections/${id}/refresh`);
    expect(refreshed.status).toBe(303);
    expect(refreshed.location).toBe(`/console/connections/${id}?notice=refreshed`);
    const afterRefresh = await page(admin, refreshed.location!);
    expect(noticeOf(afterRefresh.html)).toMatch(/^Refreshed/);
    expect(afterRefresh.html).toContain('<span class="badge badge-active">active</span>');

    const deactivated = await submit(admin, `/console/connections/${id}/deactivate`);
    expect(deactivated.location).toBe(`/console/connections/${id}?notice=deactivated`);
    expect(await statusOf(id)).toBe('inactive');
    const inactive = await page(admin, deactivated.location!);
    expect(inactive.html).toContain('<span class="badge badge-inactive">inactive</span>');
    expect(buttonsOf(inactive.html)).toContain('Activate');
    expect(buttonsOf(inactive.html)).not.toContain('Deactivate');

    const activated = await submit(admin, `/console/connections/${id}/activate`);
    expect(activated.location).toBe(`/console/connections/${id}?notice=activated`);
    expect(await statusOf(id)).toBe('active');
    const events = tableRows((await page(admin, `/console/connections/${id}`)).html, 'Events');
    expect(events.map((event) => event.slice(1, 5))).toEqual(
      expect.arrayContaining([
        ['active', 'inactive', 'deactivated', 'admin-1'],
        ['inactive', 'active', 'activated', 'admin-1'],
      ]),
    );
    // The workflow refuses what the status does not allow: the refusal as a page, nothing changed.
    const again = await submit(admin, `/console/connections/${id}/activate`);
    expect(again.status).toBe(409);
    expect(await statusOf(id)).toBe('active');
  });

  it('shows who used a connection to its managers', async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    const agent = await api.token({ role: 'agent', sub: 'research-agent' });
    const granted = await api.call('POST', `/v1/connections/${id}/token`, {
      token: agent,
      body: { taskId: 'task-7' },
    });
    expect(granted.status).toBe(200);
    api.addSecret(granted.body.accessToken);
    await api.flushGrants();
    const shownPage = await page(admin, `/console/connections/${id}`);
    expect(tableRows(shownPage.html, 'Grants')).toEqual([
      [
        'Token',
        'Allowed',
        '',
        '',
        'API',
        'research-agent',
        'agent',
        '',
        'task-7',
        '1',
        expect.stringMatching(/UTC$/),
        expect.stringMatching(/UTC$/),
      ],
    ]);
    expect(textOf(shownPage.html)).toMatch(/Last used \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(textOf((await page(member, `/console/connections/${id}`)).html)).not.toContain('research-agent');
  });

  it('registers and removes dependents', async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    const registered = await submit(admin, `/console/connections/${id}/dependents`, {
      kind: 'agent',
      dependentId: 'agent-42',
      name: 'Research agent',
      callbackUrl: 'https://platform.example/hooks/agent-42',
    });
    expect(registered.status).toBe(303);
    expect(registered.location).toBe(`/console/connections/${id}?notice=dependent_registered`);
    const listed = await api.call('GET', `/v1/connections/${id}/dependents`, { token: tokens.admin });
    expect(listed.body.dependents).toMatchObject([
      { kind: 'agent', id: 'agent-42', name: 'Research agent', registeredBy: 'admin-1' },
    ]);
    const shownPage = await page(admin, registered.location!);
    expect(tableRows(shownPage.html, 'Dependents')).toEqual([
      [
        'Agent',
        'agent-42',
        'Research agent',
        'https://platform.example/hooks/agent-42',
        'Remove agent agent-42',
      ],
    ]);
    // A member sees the dependents but neither registers nor removes one.
    const memberView = await page(member, `/console/connections/${id}`);
    expect(tableRows(memberView.html, 'Dependents')).toHaveLength(1);
    expect(memberView.html).not.toContain('Remove agent');
    expect(
      (await submit(member, `/console/connections/${id}/dependents`, { kind: 'task', dependentId: 't-1' }))
        .status,
    ).toBe(403);
    // A field out of its bounds: refused, nothing stored.
    // Fields out of their bounds: the page again, each problem named, the form as filled in, nothing stored.
    const invalid = await submit(admin, `/console/connections/${id}/dependents`, {
      kind: 'task',
      dependentId: 'task 43',
      name: 'Nightly',
      callbackUrl: 'javascript:alert(1)',
    });
    expect(invalid.status).toBe(400);
    const problems = textOf(/<div role="alert">([\s\S]*?)<\/div>/.exec(invalid.html)?.[1] ?? '');
    expect(problems).toMatch(/The dependent was not registered: Dependent ID: .+ Callback URL: .+/);
    expect(invalid.html).toContain('value="task 43"');
    expect(invalid.html).toContain('value="javascript:alert(1)"');
    expect(invalid.html).toMatch(/<option value="task"\s+selected>/);
    expect(
      await dependentStore.list(api.db, { workspaceId: api.workspaceId, connectionId: id }),
    ).toHaveLength(1);

    const removed = await submit(admin, `/console/connections/${id}/dependents/agent/agent-42/remove`);
    expect(removed.location).toBe(`/console/connections/${id}?notice=dependent_removed`);
    expect(
      (await api.call('GET', `/v1/connections/${id}/dependents`, { token: tokens.admin })).body.dependents,
    ).toEqual([]);
    expect((await submit(admin, `/console/connections/${id}/dependents/agent/agent-42/remove`)).status).toBe(
      404,
    );
  });

  it('reviews the dependents before a delete and forces it only with the confirmation', async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    for (const [kind, dependentId] of [
      ['agent', 'agent-1'],
      ['automation', 'nightly-sync'],
    ]) {
      const put = await api.call('PUT', `/v1/connections/${id}/dependents/${kind}/${dependentId}`, {
        token: tokens.admin,
        body: { callbackUrl: `https://platform.example/hooks/${dependentId}` },
      });
      expect(put.status).toBe(201);
    }
    const review = await page(admin, `/console/connections/${id}/delete`);
    expect(review.status).toBe(200);
    expect(h1(review.html)).toMatch(/^Delete .+ connection$/);
    const rows = tableRows(review.html, 'Dependents');
    expect(rows.map((row) => row.slice(0, 2))).toEqual([
      ['Agent', 'agent-1'],
      ['Automation', 'nightly-sync'],
    ]);
    expect(rows[0]![3]).toMatch(/^The agent can no longer call .+ through it\.$/);
    expect(textOf(review.html)).toContain('I understand that these 2 dependents stop working');
    expect(review.html).toMatch(
      /<input type="checkbox" id="confirm" name="confirm" value="yes" \/>\s*<label class="inline" for="confirm">/,
    );
    expect(textOf(review.html)).toContain('Delete anyway');

    const unconfirmed = await submit(admin, `/console/connections/${id}/delete`, { force: 'true' });
    expect(unconfirmed.status).toBe(400);
    expect(alertOf(unconfirmed.html)).toContain('nothing was deleted');
    expect(tableRows(unconfirmed.html, 'Dependents')).toHaveLength(2);
    expect(await statusOf(id)).toBe('active');
    expect(
      await dependentStore.list(api.db, { workspaceId: api.workspaceId, connectionId: id }),
    ).toHaveLength(2);

    const unforced = await submit(admin, `/console/connections/${id}/delete`);
    expect(unforced.status).toBe(409);
    expect(await statusOf(id)).toBe('active');

    const deleted = await submit(admin, `/console/connections/${id}/delete`, {
      force: 'true',
      confirm: 'yes',
    });
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe(`/console/connections/${id}?notice=deleted`);
    expect(await statusOf(id)).toBe('disconnected');
    const after = await page(admin, deleted.location!);
    expect(noticeOf(after.html)).toMatch(/^The connection is deleted/);
    expect(after.html).toContain('<span class="badge badge-disconnected">disconnected</span>');
    expect(tableRows(after.html, 'Events').at(-1)!.slice(1, 3)).toEqual(['active', 'disconnected']);
    expect(textOf(after.html)).not.toContain('Delete connection');
    expect(buttonsOf(after.html)).toEqual(['Sign out']);
    expect(textOf(after.html)).toContain('A deleted connection stays deleted');
    const notices = await dependentStore.notifications(api.db, {
      workspaceId: api.workspaceId,
      connectionId: id,
    });
    expect(notices.map((notice) => [notice.kind, notice.dependentId, notice.actor])).toEqual([
      ['agent', 'agent-1', 'admin-1'],
      ['automation', 'nightly-sync', 'admin-1'],
    ]);
  });

  it("deletes a member's own connection without dependents, and never forces one with them", async () => {
    const bare = await connectThroughApi(api, tokens.member, 'user');
    const review = await page(member, `/console/connections/${bare}/delete`);
    expect(textOf(review.html)).toContain('Nothing is registered as depending on this connection.');
    const deleted = await submit(member, `/console/connections/${bare}/delete`);
    expect(deleted.location).toBe(`/console/connections/${bare}?notice=deleted`);
    expect(await statusOf(bare)).toBe('disconnected');

    const depended = await connectThroughApi(api, tokens.member, 'user');
    const put = await api.call('PUT', `/v1/connections/${depended}/dependents/task/task-9`, {
      token: tokens.admin,
      body: {},
    });
    expect(put.status).toBe(201);
    const blocked = await page(member, `/console/connections/${depended}/delete`);
    expect(textOf(blocked.html)).toContain('only an owner or admin of the workspace can delete it');
    expect(textOf(blocked.html)).not.toContain('Delete anyway');
    const forced = await submit(member, `/console/connections/${depended}/delete`, {
      force: 'true',
      confirm: 'yes',
    });
    expect(forced.status).toBe(403);
    expect(await statusOf(depended)).toBe('active');
  });

  it('rotates an API key the provider accepts, and refuses one it rejects', async () => {
    const id = await keyConnection();
    const shownPage = await page(admin, `/console/connections/${id}`);
    expect(h1(shownPage.html)).toBe('Reports key');
    expect(textOf(shownPage.html)).toMatch(/Key age 0 days \(stored \d{4}-\d\d-\d\d \d\d:\d\d UTC \)/);
    expect(textOf(shownPage.html)).toContain('Unused No');
    expect(textOf(shownPage.html)).toMatch(
      /Advice Least privilege.*Rotate.*Remove unused keys.*Prefer read-only/,
    );
    const form = await page(admin, `/console/connections/${id}/api-key`);
    expect(h1(form.html)).toBe('Rotate the API key');
    // An OAuth connection has no key to rotate: 409, as its state does not allow it (Schemathesis found a 400).
    const oauth = await pendingConnection(tokens.admin, 'workspace');
    const noKey = await page(admin, `/console/connections/${oauth}/api-key`);
    expect(noKey.status).toBe(409);
    expect(textOf(noKey.html)).toContain('renewed with a reconnect link');
    expect(form.html).toContain('type="password"');

    const rejected = await submit(admin, `/console/connections/${id}/api-key`, { apiKey: badKey });
    expect(rejected.status).toBe(422);
    expect(alertOf(rejected.html)).toContain('did not accept this key');
    expect(await statusOf(id)).toBe('active');
    const requests = standIn.requests.length;

    const rotated = await submit(admin, `/console/connections/${id}/api-key`, { apiKey: nextKey });
    expect(rotated.status).toBe(303);
    expect(rotated.location).toBe(`/console/connections/${id}?notice=key_rotated`);
    expect(standIn.requests.slice(requests)).toContainEqual(
      expect.objectContaining({ path: '/v1/me', authorization: `Bearer ${nextKey}` }),
    );
    expect(noticeOf((await page(admin, rotated.location!)).html)).toContain('new API key was verified');
    expect(await statusOf(id)).toBe('active');
  });

  it('shows a connection named with markup as text', async () => {
    const name = '<script>alert(1)</script>';
    const id = await pendingConnection(tokens.admin, 'workspace', name);
    for (const path of [
      `/console/connections/${id}`,
      `/console/connections/${id}/delete`,
      `/console/integrations/${api.integration}`,
    ]) {
      const answer = await page(admin, path);
      expect(answer.status).toBe(200);
      expect(answer.html).not.toContain(name);
      expect(answer.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    expect(h1((await page(admin, `/console/connections/${id}`)).html)).toBe(name);
  });

  it('refuses a form without its CSRF token and changes nothing', async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    for (const csrf of [null, member.csrf]) {
      const refused = await submit(admin, `/console/connections/${id}/deactivate`, {}, { csrf });
      expect(refused.status).toBe(403);
      expect(h1(refused.html)).toBe('Form expired');
    }
    const deleteRefused = await submit(admin, `/console/connections/${id}/delete`, {}, { csrf: null });
    expect(deleteRefused.status).toBe(403);
    expect(await statusOf(id)).toBe('active');
  });

  it('connects through the hosted connect page, and makes reconnect links shown on their own page only', async () => {
    const workspaceLink = await submit(admin, `/console/integrations/${api.integration}/connect`, {
      scope: 'workspace',
    });
    expect(workspaceLink.status).toBe(303);
    expect(workspaceLink.location).toMatch(/\/connect\/[A-Za-z0-9_-]{43}$/);
    expect(workspaceLink.html).toBe('');
    api.addSecret(workspaceLink.location!.split('/').pop()!);
    const own = await submit(member, `/console/integrations/${api.integration}/connect`, { scope: 'user' });
    expect(own.location).toMatch(/\/connect\/[A-Za-z0-9_-]{43}$/);
    api.addSecret(own.location!.split('/').pop()!);
    const opened = await fetch(own.location!.replace(/^https?:\/\/[^/]+/, api.url));
    expect(opened.status).toBe(200);
    expect(
      (await submit(member, `/console/integrations/${api.integration}/connect`, { scope: 'workspace' }))
        .status,
    ).toBe(403);

    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    const reconnect = await admin.post(`/console/connections/${id}/reconnect-link`, {});
    expect(reconnect.status).toBe(200);
    expect(h1(reconnect.html)).toBe('Reconnect link');
    const url = /<code>([^<]+\/connect\/[A-Za-z0-9_-]{43})<\/code>/.exec(reconnect.html)?.[1];
    expect(url).toBeDefined();
    expect(reconnect.html).toContain(`<a href="${url}">Open the reconnect link</a>`);
    expect(textOf(reconnect.html)).toMatch(/expires at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const token = url!.split('/').pop()!;
    api.addSecret(token);
    expect((await page(admin, `/console/connections/${id}`)).html).not.toContain(token);
    expect(shown.some((html) => html.includes(token))).toBe(false);
  });

  it("links a connection's workflow in Temporal UI for an operator signed in in the same browser", async () => {
    const id = await connectThroughApi(api, tokens.admin, 'workspace');
    const operator = new CookieJar();
    await signInWith(operator, await operatorSignInUrl(api));
    const operatorCookie = operator.cookies.get('connections_operator');
    expect(operatorCookie).toBeDefined();
    api.addSecret(operatorCookie!);
    sessionCookies.push(operatorCookie!);
    // The same service with Temporal UI configured (sessions are the database's: both apps read them).
    const withUi = await listen(
      api.appWith({ console: { temporalUi: { url: 'http://127.0.0.1:8233', namespace: 'default' } } }),
    );
    try {
      const open = (cookies: string[]) =>
        fetch(`${withUi.url}/console/connections/${id}`, { headers: { cookie: cookies.join('; ') } }).then(
          async (answer) => ({ status: answer.status, html: await answer.text() }),
        );
      const both = await open([admin.cookie, `connections_operator=${operatorCookie}`]);
      expect(both.status).toBe(200);
      expect(both.html).toContain(
        `<a href="http://127.0.0.1:8233/namespaces/default/workflows/connection-${id}">Open in Temporal UI</a>`,
      );
      const workspaceOnly = await open([admin.cookie]);
      expect(workspaceOnly.status).toBe(200);
      expect(workspaceOnly.html).not.toContain('Open in Temporal UI');
      shown.push(both.html, workspaceOnly.html);
    } finally {
      await withUi.close();
    }
    // Without Temporal UI configured there is nothing to link, operator or not.
    const unconfigured = await fetch(`${api.url}/console/connections/${id}`, {
      headers: { cookie: `${admin.cookie}; connections_operator=${operatorCookie}` },
    });
    expect(await unconfigured.text()).not.toContain('Open in Temporal UI');
  });

  it('shows no key, token or session cookie in any page', () => {
    expect(shown.length).toBeGreaterThan(40);
    const secrets = new Set([
      ...api.vault.secrets,
      goodKey,
      nextKey,
      badKey,
      ...Object.values(tokens),
      ...sessionCookies,
      ...[admin, member, otherMember, foreignAdmin].map((client) =>
        client.cookie.split('=').slice(1).join('='),
      ),
    ]);
    // A positive control: the scan finds a secret where there is one.
    expect([...secrets].filter((secret) => `<p>${goodKey}</p>`.includes(secret))).toEqual([goodKey]);
    const found = [...secrets].filter((secret) => shown.some((html) => html.includes(secret)));
    expect(found).toEqual([]);
  });
});
