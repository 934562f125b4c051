// The hosted connect page: GET /connect/:session shows who the link is for, what will be granted and who
// asks; POST /connect/:session (the "Connect" button, a form with a CSRF token tied to the browser cookie)
// binds the link to this browser, then starts the authorization (303 to the provider, the state bound to
// this browser and session, so that only this browser can finish it) or verifies a pasted API key before
// anything is created. Binding happens at the click, never when the page is opened, so that a link previewer
// or a mail scanner that fetches the link cannot take it. Every answer is a page, never JSON; the link's
// token, a state or a key is never written into one, nor logged.
import { z } from 'zod';
import { RouteList, type Route } from '../api/routes.js';
import { ConnectionError } from '../connections/connection-errors.js';
import type { ConnectionCommands } from '../connections/connection-commands.js';
import { createRequestFingerprint } from '../connections/create-requests.js';
import { stateOf } from '../connections/authorization-url-box.js';
import { oauthStateStore } from '../connections/oauth-state-store.js';
import { returnUrl } from '../connections/return-to.js';
import { connectionProvider, type Catalogue } from '../integrations/connection-provider.js';
import { integrationStore } from '../integrations/integration-store.js';
import type { Logger } from '../logging/logger.js';
import { verifyApiKey } from '../providers/api-key-client.js';
import type { OutboundGuard } from '../providers/outbound-guard.js';
import type { ApiKeyProviderConfig, ProviderConfig } from '../providers/provider-config.js';
import { ProviderError } from '../providers/provider-error.js';
import { TemplateError } from '../providers/templates.js';
import { browserIdOf, checkCsrf, csrfToken, ensureBrowserId, hashBrowserId } from './browser-binding.js';
import { connectTokenSchema } from './connect-links.js';
import { credential, text } from '../api/validation.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import { connectSessionStore, type ConnectSession } from './connect-session-store.js';
import { sendConnectForm, sendConnectResult, sendIntegrationChoice } from './page-templates.js';
import type { Db } from '../db/database.js';

export interface ConnectPageDependencies {
  db: Db;
  commands: ConnectionCommands;
  publicUrl: string;
  catalogue: Catalogue;
  outbound: OutboundGuard;
  allowInsecureProviderUrls: boolean;
  logger: Logger;
}

/** How many new connections one link may try in turn after earlier ones failed (denied, refused). */
const MAX_ATTEMPTS = 5;
const KEY_REJECTED = 'The provider did not accept this API key.';
const KEY_UNCHECKED =
  'The provider could not be reached to check this key. Nothing was stored. Try again in a moment.';

// Bounded for the OpenAPI document too (the pattern alone does not say so).
const sessionParams = z.strictObject({ session: connectTokenSchema.max(43) });
// Link previewers and mail systems add parameters of their own: those are ignored, not refused.
const pageQuery = z.object({ integration: integrationKeySchema.optional() });
// The key is taken as text, so that one pasted with a stray space or line break gets the form's error, not the
// error page; only visible ASCII ever reaches a provider (checked in the handler).
const connectForm = z.strictObject({
  csrf: credential(100).optional(),
  integration: integrationKeySchema.optional(),
  apiKey: text(4096).optional(),
});

export function connectPageRoutes(deps: ConnectPageDependencies): Route[] {
  const registry = new RouteList();
  const { db, commands, publicUrl } = deps;
  const onInvalid = (res: Parameters<typeof sendConnectResult>[0], _req: unknown, status: number) =>
    sendConnectResult(res, { kind: 'invalid' }, status);

  /** The session of a link while it can be used, or the page that says why not. */
  async function usable(token: string): Promise<ConnectSession | 'expired' | 'used'> {
    const session = await connectSessionStore.findByToken(db, token);
    if (!session || session.expiresAt.getTime() <= Date.now()) return 'expired';
    if (session.spentAt) return 'used';
    return session;
  }

  const displayNameOf = (key: string, provider?: ProviderConfig) =>
    deps.catalogue(key)?.displayName ?? provider?.displayName ?? key;

  /** The session's integration, configured and enabled, with its provider filled for the connection. */
  async function integrationOf(session: ConnectSession, key: string) {
    const integration = await integrationStore.get(db, session.workspaceId, key);
    if (!integration?.enabled) return undefined;
    try {
      const found = await connectionProvider(
        db,
        deps.catalogue,
        {
          id: session.connectionId ?? session.id,
          workspaceId: session.workspaceId,
          integration: key,
          ...(session.connectionId ? {} : { values: { params: session.params ?? {}, providerData: {} } }),
        },
        { allowInsecure: deps.allowInsecureProviderUrls },
      );
      return found && { ...found, scopes: integration.scopes };
    } catch (error) {
      if (error instanceof TemplateError) return undefined;
      throw error;
    }
  }

  const unavailable = (displayName: string) => ({
    kind: 'not_connected' as const,
    why: `${displayName} is not available in this workspace now, so nothing was connected. Ask whoever sent the link.`,
  });

  /** The integration a request is for: the one of the link, or the one chosen among its allowed ones. */
  const chosen = (session: ConnectSession, given: string | undefined) =>
    session.integrations.length === 1
      ? session.integrations[0]
      : given !== undefined && session.integrations.includes(given)
        ? given
        : undefined;

  async function showForm(
    res: Parameters<typeof sendConnectResult>[0],
    session: ConnectSession,
    key: string,
    browserId: string,
    alert?: { status: number; text: string },
  ): Promise<void> {
    const found = await integrationOf(session, key);
    if (!found) {
      sendConnectResult(res, unavailable(displayNameOf(key)), 409);
      return;
    }
    const { provider } = found;
    sendConnectForm(res, alert?.status ?? 200, {
      integration: key,
      displayName: displayNameOf(key, provider),
      workspaceId: session.workspaceId,
      scope: session.scope,
      userId: session.userId,
      reason: session.reason,
      reconnect: session.connectionId !== null,
      csrf: csrfToken(browserId, session.id),
      ...(provider.authType === 'oauth2'
        ? {
            oauthScopes: found.scopes ?? provider.scopes,
            providerOrigin: new URL(provider.authorizationEndpoint).origin,
          }
        : {}),
      alert: alert?.text,
    });
  }

  registry.add({
    method: 'get',
    path: '/connect/:session',
    summary:
      'The hosted connect page of a connect link: who it is for, the access requested, who asks and why, ' +
      'and one Connect button (a form; an API key field for API-key integrations)',
    tags: ['connect'],
    roles: 'public',
    params: sessionParams,
    query: pageQuery,
    pages: [200, 400, 409, 410],
    rateLimit: 'connect',
    onInvalid,
    async handler({ params, query, req, res }) {
      const session = await usable(params.session);
      if (typeof session === 'string') return sendConnectResult(res, { kind: session });
      const browserId = ensureBrowserId(req, res, publicUrl);
      if (session.browserHash && session.browserHash !== hashBrowserId(browserId)) {
        return sendConnectResult(res, { kind: 'other_browser' });
      }
      const key = chosen(session, query.integration);
      if (key === undefined) {
        const integrations = await Promise.all(
          session.integrations.map(async (integration) => ({
            key: integration,
            displayName: displayNameOf(
              integration,
              (await integrationStore.get(db, session.workspaceId, integration))?.provider,
            ),
          })),
        );
        return sendIntegrationChoice(res, { ...session, integrations });
      }
      await showForm(res, session, key, browserId);
    },
  });

  registry.add({
    method: 'post',
    path: '/connect/:session',
    summary:
      "The connect page's form: binds the link to this browser, then starts the authorization (303 to the " +
      'provider) or verifies the API key (the result page, or the form again with the error)',
    tags: ['connect'],
    roles: 'public',
    params: sessionParams,
    query: pageQuery,
    body: connectForm,
    bodyType: 'form',
    pages: [200, 400, 403, 409, 410, 422, 502],
    redirect: 303,
    rateLimit: 'connect',
    onInvalid,
    async handler({ params, body, req, res }) {
      const session = await usable(params.session);
      if (typeof session === 'string') return sendConnectResult(res, { kind: session });
      const browserId = browserIdOf(req, publicUrl);
      if (!browserId || body.csrf === undefined || !checkCsrf(browserId, session.id, body.csrf)) {
        return sendConnectResult(res, { kind: 'forbidden' });
      }
      const key = chosen(session, body.integration);
      if (key === undefined || (body.integration !== undefined && body.integration !== key)) {
        return sendConnectResult(res, { kind: 'invalid' });
      }
      const found = await integrationOf(session, key);
      const displayName = displayNameOf(key, found?.provider);
      if (!found) return sendConnectResult(res, unavailable(displayName), 409);
      const browserHash = hashBrowserId(browserId);
      if ((await connectSessionStore.bindBrowser(db, session.id, browserHash)) === 'other') {
        return sendConnectResult(res, { kind: 'other_browser' });
      }
      const continueTo = (connectionId: string, status: string) =>
        session.returnTo ? returnUrl(session.returnTo, publicUrl, { connectionId, status }) : undefined;
      const connected = async (connectionId: string) => {
        await connectSessionStore.spend(db, session.id, connectionId);
        sendConnectResult(res, {
          kind: 'connected',
          displayName,
          returnTo: continueTo(connectionId, 'active'),
        });
      };
      const notConnected = (why: string, connectionId?: string, status = 'failed') =>
        sendConnectResult(
          res,
          { kind: 'not_connected', why, returnTo: connectionId && continueTo(connectionId, status) },
          409,
        );
      const actor = session.userId ?? session.createdBy;
      const newConnection = {
        workspaceId: session.workspaceId,
        integration: key,
        scope: session.scope,
        ownerUserId: session.userId ?? undefined,
        params: session.params ?? undefined,
        actor,
      };
      // One connection per link and integration, whatever the double submits: the create is keyed by the
      // session (create-requests.ts), and a new key follows only from a connection that failed.
      const idempotency = (after?: string) => ({
        key: `connect-session:${session.id}:${key}${after ? `:after:${after}` : ''}`,
        fingerprint: createRequestFingerprint({
          integration: key,
          scope: session.scope,
          params: session.params ?? undefined,
        }),
      });
      try {
        if (found.provider.authType === 'api_key') {
          const apiKey = body.apiKey ?? '';
          const retry = (status: number, text: string) =>
            showForm(res, session, key, browserId, { status, text });
          // Only visible ASCII can travel in a provider's header or query: anything else is refused here.
          if (!/^[\x21-\x7e]+$/.test(apiKey)) return await retry(422, KEY_REJECTED);
          // Verified before anything is created: a rejected key leaves no connection, credential or spent link.
          try {
            await verifyApiKey(found.provider as ApiKeyProviderConfig, apiKey, { outbound: deps.outbound });
          } catch (error) {
            if (!(error instanceof ProviderError)) throw error;
            return await retry(error.retryable ? 502 : 422, error.retryable ? KEY_UNCHECKED : KEY_REJECTED);
          }
          if (session.connectionId) {
            const snapshot = await commands.rotateApiKey(
              { id: session.connectionId, workspaceId: session.workspaceId },
              { actor, apiKey },
            );
            if (snapshot.status === 'active') return await connected(snapshot.id);
            return notConnected(`The key was not stored: the connection is ${snapshot.status}.`);
          }
          let after: string | undefined;
          for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            const snapshot = await commands.createApiKey({
              ...newConnection,
              apiKey,
              idempotency: idempotency(after),
            });
            if (snapshot.status === 'active') return await connected(snapshot.id);
            if (snapshot.reason === 'account_already_connected') {
              return notConnected(
                'This account is already connected in this workspace, so nothing new was stored.',
              );
            }
            if (snapshot.reason === 'provider_rejected') return await retry(422, KEY_REJECTED);
            if (snapshot.reason === 'provider_unavailable') return await retry(502, KEY_UNCHECKED);
            after = snapshot.id;
          }
          return notConnected('Connecting failed too many times with this link. Ask for a new link.');
        }
        let authorizationUrl: string | undefined;
        if (session.connectionId) {
          ({ authorizationUrl } = await commands.reauthorize(session.connectionId, { actor }));
        } else {
          let after: string | undefined;
          for (let attempt = 0; attempt < MAX_ATTEMPTS && !authorizationUrl; attempt++) {
            const created = await commands.createOAuth({ ...newConnection, idempotency: idempotency(after) });
            if ('authorizationUrl' in created) authorizationUrl = created.authorizationUrl;
            else if (created.status === 'active') return await connected(created.connectionId);
            else after = created.connectionId;
          }
          if (!authorizationUrl) {
            return notConnected('Connecting failed too many times with this link. Ask for a new link.');
          }
        }
        const bound = await oauthStateStore.bindBrowser(db, stateOf(authorizationUrl), {
          browserHash,
          connectSessionId: session.id,
        });
        if (bound === 'other') return sendConnectResult(res, { kind: 'other_browser' });
        if (bound === 'gone') return sendConnectResult(res, { kind: 'expired' });
        // No body: Express's would repeat the URL, and with it the state.
        res.status(303).location(authorizationUrl).end();
      } catch (error) {
        if (!(error instanceof ConnectionError)) throw error;
        if (error.code === 'unavailable' || error.code === 'not_recorded') throw error;
        deps.logger.warn({ sessionId: session.id, code: error.code }, 'a connect page could not connect');
        return notConnected(
          error.code === 'provider_unavailable'
            ? 'The provider could not be reached. Nothing was stored. Try again in a moment.'
            : `Connecting is not possible now (${error.code}). Nothing was stored. Ask whoever sent the link.`,
        );
      }
    },
  });
  return registry.routes;
}
