// Resolve and ready, over the real stack: which connection applies for each role and agent scope, the
// connection_required answer, visibility (404 for what a caller may not see), and the readiness long-poll
// woken by the transition, answering final statuses at once and the current status at its deadline.
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { withDeadline } from '../support/deadline.js';
import { connectThroughProvider, callbackParams } from '../support/lifecycle.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';

describe('resolve and ready', () => {
  let harness: ApiHarness;
  const tokens = {} as Record<
    'owner' | 'admin' | 'memberA' | 'memberB' | 'agentForA' | 'agentForB' | 'agentAlone' | 'foreignAdmin',
    string
  >;

  beforeAll(async () => {
    harness = await startApiHarness();
    tokens.owner = await harness.token({ role: 'owner', sub: 'owner-1' });
    tokens.admin = await harness.token({ role: 'admin', sub: 'admin-1' });
    tokens.memberA = await harness.token({ role: 'member', sub: 'member-a' });
    tokens.memberB = await harness.token({ role: 'member', sub: 'member-b' });
    tokens.agentForA = await harness.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-a' });
    tokens.agentForB = await harness.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-b' });
    tokens.agentAlone = await harness.token({ role: 'agent', sub: 'agent-2' });
    tokens.foreignAdmin = await harness.token({ role: 'admin', sub: 'admin-9', workspace: 'ws-other' });
  });
  afterAll(async () => harness?.stop());

  const resolve = (token: string, integration = harness.integration) =>
    harness.call('POST', '/v1/connections/resolve', { token, body: { integration } });
  const ready = (token: string, id: string, timeout?: number) =>
    harness.call('GET', `/v1/connections/${id}/ready${timeout === undefined ? '' : `?timeout=${timeout}`}`, {
      token,
    });
  const setScope = (scope: 'workspace' | 'user' | null, token = tokens.admin) =>
    harness.call('PUT', `/v1/integrations/${harness.integration}/agent-scope`, { token, body: { scope } });

  async function pendingConnection(options: { scope?: 'workspace' | 'user'; ownerUserId?: string } = {}) {
    return harness.commands.createOAuth({
      workspaceId: harness.workspaceId,
      integration: harness.integration,
      scope: options.scope ?? 'workspace',
      ownerUserId: options.ownerUserId,
      actor: 'admin-1',
    });
  }

  /**
   * Resolves once the connection's changes have `count` listeners: 1 while any long-poll waits for it (the
   * waiting room listens once per connection, from before a poll's first read until the last answers), 0
   * after; fails at the deadline.
   */
  function listeners(connectionId: string, count: number): Promise<void> {
    const event = `change:${connectionId}`;
    const { changes } = harness;
    let check = () => {};
    const settledCount = new Promise<void>((resolve) => {
      check = () => {
        if (changes.listenerCount(event) === count) resolve();
      };
    });
    // newListener is emitted before the listener is added: look once it has been.
    const added = () => process.nextTick(check);
    changes.on('newListener', added);
    changes.on('removeListener', check);
    check();
    return withDeadline(settledCount, `${count} listener(s) of ${event}`).finally(() => {
      changes.off('newListener', added);
      changes.off('removeListener', check);
    });
  }

  async function complete(authorizationUrl: string, options: { deny?: boolean; login?: string } = {}) {
    const callback = await authorizeInBrowser(authorizationUrl, options);
    return harness.commands.completeCallback(callbackParams(callback));
  }

  describe('resolve', () => {
    let workspaceConnectionId: string;

    it('answers 409 connection_required with what to create while the workspace has no connection', async () => {
      const answer = await resolve(tokens.agentForA);
      expect(answer.status).toBe(409);
      expect(answer.body.error).toMatchObject({
        code: 'connection_required',
        details: {
          integration: harness.integration,
          scope: 'workspace',
          create: {
            method: 'POST',
            path: '/v1/connections',
            body: { integration: harness.integration, scope: 'workspace' },
          },
        },
      });
      expect(answer.body.error.details.userId).toBeUndefined();
    });

    it('gives every role the workspace connection of a non-personal integration, preferring an active one', async () => {
      const failed = await pendingConnection();
      await complete(failed.authorizationUrl, { deny: true });
      const onlyFailed = await resolve(tokens.admin);
      expect(onlyFailed.status).toBe(409);
      expect(onlyFailed.body.error.details.latest).toEqual({
        id: failed.connectionId,
        status: 'failed',
        reason: 'access_denied',
      });

      ({ connectionId: workspaceConnectionId } = await connectThroughProvider(harness, (url) =>
        authorizeInBrowser(url),
      ));
      for (const token of [tokens.owner, tokens.admin, tokens.memberA, tokens.agentForA, tokens.agentAlone]) {
        const answer = await resolve(token);
        expect(answer.status).toBe(200);
        expect(answer.body.connection).toMatchObject({
          id: workspaceConnectionId,
          status: 'active',
          scope: 'workspace',
          integration: harness.integration,
        });
      }
    });

    it('refuses an unknown integration (404), a malformed body (400), and another workspace sees nothing', async () => {
      expect((await resolve(tokens.agentForA, 'no-such-integration')).body.error.code).toBe('not_found');
      expect((await resolve(tokens.foreignAdmin)).status).toBe(404);
      const extra = await harness.call('POST', '/v1/connections/resolve', {
        token: tokens.agentForA,
        body: { integration: harness.integration, connectionId: workspaceConnectionId },
      });
      expect(extra.status).toBe(400);
      expect(
        (await harness.call('POST', '/v1/connections/resolve', { body: { integration: 'x' } })).status,
      ).toBe(401);
    });

    it('with agent scope user, resolves the acting user own connection and names who must connect', async () => {
      expect((await setScope('user', tokens.memberA)).status).toBe(403);
      const set = await setScope('user');
      expect(set.body).toEqual({ integration: harness.integration, scope: 'user', effectiveScope: 'user' });
      try {
        const required = await resolve(tokens.agentForA);
        expect(required.status).toBe(409);
        expect(required.body.error.details).toMatchObject({ scope: 'user', userId: 'member-a' });

        const { connectionId } = await connectThroughProvider(harness, (url) => authorizeInBrowser(url), {
          scope: 'user',
          ownerUserId: 'member-a',
        });
        for (const token of [tokens.agentForA, tokens.memberA]) {
          const answer = await resolve(token);
          expect(answer.status).toBe(200);
          expect(answer.body.connection).toMatchObject({
            id: connectionId,
            scope: 'user',
            ownerUserId: 'member-a',
          });
        }
        // Member B's agent never gets member A's connection, nor the workspace's.
        for (const token of [tokens.agentForB, tokens.memberB]) {
          const answer = await resolve(token);
          expect(answer.status).toBe(409);
          expect(answer.body.error.details).toMatchObject({ scope: 'user', userId: 'member-b' });
        }
        // An admin resolves for themselves too.
        expect((await resolve(tokens.admin)).body.error.details).toMatchObject({ userId: 'admin-1' });
        // An agent acting for nobody cannot use personal connections.
        expect((await resolve(tokens.agentAlone)).status).toBe(400);
        // A pending connection of the user is the one that applies (wait on it with ready).
        const pending = await pendingConnection({ scope: 'user', ownerUserId: 'member-b' });
        expect((await resolve(tokens.agentForB)).body.connection).toMatchObject({
          id: pending.connectionId,
          status: 'pending',
        });
      } finally {
        expect((await setScope(null)).body).toMatchObject({ scope: null, effectiveScope: 'workspace' });
      }
    });

    it('the agent-scope setting answers 404 for an integration the workspace has not configured', async () => {
      const answer = await harness.call('PUT', '/v1/integrations/not-configured/agent-scope', {
        token: tokens.admin,
        body: { scope: 'user' },
      });
      expect(answer.status).toBe(404);
    });
  });

  describe('ready', () => {
    it('answers an active connection at once, for every role that may see it; 404 otherwise', async () => {
      const workspace = await connectThroughProvider(harness, (url) => authorizeInBrowser(url));
      const personal = await connectThroughProvider(harness, (url) => authorizeInBrowser(url), {
        scope: 'user',
        ownerUserId: 'member-a',
      });
      for (const token of [tokens.owner, tokens.admin, tokens.memberA, tokens.memberB, tokens.agentForA]) {
        expect((await ready(token, workspace.connectionId, 5)).body).toEqual({
          ready: true,
          status: 'active',
        });
      }
      for (const token of [tokens.owner, tokens.memberA, tokens.agentForA]) {
        expect((await ready(token, personal.connectionId, 5)).body).toEqual({
          ready: true,
          status: 'active',
        });
      }
      for (const token of [tokens.memberB, tokens.agentForB, tokens.agentAlone, tokens.foreignAdmin]) {
        const answer = await ready(token, personal.connectionId, 5);
        expect(answer.status).toBe(404);
      }
      expect((await ready(tokens.foreignAdmin, workspace.connectionId, 5)).status).toBe(404);
      expect((await ready(tokens.admin, '00000000-0000-4000-8000-000000000000', 5)).status).toBe(404);
      expect((await ready(tokens.admin, 'not-a-uuid', 5)).status).toBe(400);
      expect((await ready(tokens.admin, workspace.connectionId, 61)).status).toBe(400);
    });

    it('wakes at the transition: a long-poll started while pending answers active when setup completes', async () => {
      const created = await pendingConnection();
      const poll = ready(tokens.agentForA, created.connectionId, 60);
      await listeners(created.connectionId, 1);
      expect(harness.changes.listenerCount(`change:${created.connectionId}`)).toBe(1);
      await complete(created.authorizationUrl);
      const answer = await poll;
      // Woken by the transition: an answer at its deadline would say `timedOut`.
      expect(answer.body).toEqual({ ready: true, status: 'active' });
      expect(harness.changes.listenerCount(`change:${created.connectionId}`)).toBe(0);
    });

    it('a waiting long-poll answers failed with the reason when setup is denied', async () => {
      const created = await pendingConnection();
      const poll = ready(tokens.admin, created.connectionId, 60);
      await listeners(created.connectionId, 1);
      await complete(created.authorizationUrl, { deny: true });
      expect((await poll).body).toEqual({ ready: false, status: 'failed', reason: 'access_denied' });
      // Asked again, a failed connection is answered at once.
      // Without waiting: an answer at the 60 s deadline would say timedOut.
      const failed = (await ready(tokens.admin, created.connectionId, 60)).body;
      expect(failed).toMatchObject({ ready: false, status: 'failed' });
      expect(failed.timedOut).toBeUndefined();
    });

    it('answers disconnected and expired at once', async () => {
      const gone = await pendingConnection();
      const poll = ready(tokens.admin, gone.connectionId, 60);
      await listeners(gone.connectionId, 1);
      await harness.commands.disconnect(gone.connectionId, 'admin-1', 'removed_by_admin');
      expect((await poll).body).toEqual({ ready: false, status: 'disconnected', reason: 'removed_by_admin' });

      const { connectionId } = await connectThroughProvider(harness, (url) =>
        authorizeInBrowser(url, { login: 'grant-owner' }),
      );
      await harness.oidc.revokeGrant('grant-owner');
      expect(await harness.commands.refresh(connectionId, 'admin-1')).toMatchObject({ status: 'expired' });
      expect((await ready(tokens.agentForA, connectionId, 60)).body).toEqual({
        ready: false,
        status: 'expired',
        reason: 'refresh_rejected',
      });
    });

    it('answers the current status when the time is up, and timeout=0 answers at once', async () => {
      const created = await pendingConnection();
      // It waits (listening for the connection's changes) until the time is up, then says so: `timedOut` is
      // the answer of a poll whose deadline has passed.
      const waiting = listeners(created.connectionId, 1);
      const poll = ready(tokens.admin, created.connectionId, 1);
      await waiting;
      expect((await poll).body).toEqual({
        ready: false,
        status: 'pending',
        reason: 'setup_started',
        timedOut: true,
      });
      expect((await ready(tokens.admin, created.connectionId, 0)).body).toMatchObject({ status: 'pending' });
      expect(harness.changes.listenerCount(`change:${created.connectionId}`)).toBe(0);
    });

    it('stops listening when the client goes away', async () => {
      const created = await pendingConnection();
      const aborter = new AbortController();
      const poll = fetch(`${harness.url}/v1/connections/${created.connectionId}/ready?timeout=60`, {
        headers: { authorization: `Bearer ${tokens.admin}` },
        signal: aborter.signal,
      }).catch(() => 'aborted');
      await listeners(created.connectionId, 1);
      expect(harness.changes.listenerCount(`change:${created.connectionId}`)).toBe(1);
      aborter.abort();
      expect(await poll).toBe('aborted');
      await listeners(created.connectionId, 0);
      expect(harness.changes.listenerCount(`change:${created.connectionId}`)).toBe(0);
    });
  });
});
