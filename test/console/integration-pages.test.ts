// The console's integrations pages over the real stack (HTTP, no browser): a signed-in admin configures a
// catalogue provider and registers custom ones through the forms, refused forms come back with the field's
// problem and change nothing, a member sees the list only, every form needs its CSRF token, and a display
// name that is markup stays text. Every page this file receives is scanned for every client secret it typed.
import { integrationStore } from '../../integrations/integration-store.js';
import { createOutboundGuard } from '../../providers/outbound-guard.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { signedInConsole, type ConsoleClient, recordedClient } from '../support/console.js';
import { listen } from '../support/http.js';

const GOOGLE_SECRET = 'console-google-secret-Qw71';
const SLACK_SECRET = 'console-slack-secret-Zx90';
const ACME_SECRET = 'console-acme-secret-Lm52';
const SCRIPT = '<script>alert(1)</script>';
const ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';

let api: ApiHarness;
let admin: ConsoleClient;
let member: ConsoleClient;
const pagesSeen: string[] = [];

/** A console client whose every page is kept for the secret scan at the end. */
const recorded = (client: ConsoleClient) => recordedClient(client, pagesSeen);

/** The keys of the integrations the list's table shows, in order (its first column's links). */
function listedKeys(page: string): string[] {
  const table = page.slice(page.indexOf('<tbody>'), page.indexOf('</tbody>'));
  return [...table.matchAll(/href="\/console\/integrations\/([a-z0-9-]+)"/g)].map((match) => match[1]!);
}

/** The text of the page's alert (the refusal's problems), tags and spaces flattened. */
function alertOf(page: string): string {
  const alert = /<div role="alert">([\s\S]*?)<\/div>/.exec(page)?.[1] ?? '';
  return alert
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const settings = (key: string) => `/console/integrations/${key}/settings`;

const oauthForm = (key: string, overrides: Record<string, string> = {}) => ({
  authType: 'oauth2',
  key,
  displayName: 'Acme CRM',
  authorizationEndpoint: 'http://127.0.0.1:4999/authorize',
  tokenEndpoint: 'http://127.0.0.1:4999/token',
  revocationEndpoint: '',
  apiBaseUrl: '',
  scopes: 'read write',
  clientId: 'acme-client',
  clientSecret: ACME_SECRET,
  tokenEndpointAuthMethod: 'client_secret_post',
  ...overrides,
});

const apiKeyForm = (key: string, overrides: Record<string, string> = {}) => ({
  authType: 'api_key',
  key,
  displayName: 'Acme keys',
  apiBaseUrl: 'https://api.acme.example',
  headerName: 'X-Api-Key',
  valuePrefix: '',
  verificationPath: '/me',
  ...overrides,
});

beforeAll(async () => {
  api = await startApiHarness();
  for (const secret of [GOOGLE_SECRET, SLACK_SECRET, ACME_SECRET]) api.addSecret(secret);
  admin = recorded(await signedInConsole(api, { sub: 'console-admin', role: 'admin' }));
  member = recorded(await signedInConsole(api, { sub: 'console-member', role: 'member' }));
});

afterAll(async () => {
  // No page of the whole file ever carried a client secret (the positive control: the pages were kept).
  expect(pagesSeen.length).toBeGreaterThan(20);
  for (const secret of [GOOGLE_SECRET, SLACK_SECRET, ACME_SECRET, api.oidc.clientSecret]) {
    expect(pagesSeen.filter((page) => page.includes(secret))).toEqual([]);
  }
  await api?.stop();
});

describe('a catalogue OAuth provider', () => {
  it('is configured by an admin: client id, sealed secret, scopes, enabled and the agent scope', async () => {
    const list = await admin.get('/console/integrations');
    expect(list.status).toBe(200);
    expect(list.html).toContain('<h1>Integrations</h1>');
    expect(list.html).toContain(`href="${settings('google')}">Configure Google</a>`);
    expect(list.html).toContain('href="/console/integrations/new">Register a custom provider</a>');

    const before = await admin.get(settings('google'));
    expect(before.status).toBe(200);
    expect(before.html).toContain('<h1>Configure Google</h1>');
    expect(before.html).toContain('No client secret is stored.');
    expect(before.html).toContain('<label for="clientSecret">Client secret</label>');
    expect(before.html).toMatch(/<input\s+type="password"\s+id="clientSecret"\s+name="clientSecret"/);

    const saved = await admin.post(settings('google'), {
      clientId: 'console-google-client',
      clientSecret: GOOGLE_SECRET,
      scopes: 'openid  email',
      enabled: 'yes',
      agentScope: 'workspace',
    });
    expect([saved.status, saved.location]).toEqual([303, `${settings('google')}?notice=saved`]);

    const after = await admin.get(`${settings('google')}?notice=saved`);
    expect(after.html).toContain('<p role="status">Saved.</p>');
    expect(after.html).toContain('A client secret is stored.');
    expect(after.html).toContain('value="console-google-client"');
    expect(after.html).toContain('value="openid email"');
    expect(after.html).toMatch(/<option value="workspace"\s+selected>/);
    // Google is a personal tool: without a setting of its own, agents use each user's own connection.
    expect(after.html).toMatch(
      /<option value="default"\s*>\s*The default \(each user&#39;s own connection\)/,
    );

    const stored = await integrationStore.get(api.db, api.workspaceId, 'google');
    expect(stored).toMatchObject({
      clientId: 'console-google-client',
      scopes: ['openid', 'email'],
      enabled: true,
    });
    expect(await integrationStore.agentScope(api.db, api.workspaceId, 'google')).toBe('workspace');
    // The secret is stored sealed: the vault opens it, the row holds no plaintext.
    expect(await integrationStore.openClientSecret(api.db, api.vault, api.workspaceId, 'google')).toBe(
      GOOGLE_SECRET,
    );
    const rows = await api.db('credentials').where({ workspace_id: api.workspaceId, integration: 'google' });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(GOOGLE_SECRET);

    // The API sees what the console did.
    const viewed = await api.call('GET', '/v1/integrations', { token: await api.token({ role: 'member' }) });
    expect(viewed.body.integrations.find((item: { key: string }) => item.key === 'google')).toMatchObject({
      configured: true,
      enabled: true,
      clientIdPresent: true,
      clientSecretPresent: true,
      scopes: ['openid', 'email'],
    });
  });

  it('is disabled by a form without "Enabled" (a browser sends no unchecked box), keeping the rest', async () => {
    const saved = await admin.post(settings('google'), {
      clientId: 'console-google-client',
      clientSecret: '',
      scopes: '',
      agentScope: 'default',
    });
    expect(saved.status).toBe(303);
    const stored = await integrationStore.get(api.db, api.workspaceId, 'google');
    // Empty scopes are the provider's defaults; an empty secret keeps the stored one.
    expect(stored).toMatchObject({ clientId: 'console-google-client', enabled: false });
    expect(stored?.scopes).toEqual(
      (
        await api.call('GET', '/v1/integrations', { token: await api.token({ role: 'admin' }) })
      ).body.integrations.find((item: { key: string }) => item.key === 'google').defaultScopes,
    );
    expect(await integrationStore.openClientSecret(api.db, api.vault, api.workspaceId, 'google')).toBe(
      GOOGLE_SECRET,
    );
    expect(await integrationStore.agentScope(api.db, api.workspaceId, 'google')).toBeNull();
    const list = await admin.get('/console/integrations?q=google');
    expect(list.html).toMatch(
      />\s*Google\s*<\/a\s*>\s*<\/td>\s*<td>OAuth 2.0<\/td>\s*<td>Mail<\/td>\s*<td>Disabled<\/td>/,
    );
  });

  it('refuses a scope with a comma: the form again with the problem, the values typed, no secret, nothing stored', async () => {
    const refused = await admin.post(settings('slack'), {
      clientId: 'console-slack-client',
      clientSecret: SLACK_SECRET,
      scopes: 'chat:write,channels:read',
      enabled: 'yes',
      agentScope: 'user',
    });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('<h1>Configure Slack</h1>');
    expect(alertOf(refused.html)).toMatch(/Scopes: one scope: no spaces, commas/);
    expect(refused.html).toMatch(
      /id="scopes"\s+name="scopes"\s+value="chat:write,channels:read"\s+aria-describedby="scopes-hint scopes-error"\s+aria-invalid="true"/,
    );
    expect(refused.html).toContain('value="console-slack-client"');
    expect(refused.html).toMatch(/<option value="user"\s+selected>/);
    expect(refused.html).not.toContain(SLACK_SECRET);
    expect(refused.html).toContain('The one you typed was not saved: type it again.');
    expect(await integrationStore.get(api.db, api.workspaceId, 'slack')).toBeUndefined();

    const noClient = await admin.post(settings('slack'), {
      clientId: '',
      clientSecret: SLACK_SECRET,
      scopes: '',
      enabled: 'yes',
      agentScope: 'default',
    });
    expect(noClient.status).toBe(400);
    expect(alertOf(noClient.html)).toContain('Client ID: required when the provider is first configured');
    expect(await integrationStore.get(api.db, api.workspaceId, 'slack')).toBeUndefined();
  });
});

describe('an API-key catalogue provider', () => {
  it('has no client fields: enabled and the agent scope only, and a client id sent anyway is refused', async () => {
    const page = await admin.get(settings('openai'));
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('Client ID');
    expect(page.html).toContain('<label class="inline" for="enabled">Enabled</label>');
    const saved = await admin.post(settings('openai'), { enabled: 'yes', agentScope: 'user' });
    expect(saved.status).toBe(303);
    expect(await integrationStore.get(api.db, api.workspaceId, 'openai')).toMatchObject({ enabled: true });
    expect(await integrationStore.agentScope(api.db, api.workspaceId, 'openai')).toBe('user');
    const refused = await admin.post(settings('openai'), {
      clientId: 'a-client',
      enabled: 'yes',
      agentScope: 'workspace',
    });
    expect(refused.status).toBe(400);
    expect(alertOf(refused.html)).toContain('not used by an API-key provider');
    expect(await integrationStore.agentScope(api.db, api.workspaceId, 'openai')).toBe('user');
  });
});

describe('custom providers', () => {
  it('registers an OAuth provider named with markup: shown as text on the list and its settings page', async () => {
    const form = await admin.get('/console/integrations/new');
    expect(form.status).toBe(200);
    expect(form.html).toContain('<h1>Register a custom provider</h1>');
    expect(form.html).toContain('<legend>OAuth 2.0 provider</legend>');
    expect(form.html).toContain('<legend>API-key provider</legend>');

    const created = await admin.post(
      '/console/integrations/new',
      oauthForm('acme-script', { displayName: SCRIPT }),
    );
    expect([created.status, created.location]).toEqual([303, `${settings('acme-script')}?notice=registered`]);
    const stored = await integrationStore.get(api.db, api.workspaceId, 'acme-script');
    expect(stored).toMatchObject({ clientId: 'acme-client', scopes: undefined, enabled: true });
    expect(stored?.provider).toMatchObject({
      displayName: SCRIPT,
      scopes: ['read', 'write'],
      tokenEndpointAuthMethod: 'client_secret_post',
      issuer: 'http://127.0.0.1:4999',
    });
    expect(await integrationStore.openClientSecret(api.db, api.vault, api.workspaceId, 'acme-script')).toBe(
      ACME_SECRET,
    );

    const registered = await admin.get(`${settings('acme-script')}?notice=registered`);
    expect(registered.html).toContain('<p role="status">Registered.</p>');
    expect(registered.html).toContain(`<h1>Configure ${ESCAPED}</h1>`);
    expect(registered.html).toContain('Stored (never shown)');
    const list = await admin.get('/console/integrations?q=acme-script');
    expect(listedKeys(list.html)).toEqual(['acme-script']);
    expect(list.html).toContain(`Configure ${ESCAPED}</a>`);
    for (const page of [registered, list]) expect(page.html).not.toContain(SCRIPT);

    // Its page sets the agent scope (the API configures catalogue providers only).
    const saved = await admin.post(settings('acme-script'), { agentScope: 'user' });
    expect(saved.status).toBe(303);
    expect(await integrationStore.agentScope(api.db, api.workspaceId, 'acme-script')).toBe('user');
    const fixed = await admin.post(settings('acme-script'), { clientId: 'other', agentScope: 'workspace' });
    expect(fixed.status).toBe(400);
    expect(alertOf(fixed.html)).toContain('Client ID: fixed when a custom provider is registered');
    expect(await integrationStore.agentScope(api.db, api.workspaceId, 'acme-script')).toBe('user');
  });

  it('registers an API-key provider from the second form', async () => {
    const created = await admin.post(
      '/console/integrations/new',
      apiKeyForm('acme-keys', { valuePrefix: 'Token ' }),
    );
    expect([created.status, created.location]).toEqual([303, `${settings('acme-keys')}?notice=registered`]);
    expect((await integrationStore.get(api.db, api.workspaceId, 'acme-keys'))?.provider).toMatchObject({
      authType: 'api_key',
      apiBaseUrl: 'https://api.acme.example',
      injection: { in: 'header', name: 'X-Api-Key', prefix: 'Token ' },
      verification: { path: '/me' },
    });
  });

  it('refuses bad input field by field, keeps what was typed (never the secret, markup as text) and stores nothing', async () => {
    const refused = await admin.post(
      '/console/integrations/new',
      oauthForm('github', { displayName: SCRIPT, tokenEndpoint: 'ftp://acme.example/token', scopes: 'a,b' }),
    );
    expect(refused.status).toBe(400);
    const alert = alertOf(refused.html);
    expect(alert).toMatch(/Token URL: an https or http URL/);
    expect(alert).toMatch(/Scopes: one scope/);
    expect(refused.html).toMatch(
      new RegExp(
        `id="oauth-displayName"\\s+name="displayName"\\s+value="${ESCAPED.replace(/[()]/g, '\\$&')}"`,
      ),
    );
    expect(refused.html).not.toContain(SCRIPT);
    expect(refused.html).not.toContain(ACME_SECRET);
    expect(refused.html).toMatch(/<option value="client_secret_post"\s+selected>/);
    // The other form is empty.
    expect(refused.html).toMatch(/id="apikey-key"\s+name="key"\s+aria-describedby/);

    const clash = await admin.post('/console/integrations/new', oauthForm('github'));
    expect(clash.status).toBe(400);
    expect(alertOf(clash.html)).toContain('Key: clashes with a catalogue provider');

    const keyForm = await admin.post(
      '/console/integrations/new',
      apiKeyForm('Acme_Bad', { headerName: 'X Api Key', verificationPath: 'me' }),
    );
    expect(keyForm.status).toBe(400);
    const keyAlert = alertOf(keyForm.html);
    expect(keyAlert).toMatch(/Key: .*Header name: an HTTP header name.*Verification path: a path from \//);
    expect(keyForm.html).toMatch(/id="apikey-headerName"\s+name="headerName"\s+value="X Api Key"/);

    const taken = await admin.post('/console/integrations/new', apiKeyForm('acme-keys'));
    expect(taken.status).toBe(409);
    expect(alertOf(taken.html)).toContain('Key: an integration acme-keys already exists in this workspace');

    for (const key of ['github', 'Acme_Bad', 'acme-bad']) {
      expect([key, await integrationStore.get(api.db, api.workspaceId, key)]).toEqual([key, undefined]);
    }
    expect((await integrationStore.get(api.db, api.workspaceId, 'acme-keys'))?.provider.displayName).toBe(
      'Acme keys',
    );
  });

  describe('where insecure provider URLs are not allowed', () => {
    let server: { url: string; close(): Promise<void> };
    let strictAdmin: ConsoleClient;

    beforeAll(async () => {
      server = await listen(
        api.appWith({
          allowInsecureProviderUrls: false,
          outbound: createOutboundGuard({ checkAddresses: true }),
        }),
      );
      strictAdmin = recorded(
        await signedInConsole({ ...api, url: server.url }, { sub: 'strict-admin', role: 'admin' }),
      );
    });
    afterAll(() => server.close());

    it('refuses an http URL and a private address, naming each field', async () => {
      const refused = await strictAdmin.post(
        '/console/integrations/new',
        oauthForm('acme-insecure', {
          authorizationEndpoint: 'http://acme.example/authorize',
          tokenEndpoint: 'https://10.1.2.3/token',
        }),
      );
      expect(refused.status).toBe(400);
      expect(alertOf(refused.html)).toMatch(/Authorization URL: must be an https URL.*Token URL: .*private/);
      expect(await integrationStore.get(api.db, api.workspaceId, 'acme-insecure')).toBeUndefined();
    });
  });
});

describe('the list', () => {
  it('filters by search and by "Configured only"', async () => {
    const all = listedKeys((await member.get('/console/integrations')).html);
    expect(all).toEqual(expect.arrayContaining(['google', 'slack', 'openai', api.integration, 'acme-keys']));
    // By key or display name, whatever the case.
    const byKey = await member.get('/console/integrations?q=ACME-Script');
    expect(listedKeys(byKey.html)).toEqual(['acme-script']);
    expect(byKey.html).toContain('value="ACME-Script"');
    expect(listedKeys((await member.get('/console/integrations?q=acme%20KEYS')).html)).toEqual(['acme-keys']);
    const configured = await member.get('/console/integrations?q=&configured=yes');
    expect(listedKeys(configured.html).sort()).toEqual(
      ['acme-keys', 'acme-script', 'google', 'openai', api.integration].sort(),
    );
    expect(configured.html).toMatch(/name="configured"\s+value="yes"\s+checked/);
    const both = await member.get('/console/integrations?q=acme&configured=yes');
    expect(listedKeys(both.html).sort()).toEqual(['acme-keys', 'acme-script']);
    const none = await member.get('/console/integrations?q=no-such-tool');
    expect(listedKeys(none.html)).toEqual([]);
    expect(none.html).toContain('No integration matches these filters.');
    expect((await member.get('/console/integrations?configured=no')).status).toBe(400);
  });
});

describe('a member', () => {
  it('sees the list without Configure links, and may not open or post the managers’ pages', async () => {
    const list = await member.get('/console/integrations');
    expect(list.status).toBe(200);
    expect(list.html).not.toContain('Configure ');
    expect(list.html).not.toContain('Register a custom provider');
    expect(list.html).not.toContain(SCRIPT);
    for (const path of [settings('stripe'), '/console/integrations/new']) {
      const page = await member.get(path);
      expect([path, page.status]).toEqual([path, 403]);
      expect(page.html).toContain('<h1>Not allowed</h1>');
    }
    const posted = await member.post(settings('stripe'), { enabled: 'yes', agentScope: 'default' });
    expect(posted.status).toBe(403);
    const registered = await member.post('/console/integrations/new', apiKeyForm('member-keys'));
    expect(registered.status).toBe(403);
    expect(await integrationStore.get(api.db, api.workspaceId, 'stripe')).toBeUndefined();
    expect(await integrationStore.get(api.db, api.workspaceId, 'member-keys')).toBeUndefined();
  });
});

describe('another workspace', () => {
  it("sees none of this workspace's configuration, and its custom providers are not found", async () => {
    const other = recorded(
      await signedInConsole(api, { sub: 'other-admin', role: 'admin', workspace: 'ws-console-other' }),
    );
    const list = await other.get('/console/integrations?configured=yes');
    expect(listedKeys(list.html)).toEqual([]);
    expect((await other.get(settings('acme-script'))).status).toBe(404);
    const google = await other.get(settings('google'));
    expect(google.html).toContain('No client secret is stored.');
    expect(google.html).not.toContain('console-google-client');
  });
});

describe('every form', () => {
  it('is refused without its CSRF token or with another one (403 "Form expired"), changing nothing', async () => {
    for (const csrf of [null, 'not-the-token', member.csrf]) {
      const configured = await admin.post(
        settings('stripe'),
        { enabled: 'yes', agentScope: 'default' },
        { csrf },
      );
      expect(configured.status).toBe(403);
      expect(configured.html).toContain('<h1>Form expired</h1>');
      const registered = await admin.post('/console/integrations/new', apiKeyForm('csrf-keys'), { csrf });
      expect(registered.status).toBe(403);
    }
    expect(await integrationStore.get(api.db, api.workspaceId, 'stripe')).toBeUndefined();
    expect(await integrationStore.get(api.db, api.workspaceId, 'csrf-keys')).toBeUndefined();
  });

  it('answers an integration the workspace does not have with "Not found"', async () => {
    const page = await admin.get(settings('no-such-tool'));
    expect(page.status).toBe(404);
    expect(page.html).toContain('<h1>Not found</h1>');
    expect((await admin.post(settings('no-such-tool'), { agentScope: 'default' })).status).toBe(404);
  });
});
