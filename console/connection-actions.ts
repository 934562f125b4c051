// The actions of a connection's console page: refresh, deactivate and activate, a reconnect link, the API
// key's rotation, and registering and removing dependents. Each takes the same way as the API route doing
// the same: managedConnection or the dependents' registration functions, then the connection's commands
// (its workflow decides and records; nothing here writes a status), with the route's rate limit.
import type { Response } from 'express';
import { z } from 'zod';
import { ApiError, apiErrorOf } from '../api/errors.js';
import { idSchema } from '../api/routes.js';
import { text } from '../api/validation.js';
import { managedConnection } from '../connections/access.js';
import { apiKeySchema } from '../connections/connection-schemas.js';
import type { ConnectionMetadata } from '../connections/connection-store.js';
import {
  dependentDetailsSchema,
  dependentIdSchema,
  registerDependent,
  removeDependent,
} from '../dependents/dependent-registration.js';
import { dependentKinds } from '../dependents/dependent-store.js';
import { html } from '../pages/html.js';
import {
  connectionPath,
  connectionTitle,
  integrationOf,
  utcTime,
  type NoticeCode,
} from './connection-view.js';
import { csrfInput, sendConsolePage } from './console-layout.js';
import type { ConsolePages, ConsoleSession } from './console-page.js';
import type { ShowConnection } from './connection-pages.js';
import type { ConsoleDependencies } from './routes.js';

const idParams = z.strictObject({ id: idSchema });

const back = (res: Response, id: string, notice: NoticeCode) =>
  res.redirect(303, `${connectionPath(id)}?notice=${notice}`);

const fieldLabels: Record<string, string> = { name: 'Name', callbackUrl: 'Callback URL' };

export function connectionActions(
  pages: ConsolePages,
  deps: ConsoleDependencies,
  showConnection: ShowConnection,
): void {
  const { db, commands } = deps;

  const lifecycle = (
    name: 'refresh' | 'deactivate' | 'activate',
    summary: string,
    run: (id: string, actor: string) => Promise<unknown>,
    notice: NoticeCode,
  ) =>
    pages.add({
      method: 'post',
      path: `/console/connections/:id/${name}`,
      summary,
      params: idParams,
      redirect: 303,
      rateLimit: name === 'refresh' ? 'refresh' : undefined,
      async handler({ params, caller, res }) {
        const connection = await managedConnection(db, caller, params.id);
        await run(connection.id, caller.sub);
        back(res, connection.id, notice);
      },
    });
  lifecycle('refresh', 'Refresh the connection now', (id, actor) => commands.refresh(id, actor), 'refreshed');
  lifecycle(
    'deactivate',
    'Deactivate the connection',
    (id, actor) => commands.deactivate(id, actor),
    'deactivated',
  );
  lifecycle('activate', 'Activate the connection', (id, actor) => commands.activate(id, actor), 'activated');

  pages.add({
    method: 'post',
    path: '/console/connections/:id/reconnect-link',
    summary: 'A reconnect link for the connection (the hosted connect page, reconnecting in place)',
    params: idParams,
    rateLimit: 'connect',
    pages: [200],
    async handler({ params, caller, session, res }) {
      const connection = await managedConnection(db, caller, params.id);
      const { displayName } = await integrationOf(deps, caller.workspace, connection.integration);
      const link = await deps.connectSessions.create(caller, {
        connectionId: connection.id,
        scope: connection.scope,
        returnTo: connectionPath(connection.id),
      });
      // The one page that shows the link: it is a bearer URL, so it is never put in another page or a log.
      sendConsolePage(res, 200, session, {
        title: 'Reconnect link',
        body: html`<p>
            Whoever opens this link can reconnect ${connectionTitle(connection, displayName)} (as its owner
            would). Send it only to that person.
          </p>
          <p><code>${link.url}</code></p>
          <p>It expires at ${utcTime(link.expiresAt)}.</p>
          <p><a href="${link.url}">Open the reconnect link</a></p>
          <p><a href="${connectionPath(connection.id)}">Back to the connection</a></p>`,
      });
    },
  });

  async function keyConnection(caller: ConsoleSession['caller'], id: string): Promise<ConnectionMetadata> {
    const connection = await managedConnection(db, caller, id);
    if (connection.authType !== 'api_key') {
      throw new ApiError('conflict', 'an OAuth connection is renewed with a reconnect link, not a new key');
    }
    return connection;
  }

  async function sendKeyForm(
    res: Response,
    status: number,
    session: ConsoleSession,
    connection: ConnectionMetadata,
    problem?: string,
  ): Promise<void> {
    const { displayName } = await integrationOf(deps, session.caller.workspace, connection.integration);
    const path = connectionPath(connection.id);
    sendConsolePage(res, status, session, {
      title: 'Rotate the API key',
      body: html`${problem ? html`<p role="alert">${problem}</p>` : ''}
        <p>
          The new key of ${connectionTitle(connection, displayName)} is verified at ${displayName} first; only
          then is it stored and the old one destroyed.
        </p>
        <form method="post" action="${path}/api-key">
          ${csrfInput(session)}
          <label for="api-key">New API key</label>
          <input type="password" id="api-key" name="apiKey" required autocomplete="off" />
          <button type="submit">Rotate key</button>
        </form>
        <p><a href="${path}">Back to the connection</a></p>`,
    });
  }

  pages.add({
    method: 'get',
    path: '/console/connections/:id/api-key',
    summary: "The form to rotate a connection's API key",
    params: idParams,
    async handler({ params, caller, session, res }) {
      await sendKeyForm(res, 200, session, await keyConnection(caller, params.id));
    },
  });

  pages.add({
    method: 'post',
    path: '/console/connections/:id/api-key',
    summary: "Rotate a connection's API key: verified, stored, the old one destroyed",
    params: idParams,
    body: z.strictObject({ apiKey: apiKeySchema }),
    rateLimit: 'change',
    redirect: 303,
    async handler({ params, body, caller, session, res }) {
      const connection = await keyConnection(caller, params.id);
      try {
        await commands.rotateApiKey(
          { id: connection.id, workspaceId: caller.workspace },
          { actor: caller.sub, apiKey: body.apiKey },
        );
      } catch (error) {
        if (apiErrorOf(error)?.status !== 422) throw error;
        await sendKeyForm(
          res,
          422,
          session,
          connection,
          'The provider did not accept this key, so nothing was changed: the old key is still in use.',
        );
        return;
      }
      back(res, connection.id, 'key_rotated');
    },
  });

  pages.add({
    method: 'post',
    path: '/console/connections/:id/dependents',
    summary: 'Register (or update) a dependent of the connection',
    params: idParams,
    // Taken as given here and checked below by the registration's own schemas, so that a refusal is the
    // connection's page again, naming each field's problem, with the form as it was filled in.
    body: z.strictObject({
      kind: z.enum(dependentKinds),
      dependentId: text(300, { min: 0 }),
      name: text(300, { min: 0 }).optional(),
      callbackUrl: text(2100, { min: 0 }).optional(),
    }),
    who: 'managers',
    redirect: 303,
    async handler({ params, body, caller, session, operator, res }) {
      const given = (value: string | undefined) => (value === '' ? undefined : value);
      const id = dependentIdSchema.safeParse(body.dependentId);
      const details = dependentDetailsSchema.safeParse({
        name: given(body.name),
        callbackUrl: given(body.callbackUrl),
      });
      if (!id.success || !details.success) {
        const problems = [
          ...(id.success ? [] : [`Dependent ID: ${id.error.issues[0]!.message}`]),
          ...(details.success
            ? []
            : details.error.issues.map((issue) => `${fieldLabels[String(issue.path[0])]}: ${issue.message}`)),
        ];
        return showConnection({ caller, session, operator, res }, params.id, {
          status: 400,
          problems,
          form: body,
        });
      }
      await registerDependent(db, caller, params.id, { kind: body.kind, id: id.data, ...details.data });
      back(res, params.id, 'dependent_registered');
    },
  });

  pages.add({
    method: 'post',
    path: '/console/connections/:id/dependents/:kind/:dependentId/remove',
    summary: 'Remove a dependent of the connection',
    params: z.strictObject({ id: idSchema, kind: z.enum(dependentKinds), dependentId: dependentIdSchema }),
    who: 'managers',
    redirect: 303,
    async handler({ params, caller, res }) {
      await removeDependent(db, caller, params.id, { kind: params.kind, id: params.dependentId });
      back(res, params.id, 'dependent_removed');
    },
  });
}
