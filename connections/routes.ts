// The connections feature's routes: here create, the OAuth callback and safe delete; with them the lifecycle
// routes (lifecycle-routes.ts: re-authorize, refresh, (de)activate, key rotation) and the read routes
// (read-routes.ts), all returned by connectionRoutes, the feature's one factory.
// Every change goes to the connection's workflow; what is shown is read back from Postgres, the read model.
// No route ever answers with a credential.
import { z } from 'zod';
import { alreadyConnectedMessage, ConnectionError } from './connection-errors.js';
import { createRequestFingerprint, type CreateIdempotency } from './create-requests.js';
import { dependentKinds } from '../dependents/dependent-store.js';
import type { Logger } from '../logging/logger.js';
import { ApiError } from '../api/errors.js';
import { RouteList, type Route } from '../api/routes.js';
import { safeErrorCode } from '../providers/provider-error.js';
import { credential, printable, text, visibleAscii } from '../api/validation.js';
import { recordedConnection } from './access.js';
import { removeConnection } from './connection-removal.js';
import {
  connectionSchema,
  apiKeySchema,
  idParams,
  integrationKey,
  returnToSchema,
  scopesSchema,
  paramsSchema,
  people,
  tags,
} from './connection-schemas.js';
import { connectionLifecycleRoutes, type LifecycleRouteDependencies } from './lifecycle-routes.js';
import { connectionReadRoutes } from './read-routes.js';
import { sendCallbackPage, type CallbackOutcome } from './callback-page.js';
import { sendRateLimitedPage } from '../pages/layout.js';
import { checkReturnTo, returnTargets, returnUrl } from './return-to.js';
import { openAuthorizationUrl, startUrl } from './authorization-url-box.js';
import { oauthStateStore } from './oauth-state-store.js';
import { connectionStore } from './connection-store.js';
import { browserIdOf, ensureBrowserId, hashBrowserId } from '../connect/browser-binding.js';
import { connectSessionStore } from '../connect/connect-session-store.js';
import { sendConnectResult } from '../connect/page-templates.js';
import { checkParameters, integrationProvider, type Catalogue } from '../integrations/connection-provider.js';
import { integrationStore } from '../integrations/integration-store.js';

export interface ConnectionRouteDependencies extends LifecycleRouteDependencies {
  logger: Logger;
  /** What catalogue integrations speak: their parameters are the current entry's. */
  catalogue: Catalogue;
}

/** Why an authorization from the connect page ended without a connection, in fixed words. */
function notConnectedWhy(error: string | undefined, ended: { reason: string } | undefined): string {
  if (ended?.reason === 'account_already_connected') {
    return 'This account is already connected in this workspace, so nothing new was stored.';
  }
  if (ended?.reason === 'account_mismatch') {
    return "You signed in with another account than this connection's, so nothing was changed.";
  }
  if (error === 'access_denied') return 'Access was not granted at the provider, so nothing was connected.';
  return `The provider refused the authorization (${ended?.reason ?? error ?? 'no tokens'}), so nothing was connected.`;
}

export function connectionRoutes(deps: ConnectionRouteDependencies): Route[] {
  const registry = new RouteList();
  const { commands, publicUrl } = deps;
  const returnOrigins = [...deps.returnToOrigins];
  const db = deps.db;

  const readBack = (workspaceId: string, id: string) => recordedConnection(db, workspaceId, id);

  /**
   * The parameters of a new connection, checked against its provider's (defaults applied); an integration
   * that is not configured is refused later, by the create itself, as without parameters.
   */
  async function connectionParams(
    workspaceId: string,
    key: string,
    given: Record<string, string>,
  ): Promise<Record<string, string> | undefined> {
    const integration = await integrationStore.get(db, workspaceId, key);
    if (!integration) return undefined;
    const { params, problems } = checkParameters(integrationProvider(integration, deps.catalogue), given);
    if (problems.length) {
      throw new ApiError(
        'invalid_request',
        `connection parameters refused: ${problems.map((problem) => problem.name).join(', ')}`,
        problems.map(({ name, message }) => ({ path: `body.params.${name}`, message })),
      );
    }
    return params;
  }

  registry.add({
    method: 'post',
    path: '/v1/connections',
    summary: 'Create a connection: OAuth (pending, with an authorization URL) or API key (verified)',
    tags,
    roles: people,
    body: z.strictObject({
      integration: integrationKey,
      scope: z.enum(['workspace', 'user']),
      name: text(200).optional(),
      apiKey: apiKeySchema.optional(),
      returnTo: returnToSchema.optional(),
      scopes: scopesSchema.optional(),
      /** Values for the provider's parameters (a tenant, a subdomain), checked against them. */
      params: paramsSchema.optional(),
    }),
    // Makes the create safe to retry (see the README).
    headers: z.object({ 'Idempotency-Key': printable(1, 255).optional() }),
    response: z.object({
      connection: connectionSchema,
      authorizationUrl: z.url().optional(),
      /** The service's start URL of the authorization: binds the browser that opens it (see the README). */
      startUrl: z.url().optional(),
    }),
    status: 201,
    // 409: the key's upstream account is already connected in this scope (details name the connection).
    // 502: the provider could not be reached to verify an API key.
    errors: [409, 422, 502],
    rateLimit: 'connect',
    async handler({ body, caller, headers }) {
      const idempotencyKey = headers['Idempotency-Key'] as string | undefined;
      if (caller.role === 'member' && body.scope !== 'user') {
        throw new ApiError('forbidden', 'members create only their own user connections');
      }
      if (body.apiKey !== undefined && (body.returnTo !== undefined || body.scopes !== undefined)) {
        throw new ApiError('invalid_request', 'returnTo and scopes apply to OAuth connections only');
      }
      const returnTo =
        body.returnTo === undefined ? undefined : checkReturnTo(body.returnTo, publicUrl, returnOrigins);
      const params = await connectionParams(caller.workspace, body.integration, body.params ?? {});
      const input = {
        workspaceId: caller.workspace,
        integration: body.integration,
        scope: body.scope,
        ownerUserId: body.scope === 'user' ? caller.sub : undefined,
        name: body.name,
        params,
        actor: caller.sub,
        idempotency:
          idempotencyKey === undefined
            ? undefined
            : ({
                key: idempotencyKey,
                fingerprint: createRequestFingerprint({ ...body, returnTo }),
              } satisfies CreateIdempotency),
      };
      if (body.apiKey !== undefined) {
        const snapshot = await commands.createApiKey({ ...input, apiKey: body.apiKey });
        // A new key ends `active` or `failed`; a retried create may find its connection in a later state
        // (deactivated, expired, removed), and answers it as it stands.
        if (snapshot.status === 'failed' && snapshot.reason === 'account_already_connected') {
          const existing = snapshot.existingConnectionId;
          throw new ConnectionError(
            'account_already_connected',
            alreadyConnectedMessage(existing),
            existing ? { connectionId: existing } : undefined,
          );
        }
        if (snapshot.status === 'failed') {
          const details = { connectionId: snapshot.id, status: snapshot.status, reason: snapshot.reason };
          if (snapshot.reason === 'provider_unavailable') {
            throw new ApiError(
              'provider_unavailable',
              'the provider could not be reached to verify the API key; nothing was stored: try again later',
              details,
            );
          }
          throw new ApiError('provider_rejected', 'the provider did not accept the API key', details);
        }
        return { connection: await readBack(caller.workspace, snapshot.id) };
      }
      const created = await commands.createOAuth({ ...input, scopes: body.scopes, returnTo });
      if (!('authorizationUrl' in created)) {
        // A retried create whose setup has ended: there is no authorization to send the person to.
        return { connection: await readBack(caller.workspace, created.connectionId) };
      }
      return {
        connection: await readBack(caller.workspace, created.connectionId),
        authorizationUrl: created.authorizationUrl,
        startUrl: startUrl(publicUrl, created.authorizationUrl),
      };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/oauth/callback',
    summary:
      "The provider's redirect: completes the authorization, then redirects to returnTo or shows a page",
    tags,
    roles: 'public',
    // Providers add parameters of their own (session_state, scope, ...): those are ignored, not refused.
    query: z.object({
      state: credential(2048),
      code: credential(4096).optional(),
      iss: visibleAscii(1, 2048).optional(),
      error: printable(0, 256).optional(),
    }),
    pages: [200, 400],
    redirect: 303,
    // The code exchange needs Postgres and Temporal.
    errors: [503],
    rateLimit: 'callback',
    // A browser lands here: whatever is wrong with the link, it gets the page, not a JSON error.
    onInvalid: (res) => sendCallbackPage(res, 400, { kind: 'refused' }),
    onRefused: sendRateLimitedPage,
    async handler({ query, req, res }) {
      const error = query.error === undefined ? undefined : safeErrorCode(query.error);
      if (!query.code && !error) {
        sendCallbackPage(res, 400, { kind: 'refused' });
        return;
      }
      const browserId = browserIdOf(req, publicUrl);
      let completed;
      try {
        completed = await commands.completeCallback({
          state: query.state,
          code: query.code,
          iss: query.iss,
          error,
          browserHash: browserId === undefined ? undefined : hashBrowserId(browserId),
        });
      } catch (failure) {
        if (
          failure instanceof ConnectionError &&
          failure.code === 'authorization_refused' &&
          (failure.details as { boundElsewhere?: boolean } | undefined)?.boundElsewhere
        ) {
          sendConnectResult(res, { kind: 'finished_elsewhere' });
          return;
        }
        if (
          failure instanceof ConnectionError &&
          (failure.code === 'unknown_authorization' ||
            failure.code === 'authorization_refused' ||
            failure.code === 'conflict')
        ) {
          sendCallbackPage(res, 400, { kind: 'refused' });
          return;
        }
        throw failure;
      }
      const { connectionId, snapshot } = completed;
      const ended = completed.ended;
      if (completed.connectSessionId) {
        // Started from the connect page: its result page, and the link spent once it connected.
        const session = await connectSessionStore.get(db, completed.connectSessionId);
        const continueTo = session?.returnTo
          ? returnUrl(session.returnTo, publicUrl, {
              connectionId,
              status: snapshot.status,
              reason: ended?.reason,
              existingConnectionId: ended?.existingConnectionId,
            })
          : undefined;
        if (!ended && !error && snapshot.status === 'active') {
          if (session) await connectSessionStore.spend(db, session.id, connectionId);
          // The page names what was connected, as the connect page did.
          const key = (await connectionStore.get(db, completed.workspaceId, connectionId))?.integration;
          const integration = key ? await integrationStore.get(db, completed.workspaceId, key) : undefined;
          const displayName =
            key && (deps.catalogue(key)?.displayName ?? integration?.provider.displayName ?? key);
          sendConnectResult(res, { kind: 'connected', displayName, returnTo: continueTo });
          return;
        }
        sendConnectResult(res, {
          kind: 'not_connected',
          why: notConnectedWhy(error, ended),
          returnTo: continueTo,
        });
        return;
      }
      // A setup begun before setups carried returnTo has its target in oauth_return_targets.
      const returnTo =
        completed.returnTo === undefined
          ? await returnTargets.take(db, query.state, connectionId)
          : completed.returnTo;
      if (returnTo) {
        res.redirect(
          303,
          returnUrl(returnTo, publicUrl, {
            connectionId,
            status: snapshot.status,
            reason: ended?.reason,
            existingConnectionId: ended?.existingConnectionId,
          }),
        );
        return;
      }
      let outcome: CallbackOutcome;
      if (ended?.reason === 'account_already_connected') {
        outcome = { kind: 'already_connected', existingConnectionId: ended.existingConnectionId };
      } else if (ended?.reason === 'account_mismatch') outcome = { kind: 'account_mismatch' };
      else if (ended) outcome = { kind: 'failed', reason: ended.reason };
      else if (error === 'access_denied') outcome = { kind: 'denied' };
      else if (error) outcome = { kind: 'failed', reason: error };
      else if (snapshot.status === 'active') outcome = { kind: 'connected' };
      else outcome = { kind: 'other', status: snapshot.status };
      sendCallbackPage(res, 200, outcome);
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/oauth/start',
    summary:
      'The start URL of an authorization (startUrl): binds this browser to it, so that its callback is ' +
      'accepted only from this browser, then redirects to the provider',
    tags,
    roles: 'public',
    query: z.object({ state: credential(2048) }),
    pages: [400, 409, 410],
    redirect: 303,
    errors: [503],
    rateLimit: 'callback',
    onInvalid: (res) => sendConnectResult(res, { kind: 'invalid' }),
    onRefused: sendRateLimitedPage,
    async handler({ query, req, res }) {
      const row = await oauthStateStore.find(db, query.state);
      const box = row?.authorization_url_box;
      const authorizationUrl = box ? openAuthorizationUrl(query.state, box) : undefined;
      if (!authorizationUrl) return sendConnectResult(res, { kind: 'expired' });
      const browserHash = hashBrowserId(ensureBrowserId(req, res, publicUrl));
      const bound = await oauthStateStore.bindBrowser(db, query.state, { browserHash });
      if (bound === 'other') return sendConnectResult(res, { kind: 'other_browser' });
      if (bound === 'gone') return sendConnectResult(res, { kind: 'expired' });
      // No body: Express's would repeat the URL, and with it the state.
      res.status(303).location(authorizationUrl).end();
    },
  });

  // In the order of the OpenAPI document and of each path's Allow (GET before DELETE): reads and lifecycle
  // routes before the delete.
  registry.routes.push(...connectionReadRoutes(deps), ...connectionLifecycleRoutes(deps));

  registry.add({
    method: 'delete',
    path: '/v1/connections/:id',
    summary:
      'Disconnect: revoke at the provider, destroy the credentials; 409 while dependents remain unless force',
    tags,
    roles: people,
    params: idParams,
    query: z.strictObject({ force: z.enum(['true', 'false']).optional() }),
    response: z.object({
      connection: connectionSchema,
      notified: z.array(
        z.object({ kind: z.enum(dependentKinds), dependentId: z.string(), event: z.string() }),
      ),
    }),
    errors: [404, 409],
    rateLimit: 'change',
    async handler({ params, query, caller }) {
      const { connection, notified } = await removeConnection(deps, caller, params.id, {
        force: query.force === 'true',
      });
      deps.logger.info(
        { connectionId: connection.id, dependents: notified.length },
        'connection disconnected through the API',
      );
      return {
        connection,
        notified: notified.map(({ kind, dependentId, event }) => ({ kind, dependentId, event })),
      };
    },
  });
  return registry.routes;
}
