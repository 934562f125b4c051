// The lifecycle routes of an existing connection: re-authorize (OAuth), refresh, deactivate, activate and
// key rotation (API keys). Each asks the connection's workflow (ConnectionCommands) and answers the
// connection as recorded afterwards; none answers a credential.
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import { RouteList, type Route } from '../api/routes.js';
import { managedConnection, recordedConnection } from './access.js';
import {
  apiKeySchema,
  idParams,
  oneConnection,
  people,
  returnToSchema,
  scopesSchema,
  tags,
  withAuthorization,
} from './connection-schemas.js';
import { startUrl } from './authorization-url-box.js';
import { checkReturnTo } from './return-to.js';
import type { Db } from '../db/database.js';
import type { ConnectionCommands } from './connection-commands.js';

export interface LifecycleRouteDependencies {
  db: Db;
  commands: ConnectionCommands;
  /** PUBLIC_URL: where returnTo paths are resolved. */
  publicUrl: string;
  /** Origins besides PUBLIC_URL's that an OAuth callback may return to (RETURN_TO_ORIGINS). */
  returnToOrigins: readonly string[];
}

export function connectionLifecycleRoutes(deps: LifecycleRouteDependencies): Route[] {
  const registry = new RouteList();
  const { commands, db, publicUrl } = deps;
  const returnOrigins = [...deps.returnToOrigins];
  const readBack = (workspaceId: string, id: string) => recordedConnection(db, workspaceId, id);

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
      return {
        connection: await readBack(caller.workspace, connection.id),
        authorizationUrl,
        startUrl: startUrl(publicUrl, authorizationUrl),
      };
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
  return registry.routes;
}
