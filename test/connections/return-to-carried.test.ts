// The callback's redirect comes from the setup itself: the returnTo given at create or re-authorization
// travels with the workflow's authorization and comes back in completeAuthorization's answer, and nothing is
// written to oauth_return_targets for it. A setup begun before (its target in that table, its workflow's
// answer without one) still lands where it was asked to, once.
import { hashState } from '../../connections/oauth-state-store.js';
import type { ConnectionCommands } from '../../connections/connection-commands.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import { connectThroughApi, startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';

describe('returnTo carried by the setup', () => {
  let api: ApiHarness;
  let admin: string;

  beforeAll(async () => {
    api = await startApiHarness();
    admin = await api.token({ role: 'admin' });
  });
  afterAll(async () => api?.stop());

  const landing = (location: string | null) => {
    const url = new URL(location!);
    return { path: url.pathname, query: Object.fromEntries(url.searchParams) };
  };

  it('redirects a re-authorization to its own returnTo, remembering nothing in oauth_return_targets', async () => {
    const id = await connectThroughApi(api, admin, 'workspace');
    const reauthorized = await api.call('POST', `/v1/connections/${id}/reauthorize`, {
      token: admin,
      body: { returnTo: '/settings/after-reauthorization' },
    });
    expect(reauthorized.status).toBe(200);
    expect(await api.db('oauth_return_targets').where({ connection_id: id })).toEqual([]);
    const callback = await authorizeInBrowser(reauthorized.body.authorizationUrl);
    const landed = await api.call('GET', `/v1/oauth/callback${callback.search}`);
    expect(landed.status).toBe(303);
    expect(landing(landed.headers.get('location'))).toEqual({
      path: '/settings/after-reauthorization',
      query: { connection: id, status: 'active' },
    });
  });

  it('sends a setup begun before setups carried returnTo to the target remembered for it, once', async () => {
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    expect(created.status).toBe(201);
    const id = created.body.connection.id;
    const state = new URL(created.body.authorizationUrl).searchParams.get('state')!;
    // As the API remembered targets before: keyed by the state's hash.
    await api.db('oauth_return_targets').insert({
      state_hash: hashState(state),
      connection_id: id,
      workspace_id: api.workspaceId,
      return_to: '/from-before',
    });
    // The workflow of such a setup answers without a returnTo (injected: this one's answer loses it).
    const before: Partial<ConnectionCommands> = {
      async completeCallback(params) {
        const { returnTo: _carried, ...answer } = await api.commands.completeCallback(params);
        return answer;
      },
    };
    const server = await listen(
      api.appWith({ commands: Object.assign(Object.create(api.commands), before) }),
    );
    try {
      const callback = await authorizeInBrowser(created.body.authorizationUrl);
      const landed = await fetch(`${server.url}/v1/oauth/callback${callback.search}`, { redirect: 'manual' });
      expect(landed.status).toBe(303);
      expect(landing(landed.headers.get('location'))).toEqual({
        path: '/from-before',
        query: { connection: id, status: 'active' },
      });
      expect(await api.db('oauth_return_targets').where({ connection_id: id })).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
