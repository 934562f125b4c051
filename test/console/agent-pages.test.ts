// The console's agents pages over the real stack (HTTP, no browser): owners and admins see the workspace's
// agents (with a policy, registered as agent dependents, seen in the grants) and the policy that applies to
// each; an agent's page saves a rule per integration and removes the policy, as the policy read path
// (AgentPolicies.effectiveFor) and the token route then see it; a refused form comes back with the field's
// problem and what was typed, and stores nothing; members are refused, and every form needs its CSRF token.
import { AgentPolicies } from '../../agent-policies/agent-policies.js';
import { integrationStore } from '../../integrations/integration-store.js';
import { connectThroughApi, startApiHarness, type ApiHarness } from '../support/api.js';
import { signedInConsole, type ConsoleClient } from '../support/console.js';

let api: ApiHarness;
let admin: ConsoleClient;
let owner: ConsoleClient;
let member: ConsoleClient;
let connectionId: string;
let crmAgentToken: string;
const pagesSeen: string[] = [];
const agentTokens: string[] = [];

/** A console client whose every page is kept for the secret scan at the end. */
function recorded(client: ConsoleClient): ConsoleClient {
  return {
    ...client,
    async get(path) {
      const page = await client.get(path);
      pagesSeen.push(page.html);
      return page;
    },
    async post(path, fields, options) {
      const page = await client.post(path, fields, options);
      pagesSeen.push(page.html);
      return page;
    },
  };
}

/** The policy that applies to an agent now, as the proxy, the token route and MCP ask for it. */
function effective(agentId: string) {
  // A fresh instance: what is stored, never what another instance may hold.
  return new AgentPolicies(api.db).effectiveFor({ workspace: api.workspaceId, sub: agentId, role: 'agent' });
}

/** The text of the page's first alert (a refused form's problems), tags and spaces flattened. */
function alertOf(page: string): string {
  const alert = /<div role="alert">([\s\S]*?)<\/div>/.exec(page)?.[1] ?? '';
  return alert
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The table's body rows (caption `caption`) as their cells' text. */
function rowsOf(page: string, caption: string): string[][] {
  const start = page.indexOf(caption);
  const body = page.slice(page.indexOf('<tbody>', start), page.indexOf('</tbody>', start));
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((cell) =>
      cell[1]!
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .replaceAll('&#39;', "'")
        .trim(),
    ),
  );
}

const agentPage = (agentId: string) => `/console/agents/${encodeURIComponent(agentId)}`;

/** An integration's form as a browser sends it: allowed, any method, no path, proxy only, unless told. */
const ruleForm = (integration: string, overrides: Record<string, string> = {}) => ({
  integration,
  allowed: 'yes',
  methods: 'any',
  paths: '',
  ...overrides,
});

beforeAll(async () => {
  api = await startApiHarness();
  // A second configured integration: an agent's first saved form keeps it as the default had it.
  await integrationStore.configure(api.db, api.vault, {
    workspaceId: api.workspaceId,
    key: 'stand-in',
    provider: {
      authType: 'api_key',
      displayName: 'Stand-in API',
      apiBaseUrl: 'http://127.0.0.1:9/api',
      injection: { in: 'header', name: 'X-Api-Key', prefix: '' },
    },
  });
  admin = recorded(await signedInConsole(api, { sub: 'console-admin', role: 'admin' }));
  owner = recorded(await signedInConsole(api, { sub: 'console-owner', role: 'owner' }));
  member = recorded(await signedInConsole(api, { sub: 'console-member', role: 'member' }));

  const adminToken = await api.token({ role: 'admin', sub: 'api-admin' });
  connectionId = await connectThroughApi(api, adminToken, 'workspace');
  const registered = await api.call('PUT', `/v1/connections/${connectionId}/dependents/agent/crm-agent`, {
    token: adminToken,
    body: { name: 'CRM agent' },
  });
  expect(registered.status).toBe(201);
  // Another agent only used the connection: the grants know it.
  const seen = await api.token({ role: 'agent', sub: 'seen-agent' });
  crmAgentToken = await api.token({ role: 'agent', sub: 'crm-agent' });
  agentTokens.push(seen, crmAgentToken);
  const used = await api.call('POST', `/v1/connections/${connectionId}/token`, { token: seen });
  expect(used.status).toBe(200);
  api.addSecret(used.body.accessToken);
  agentTokens.push(used.body.accessToken);
  await api.flushGrants();
});

afterAll(async () => {
  // No page of the whole file carried an agent's token or a provider's (the pages were kept).
  expect(pagesSeen.length).toBeGreaterThan(15);
  for (const secret of agentTokens) expect(pagesSeen.filter((page) => page.includes(secret))).toEqual([]);
  await api?.stop();
});

describe('the agents list', () => {
  it('is for owners and admins, linked from their navigation; a member is refused and has no link', async () => {
    for (const manager of [admin, owner]) {
      const page = await manager.get('/console/agents');
      expect(page.status).toBe(200);
      expect(page.html).toContain('<h1>Agents</h1>');
      expect(page.html).toContain('<a href="/console/agents">Agents</a>');
    }
    const integrations = await member.get('/console/integrations');
    expect(integrations.html).not.toContain('href="/console/agents"');
    for (const path of ['/console/agents', agentPage('crm-agent')]) {
      const refused = await member.get(path);
      expect([path, refused.status]).toEqual([path, 403]);
      expect(refused.html).toContain('<h1>Not allowed</h1>');
    }
    const posted = await member.post(agentPage('crm-agent'), ruleForm(api.integration));
    expect(posted.status).toBe(403);
    const removal = await member.post(`${agentPage('crm-agent')}/remove`, {});
    expect(removal.status).toBe(403);
    await expect(effective('crm-agent')).resolves.toEqual({ source: 'none' });
  });

  it('lists the agents of dependents and grants, each with no policy while the workspace has none', async () => {
    const page = await admin.get('/console/agents');
    expect(page.html).toContain('has no policy yet.');
    expect(rowsOf(page.html, 'Agents')).toEqual([
      ['crm-agent', "No policy: today's behaviour", 'Dependent of 1 connection'],
      ['seen-agent', "No policy: today's behaviour", 'Used connections'],
    ]);
    expect(page.html).toContain(`href="${agentPage('crm-agent')}"`);
  });

  it("opens another agent's page by its id, and refuses an id that is not one", async () => {
    const opened = await admin.get('/console/agents?agent=new-agent%40acme');
    expect([opened.status, opened.headers.get('location')]).toEqual([303, agentPage('new-agent@acme')]);
    const page = await admin.get(agentPage('new-agent@acme'));
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h1>Agent new-agent@acme</h1>');
    for (const path of ['/console/agents?agent=two%20words', '/console/agents/two%20words']) {
      const refused = await admin.get(path);
      expect([path, refused.status]).toEqual([path, 400]);
      expect(refused.html).toContain('<h1>Not valid</h1>');
    }
  });
});

describe("an agent's policy", () => {
  it('shows a form per configured integration, as the default would apply', async () => {
    const page = await admin.get(agentPage('crm-agent'));
    expect(page.status).toBe(200);
    expect(page.html).toContain('No policy: today&#39;s behaviour');
    expect(page.html).toContain('<legend>Stand-in API (stand-in)</legend>');
    expect(page.html).toContain(`<input type="hidden" name="integration" value="${api.integration}" />`);
    expect(page.html).toMatch(/id="stand-in-methods-any"\s+name="methods"\s+value="any"\s+checked/);
    expect(page.html).toMatch(/id="stand-in-allowed"\s+name="allowed"\s+value="yes"\s+checked/);
    expect(page.html).not.toContain('Remove policy');
  });

  it('refuses a form without its CSRF token, or with another session’s, and stores nothing', async () => {
    for (const csrf of [null, owner.csrf]) {
      const refused = await admin.post(agentPage('crm-agent'), ruleForm('stand-in'), { csrf });
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('<h1>Form expired</h1>');
    }
    await expect(effective('crm-agent')).resolves.toEqual({ source: 'none' });
  });

  it('shows a refused form again with the problem next to its field and what was typed, storing nothing', async () => {
    const noMethod = await admin.post(agentPage('crm-agent'), ruleForm('stand-in', { methods: 'chosen' }));
    expect(noMethod.status).toBe(400);
    expect(alertOf(noMethod.html)).toMatch(/^Nothing was saved\. .*Methods: /);
    expect(noMethod.html).toContain('id="stand-in-methods-error" class="field-error"');
    expect(noMethod.html).toMatch(/id="stand-in-methods-chosen"\s+name="methods"\s+value="chosen"\s+checked/);

    const badPath = await admin.post(
      agentPage('crm-agent'),
      ruleForm('stand-in', { methods: 'chosen', method: 'PATCH', paths: '/items\n/repos/../admin' }),
    );
    expect(badPath.status).toBe(400);
    expect(alertOf(badPath.html)).toContain('Path prefixes: a path prefix has no empty or dot segments');
    expect(badPath.html).toMatch(/id="stand-in-paths"[^>]*aria-invalid="true"/);
    // What was typed is kept: the paths, the method chosen.
    expect(badPath.html).toContain('/items\n/repos/../admin</textarea>');
    expect(badPath.html).toMatch(/id="stand-in-method-PATCH"\s+name="method"\s+value="PATCH"\s+checked/);

    const tokenLimited = await admin.post(
      agentPage('crm-agent'),
      ruleForm('stand-in', { methods: 'read_only', token: 'yes' }),
    );
    expect(tokenLimited.status).toBe(400);
    expect(alertOf(tokenLimited.html)).toContain(
      'Raw token allowed: a raw token reaches every method and path',
    );
    expect(tokenLimited.html).toContain('id="stand-in-token-error" class="field-error"');

    await expect(effective('crm-agent')).resolves.toEqual({ source: 'none' });
    expect(await new AgentPolicies(api.db).list(api.workspaceId)).toEqual([]);
  });

  it('saves a rule: the agent gets its own policy, the other agents the default, and the token route refuses', async () => {
    const saved = await admin.post(
      agentPage('crm-agent'),
      ruleForm(api.integration, { methods: 'read_only', paths: ' /repos/acme \r\n\r\n/users' }),
    );
    expect([saved.status, saved.location]).toEqual([303, `${agentPage('crm-agent')}?notice=saved`]);

    await expect(effective('crm-agent')).resolves.toEqual({
      source: 'agent',
      policy: expect.objectContaining({
        integrations: {
          [api.integration]: { methods: ['GET', 'HEAD'], paths: ['/repos/acme', '/users'], token: false },
          // The other integration, as the default let the agent use it until now.
          'stand-in': { methods: null, paths: null, token: false },
        },
      }),
    });
    const stored = await new AgentPolicies(api.db).get(api.workspaceId, 'crm-agent');
    expect(stored?.updatedBy).toBe('console-admin');
    await expect(effective('seen-agent')).resolves.toEqual({ source: 'default' });

    const page = await admin.get(`${agentPage('crm-agent')}?notice=saved`);
    expect(page.html).toContain('<p role="status">Saved.');
    expect(page.html).toContain('Own policy: 2 integrations');
    expect(page.html).toMatch(
      new RegExp(
        `id="${api.integration}-methods-read_only"\\s+name="methods"\\s+value="read_only"\\s+checked`,
      ),
    );
    expect(page.html).toContain('/repos/acme\n/users</textarea>');
    expect(page.html).toContain('Remove policy');
    // Removing it would leave the workspace without any policy.
    expect(page.html).toContain('No agent of the workspace has a policy then');

    const list = await owner.get('/console/agents');
    expect(list.html).toContain('has policies: agents without one get the default.');
    expect(rowsOf(list.html, 'Agents')).toEqual([
      ['crm-agent', 'Own policy: 2 integrations', 'Its policy; Dependent of 1 connection'],
      ['seen-agent', 'Default: proxy only, every integration', 'Used connections'],
    ]);

    // What the policy says is what the token route does: proxy only, named as such.
    const token = await api.call('POST', `/v1/connections/${connectionId}/token`, { token: crmAgentToken });
    expect(token.status).toBe(403);
    expect(token.body.error).toMatchObject({ code: 'policy_denied', details: { rule: 'token' } });
  });

  it("shows the refusal on the connection's page, with its outcome and channel", async () => {
    await api.flushGrants();
    const page = await admin.get(`/console/connections/${connectionId}`);
    expect(page.status).toBe(200);
    const rows = rowsOf(page.html, 'Grants');
    expect(rows.map((row) => row.slice(0, 7))).toEqual(
      expect.arrayContaining([
        ['Token', 'Allowed', '', '', 'API', 'seen-agent', 'agent'],
        ['Token', 'Refused (token rule)', '', '', 'API', 'crm-agent', 'agent'],
      ]),
    );
  });

  it('clears "Allowed": the integration leaves the policy', async () => {
    const saved = await admin.post(agentPage('crm-agent'), {
      integration: 'stand-in',
      methods: 'any',
      paths: '',
    });
    expect(saved.status).toBe(303);
    const now = await effective('crm-agent');
    expect(now.source === 'agent' && Object.keys(now.policy.integrations)).toEqual([api.integration]);
    const page = await admin.get(agentPage('crm-agent'));
    expect(page.html).toContain('Own policy: 1 integration<');
    expect(page.html).not.toMatch(/id="stand-in-allowed"\s+name="allowed"\s+value="yes"\s+checked/);
  });

  it('removes the policy: the workspace is back to no policy, and a second removal is not found', async () => {
    const removed = await admin.post(`${agentPage('crm-agent')}/remove`, {});
    expect([removed.status, removed.location]).toEqual([303, `${agentPage('crm-agent')}?notice=removed`]);
    await expect(effective('crm-agent')).resolves.toEqual({ source: 'none' });
    await expect(effective('seen-agent')).resolves.toEqual({ source: 'none' });
    const page = await admin.get(`${agentPage('crm-agent')}?notice=removed`);
    expect(page.html).toContain('<p role="status">The policy is removed.</p>');
    expect(page.html).not.toContain('Remove policy');

    const again = await admin.post(`${agentPage('crm-agent')}/remove`, {});
    expect(again.status).toBe(404);
    expect(again.html).toContain('<h1>Not found</h1>');
    const withoutCsrf = await admin.post(`${agentPage('crm-agent')}/remove`, {}, { csrf: null });
    expect(withoutCsrf.status).toBe(403);
  });
});
