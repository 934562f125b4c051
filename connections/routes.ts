// Connection routes for admins and members: create, list, read, events, lifecycle actions, the OAuth
// callback, dependents and safe delete. Every change goes to the connection's workflow; what is shown is
// read back from Postgres, the read model. No route ever answers with a credential.
import { z } from 'zod';
import { createRequestFingerprint, type CreateIdempotency } from './connection-commands.js';
import { connectionStore, type ConnectionMetadata } from './connection-store.js';
import { dependentKinds, dependentStore } from '../dependents/dependent-store.js';
import { connectionStatuses } from '../workflows/messages.js';
import type { ApiDependencies } from '../api/app.js';
import type { Role } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { idSchema, type RouteRegistry } from '../api/routes.js';
import { credential, platformId, printable, text, url, visibleAscii } from '../api/validation.js';
import { integrationKeySchema, scopeSchema } from '../providers/provider-config.js';
import { managedConnection, visibilityOf, visibleConnection } from './access.js';
import { sendCallbackPage, type CallbackOutcome } from './callback-page.js';
import { checkReturnTo, returnTargets, returnUrl } from './return-to.js';

const everyone: Role[] = ['owner', 'admin', 'member', 'agent'];
const people: Role[] = ['owner', 'admin', 'member'];
const dependentWriters: Role[] = ['owner', 'admin', 'agent'];
const tags = ['connections'];

const timestamp = z.iso.datetime().nullable();
/** A connection's metadata as every route answers it. */
export const connectionSchema = z.object({
  id: z.uuid(),
  integration: z.string(),
  scope: z.enum(['workspace', 'user']),
  ownerUserId: z.string().nullable(),
  name: z.string().nullable(),
  authType: z.enum(['oauth2', 'api_key']),
  status: z.enum(connectionStatuses),
  statusReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  tokenExpiresAt: timestamp,
  nextRefreshAt: timestamp,
  lastUsedAt: timestamp,
  keyCreatedAt: timestamp,
  keyRotationDueAt: timestamp,
  keyUnused: z.boolean(),
  grantedScopes: z.array(z.string()).nullable(),
});
const oneConnection = z.object({ connection: connectionSchema });
const withAuthorization = z.object({ connection: connectionSchema, authorizationUrl: z.url() });
const dependentSchema = z.object({
  kind: z.enum(dependentKinds),
  id: z.string(),
  name: z.string().nullable(),
  callbackUrl: z.string().nullable(),
  registeredBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const integrationKey = integrationKeySchema;
const scopesSchema = z.array(scopeSchema).max(50);
/** A path on PUBLIC_URL, or a URL on an allowed origin (checked by checkReturnTo). */
const returnToSchema = visibleAscii(1, 2048);
const apiKeySchema = credential(4096);
const idParams = z.strictObject({ id: idSchema });
const dependentParams = z.strictObject({
  id: idSchema,
  kind: z.enum(dependentKinds),
  dependentId: platformId(),
});

/** A provider's error code as shown and passed on: lower-case words only, or a fixed stand-in. */
export function sanitizeProviderError(error: string): string {
  return /^[a-z_]{1,64}$/.test(error) ? error : 'invalid_error';
}

export function registerConnectionRoutes(registry: RouteRegistry, deps: ApiDependencies): void {
  if (!deps.service) return;
  const { commands, publicUrl } = deps.service;
  const returnOrigins = deps.service.returnToOrigins ?? [];
  const db = deps.db;

  /** The connection as recorded by its workflow, after a command. */
  async function readBack(workspaceId: string, id: string): Promise<ConnectionMetadata> {
    const connection = await connectionStore.get(db, workspaceId, id);
    if (!connection) throw new ApiError('internal', 'the connection was not recorded');
    return connection;
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
    }),
    // Makes the create safe to retry (see the README).
    headers: z.object({ 'Idempotency-Key': printable(1, 255).optional() }),
    response: z.object({ connection: connectionSchema, authorizationUrl: z.url().optional() }),
    status: 201,
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
      const input = {
        workspaceId: caller.workspace,
        integration: body.integration,
        scope: body.scope,
        ownerUserId: body.scope === 'user' ? caller.sub : undefined,
        name: body.name,
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
    async handler({ query, res }) {
      const error = query.error === undefined ? undefined : sanitizeProviderError(query.error);
      if (!query.code && !error) {
        sendCallbackPage(res, 400, { kind: 'refused' });
        return;
      }
      let completed;
      try {
        completed = await commands.completeCallback({
          state: query.state,
          code: query.code,
          iss: query.iss,
          error,
        });
      } catch (failure) {
        if (
          failure instanceof ApiError &&
          (failure.code === 'invalid_request' || failure.code === 'conflict')
        ) {
          sendCallbackPage(res, 400, { kind: 'refused' });
          return;
        }
        throw failure;
      }
      const { connectionId, snapshot } = completed;
      // A setup begun before setups carried returnTo has its target in oauth_return_targets.
      const returnTo =
        completed.returnTo === undefined
          ? await returnTargets.take(db, query.state, connectionId)
          : completed.returnTo;
      if (returnTo) {
        res.redirect(303, returnUrl(returnTo, publicUrl, { connectionId, status: snapshot.status }));
        return;
      }
      let outcome: CallbackOutcome;
      if (error === 'access_denied') outcome = { kind: 'denied' };
      else if (error) outcome = { kind: 'failed', reason: error };
      else if (snapshot.status === 'active') outcome = { kind: 'connected' };
      else outcome = { kind: 'other', status: snapshot.status };
      sendCallbackPage(res, 200, outcome);
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections',
    summary: 'List the connections the caller may see, filtered by status, integration or scope',
    tags,
    roles: everyone,
    query: z.strictObject({
      status: z.enum(connectionStatuses).optional(),
      integration: integrationKey.optional(),
      scope: z.enum(['workspace', 'user']).optional(),
    }),
    response: z.object({ connections: z.array(connectionSchema) }),
    async handler({ query, caller }) {
      return {
        connections: await connectionStore.list(db, caller.workspace, visibilityOf(caller), query),
      };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections/:id',
    summary: "A connection's metadata: status and reason, scope, owner, timestamps, token expiry, key age",
    tags,
    roles: everyone,
    params: idParams,
    response: oneConnection,
    errors: [404],
    async handler({ params, caller }) {
      return { connection: await visibleConnection(db, caller, params.id) };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections/:id/events',
    summary: "A connection's lifecycle transitions: from, to, reason, actor, time",
    tags,
    roles: everyone,
    params: idParams,
    response: z.object({
      events: z.array(
        z.object({
          sequence: z.number().int(),
          from: z.enum(connectionStatuses).nullable(),
          to: z.enum(connectionStatuses),
          reason: z.string().nullable(),
          actor: z.string(),
          occurredAt: z.iso.datetime(),
        }),
      ),
    }),
    errors: [404],
    async handler({ params, caller }) {
      await visibleConnection(db, caller, params.id);
      return { events: await connectionStore.events(db, caller.workspace, params.id) };
    },
  });

  registry.add({
    method: 'post',
    path: '/v1/connections/:id/reauthorize',
    summary: 'Start a new authorization for the same connection: a new authorization URL',
    tags,
    roles: people,
    params: idParams,
    body: z.strictObject({ scopes: scopesSchema.optional(), returnTo: returnToSchema.optional() }),
    response: withAuthorization,
    errors: [404, 409],
    rateLimit: 'connect',
    async handler({ params, body, caller }) {
      const connection = await managedConnection(db, caller, params.id);
      if (connection.authType !== 'oauth2') {
        throw new ApiError('invalid_request', 'an API-key connection is renewed with PUT /api-key');
      }
      const returnTo =
        body.returnTo === undefined ? undefined : checkReturnTo(body.returnTo, publicUrl, returnOrigins);
      const { authorizationUrl } = await commands.reauthorize(connection.id, {
        actor: caller.sub,
        scopes: body.scopes,
        returnTo,
      });
      return { connection: await readBack(caller.workspace, connection.id), authorizationUrl };
    },
  });

  const action = (
    path: string,
    summary: string,
    run: (id: string, actor: string) => Promise<unknown>,
    rateLimit?: 'refresh',
  ): void =>
    registry.add({
      method: 'post',
      path: `/v1/connections/:id/${path}`,
      summary,
      tags,
      roles: people,
      params: idParams,
      response: oneConnection,
      errors: [404, 409],
      rateLimit,
      async handler({ params, caller }) {
        const connection = await managedConnection(db, caller, params.id);
        await run(connection.id, caller.sub);
        return { connection: await readBack(caller.workspace, connection.id) };
      },
    });
  action(
    'refresh',
    'Refresh now; answers with the resulting status',
    (id, actor) => commands.refresh(id, actor),
    'refresh',
  );
  action('deactivate', 'To inactive: not usable until activated again', (id, actor) =>
    commands.deactivate(id, actor),
  );
  action('activate', 'Back to active from inactive', (id, actor) => commands.activate(id, actor));

  registry.add({
    method: 'put',
    path: '/v1/connections/:id/api-key',
    summary: 'Rotate an API key: verify the new one, store it, destroy the old one',
    tags,
    roles: people,
    params: idParams,
    body: z.strictObject({ apiKey: apiKeySchema }),
    response: oneConnection,
    errors: [404, 409, 422, 502],
    rateLimit: 'change',
    async handler({ params, body, caller }) {
      const connection = await managedConnection(db, caller, params.id);
      if (connection.authType !== 'api_key') {
        throw new ApiError('invalid_request', 'an OAuth connection is renewed with POST /reauthorize');
      }
      await commands.rotateApiKey(
        { id: connection.id, workspaceId: caller.workspace },
        { actor: caller.sub, apiKey: body.apiKey },
      );
      return { connection: await readBack(caller.workspace, connection.id) };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/connections/:id/dependents',
    summary: 'What relies on this connection',
    tags,
    roles: everyone,
    params: idParams,
    response: z.object({ dependents: z.array(dependentSchema) }),
    errors: [404],
    async handler({ params, caller }) {
      await visibleConnection(db, caller, params.id);
      return {
        dependents: await dependentStore.list(db, {
          workspaceId: caller.workspace,
          connectionId: params.id,
        }),
      };
    },
  });

  registry.add({
    method: 'put',
    path: '/v1/connections/:id/dependents/:kind/:dependentId',
    summary: 'Register (or update) a dependent of this connection',
    tags,
    roles: dependentWriters,
    params: dependentParams,
    body: z.strictObject({
      name: text(200).optional(),
      callbackUrl: url({ schemes: ['https', 'http'] }).optional(),
    }),
    response: z.object({ dependent: dependentSchema }),
    status: [201, 200],
    errors: [404, 409],
    async handler({ params, body, caller, res }) {
      const connection = await visibleConnection(db, caller, params.id);
      // Under the connection's row lock, which a removal holds while it lists the dependents and records
      // itself: a registration is either seen by that removal or sees the connection disconnected.
      const { dependent, created } = await db.transaction(async (tx) => {
        const current = await connectionStore.lockStatus(tx, connection.id, 'share');
        if (current?.status === 'disconnected') {
          throw new ApiError('conflict', 'the connection is disconnected');
        }
        return dependentStore.put(
          tx,
          { workspaceId: caller.workspace, connectionId: connection.id },
          { kind: params.kind, id: params.dependentId, ...body, actor: caller.sub },
        );
      });
      res.status(created ? 201 : 200);
      res.json({ dependent });
    },
  });

  registry.add({
    method: 'delete',
    path: '/v1/connections/:id/dependents/:kind/:dependentId',
    summary: 'Remove a dependent of this connection',
    tags,
    roles: dependentWriters,
    params: dependentParams,
    errors: [404],
    async handler({ params, caller }) {
      const connection = await visibleConnection(db, caller, params.id);
      const removed = await dependentStore.remove(
        db,
        { workspaceId: caller.workspace, connectionId: connection.id },
        params.kind,
        params.dependentId,
      );
      if (!removed) throw new ApiError('not_found', `no dependent ${params.kind}/${params.dependentId}`);
    },
  });

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
      const force = query.force === 'true';
      const connection = await managedConnection(db, caller, params.id);
      if (force && caller.role !== 'owner' && caller.role !== 'admin') {
        throw new ApiError('forbidden', 'only owners and admins remove a connection that has dependents');
      }
      const { notified } = await commands.remove(connection.id, { actor: caller.sub, force });
      deps.logger.info(
        { connectionId: connection.id, dependents: notified.length },
        'connection disconnected through the API',
      );
      return {
        connection: await readBack(caller.workspace, connection.id),
        notified: notified.map(({ kind, dependentId, event }) => ({ kind, dependentId, event })),
      };
    },
  });
}
