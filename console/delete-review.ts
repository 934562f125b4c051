// Deleting a connection from the console, with the dependency review first: the page lists every dependent
// and what stops working for it, in fixed words per kind. A delete with dependents must be forced, by an
// owner or admin only, and a forced one needs the explicit confirmation; without it nothing is done. The
// delete itself is the API's (removeConnection: the workflow removes, records, and tells the dependents).
import type { Response } from 'express';
import { z } from 'zod';
import { idSchema } from '../api/routes.js';
import { managedConnection } from '../connections/access.js';
import { ConnectionError } from '../connections/connection-errors.js';
import { mayForceRemoval, removeConnection } from '../connections/connection-removal.js';
import type { ConnectionMetadata } from '../connections/connection-store.js';
import { dependentStore, type DependentKind } from '../dependents/dependent-store.js';
import { html } from '../pages/html.js';
import { connectionPath, connectionTitle, integrationOf } from './connection-view.js';
import { csrfInput, dataTable, sendConsolePage } from './console-layout.js';
import type { ConsolePages, ConsoleSession } from './console-page.js';
import type { ConsoleDependencies } from './routes.js';

export const dependentKindNames: Record<DependentKind, string> = {
  agent: 'Agent',
  project_setup: 'Project setup',
  task: 'Task',
  automation: 'Automation',
};

/** What stops working for a dependent when the connection is gone, per kind. */
export function whatStopsWorking(kind: DependentKind, displayName: string): string {
  switch (kind) {
    case 'agent':
      return `The agent can no longer call ${displayName} through it.`;
    case 'project_setup':
      return `The project setup can no longer reach ${displayName} through it: its steps that need it fail.`;
    case 'task':
      return `The task can no longer call ${displayName} through it: a run that needs it fails.`;
    case 'automation':
      return `The automation stops running against ${displayName}: each run that needs it fails.`;
  }
}

const idParams = z.strictObject({ id: idSchema });

export function deleteReview(pages: ConsolePages, deps: ConsoleDependencies): void {
  const { db } = deps;

  async function sendReview(
    res: Response,
    status: number,
    session: ConsoleSession,
    connection: ConnectionMetadata,
    problem?: string,
  ): Promise<void> {
    const { caller } = session;
    const { displayName } = await integrationOf(deps, caller.workspace, connection.integration);
    const dependents = await dependentStore.list(db, {
      workspaceId: caller.workspace,
      connectionId: connection.id,
    });
    const path = connectionPath(connection.id);
    const count = dependents.length;
    let form;
    if (count === 0) {
      form = html`<form method="post" action="${path}/delete">
        ${csrfInput(session)}
        <button type="submit" class="danger">Delete connection</button>
      </form>`;
    } else if (mayForceRemoval(caller)) {
      form = html`<form method="post" action="${path}/delete">
        ${csrfInput(session)}
        <input type="hidden" name="force" value="true" />
        <p>
          <input type="checkbox" id="confirm" name="confirm" value="yes" />
          <label class="inline" for="confirm">I understand that these ${count} dependents stop working</label>
        </p>
        <button type="submit" class="danger">Delete anyway</button>
      </form>`;
    } else {
      form = html`<p>
        Something depends on this connection, so only an owner or admin of the workspace can delete it. Ask
        one, or remove what depends on it first.
      </p>`;
    }
    sendConsolePage(res, status, session, {
      title: `Delete ${connectionTitle(connection, displayName)}`,
      body: html`${problem ? html`<p role="alert">${problem}</p>` : ''}
        <p>
          Deleting revokes the connection at ${displayName} and destroys its credentials. It cannot be undone:
          a new connection would have to be made.
        </p>
        <h2>What depends on it</h2>
        ${dataTable({
          caption: 'Dependents',
          columns: ['Kind', 'ID', 'Name', 'What stops working'],
          rows: dependents.map(
            (dependent) =>
              html`<tr>
                <td>${dependentKindNames[dependent.kind]}</td>
                <td>${dependent.id}</td>
                <td>${dependent.name ?? ''}</td>
                <td>${whatStopsWorking(dependent.kind, displayName)}</td>
              </tr>`,
          ),
          empty: 'Nothing is registered as depending on this connection.',
        })}
        ${form}
        <p><a href="${path}">Back to the connection</a></p>`,
    });
  }

  pages.add({
    method: 'get',
    path: '/console/connections/:id/delete',
    summary: 'The dependency review before deleting a connection',
    params: idParams,
    async handler({ params, caller, session, res }) {
      await sendReview(res, 200, session, await managedConnection(db, caller, params.id));
    },
  });

  pages.add({
    method: 'post',
    path: '/console/connections/:id/delete',
    summary: 'Delete a connection (forced past its dependents only with the confirmation)',
    params: idParams,
    body: z.strictObject({ force: z.literal('true').optional(), confirm: z.literal('yes').optional() }),
    rateLimit: 'change',
    redirect: 303,
    async handler({ params, body, caller, session, res }) {
      const connection = await managedConnection(db, caller, params.id);
      const force = body.force === 'true';
      if (force && mayForceRemoval(caller) && body.confirm !== 'yes') {
        return sendReview(
          res,
          400,
          session,
          connection,
          'Tick the box to confirm that these dependents stop working; nothing was deleted.',
        );
      }
      try {
        await removeConnection(deps, caller, connection.id, { force });
      } catch (error) {
        if (!(error instanceof ConnectionError) || error.code !== 'has_dependents') throw error;
        return sendReview(
          res,
          409,
          session,
          connection,
          'Something now depends on this connection, so nothing was deleted. Review what depends on it.',
        );
      }
      deps.logger.info({ connectionId: connection.id, forced: force }, 'connection deleted in the console');
      res.redirect(303, `${connectionPath(connection.id)}?notice=deleted`);
    },
  });
}
