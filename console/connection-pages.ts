// The console's connection pages: an integration's "Your Connections" (filtered, with health badges, and
// the connect buttons), and one connection (status, times, key age, events, who used it, dependents, and
// the actions its caller may take). They read what the API's read routes read, as the caller may see it
// (connections/access.ts); the actions (connection-actions.ts, delete-review.ts) go through the API's own
// commands and functions. Connecting goes through a connect session and the hosted connect page.
import { z } from 'zod';
import { ApiError, apiErrorOf } from '../api/errors.js';
import { idSchema } from '../api/routes.js';
import { grantStore, type RecordedGrant } from '../agent-access/grant-store.js';
import { managedConnection, visibilityOf, visibleConnection } from '../connections/access.js';
import { connectionStore, type ConnectionMetadata } from '../connections/connection-store.js';
import { dependentStore } from '../dependents/dependent-store.js';
import { html, type SafeHtml } from '../pages/html.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import { connectionStatuses } from '../workflows/messages.js';
import { connectionActions } from './connection-actions.js';
import { csrfInput, dataTable, sendConsolePage, statusBadge } from './console-layout.js';
import type { ConsoleCaller, ConsolePageContext, ConsolePages, ConsoleSession } from './console-page.js';
import {
  connectionPath,
  connectionTitle,
  integrationOf,
  noticeOf,
  noticeQuery,
  utcTime,
} from './connection-view.js';
import { deleteReview, dependentKindNames } from './delete-review.js';
import type { ConsoleDependencies } from './routes.js';

const keyParams = z.strictObject({ key: integrationKeySchema });
const idParams = z.strictObject({ id: idSchema });
const anyOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(['', ...values]).optional();

const isManager = (caller: ConsoleCaller) => caller.role === 'owner' || caller.role === 'admin';

/** Whether the caller may change the connection: the API's own rule (managedConnection), asked, not copied. */
async function mayManage(
  deps: Pick<ConsoleDependencies, 'db'>,
  caller: ConsoleCaller,
  id: string,
): Promise<boolean> {
  try {
    await managedConnection(deps.db, caller, id);
    return true;
  } catch (error) {
    if (apiErrorOf(error)?.code === 'forbidden') return false;
    throw error;
  }
}

function ownerOf(connection: ConnectionMetadata): string {
  return connection.scope === 'workspace' ? 'The workspace' : (connection.ownerUserId ?? 'Not known');
}

function selectOptions(
  values: readonly string[],
  selected: string | undefined,
  names: Record<string, string>,
) {
  return values.map(
    (value) =>
      html`<option value="${value}" ${value === (selected ?? '') ? html`selected` : ''}>
        ${names[value] ?? value}
      </option>`,
  );
}

export type ConnectionPageContext = Pick<
  ConsolePageContext<unknown, unknown, unknown>,
  'caller' | 'session' | 'operator' | 'res'
>;

/** A refused registration's fields, shown again as given. */
export type DependentForm = Partial<Record<'kind' | 'dependentId' | 'name' | 'callbackUrl', string>>;

export interface ConnectionPageOutcome {
  status: number;
  notice?: string;
  /** Why a registration was refused, field by field. */
  problems?: string[];
  form?: DependentForm;
}

export type ShowConnection = (
  ctx: ConnectionPageContext,
  id: string,
  outcome: ConnectionPageOutcome,
) => Promise<void>;

export function connectionPages(pages: ConsolePages, deps: ConsoleDependencies): void {
  const { db } = deps;
  // The connect page lives on PUBLIC_URL: the connect form's redirect must be allowed to end there.
  const connectOrigins = [new URL(deps.publicUrl).origin];

  pages.add({
    method: 'get',
    path: '/console/integrations/:key',
    summary: "An integration's connections (Your Connections), filtered, with the connect buttons",
    params: keyParams,
    query: z.object({
      status: anyOf(connectionStatuses),
      scope: anyOf(['workspace', 'user'] as const),
      // Set, with `status`, by the connect flow's Continue (its returnTo): the outcome, not a filter.
      connection: idSchema.optional(),
    }),
    async handler({ params, query, caller, session, res }) {
      const { integration, displayName, known } = await integrationOf(deps, caller.workspace, params.key);
      if (!known) throw new ApiError('not_found', `no integration ${params.key}`);
      const returned = query.connection !== undefined;
      const status = returned ? undefined : query.status || undefined;
      const connections = await connectionStore.list(db, caller.workspace, visibilityOf(caller), {
        integration: params.key,
        status,
        scope: query.scope || undefined,
      });
      const rows = connections.map(
        (connection) =>
          html`<tr>
            <td><a href="${connectionPath(connection.id)}">${connection.name ?? connection.id}</a></td>
            <td>${statusBadge(connection.status)} ${connection.statusReason ?? ''}</td>
            <td>${connection.scope === 'workspace' ? 'Workspace' : 'User'}</td>
            <td>${ownerOf(connection)}</td>
            <td>${utcTime(connection.createdAt)}</td>
          </tr>`,
      );
      const outcome = connections.find((connection) => connection.id === query.connection);
      sendConsolePage(res, 200, session, {
        title: displayName,
        notice: outcome && `Back from connecting: ${outcome.name ?? outcome.id} is ${outcome.status}.`,
        formOrigins: connectOrigins,
        body: html`<h2>Your Connections</h2>
          <form method="get" action="/console/integrations/${params.key}">
            <label for="status">Status</label>
            <select id="status" name="status">
              ${selectOptions(['', ...connectionStatuses], status, { '': 'Any' })}
            </select>
            <label for="scope">Scope</label>
            <select id="scope" name="scope">
              ${selectOptions(['', 'workspace', 'user'], query.scope, {
                '': 'Any',
                workspace: 'Workspace',
                user: 'User',
              })}
            </select>
            <button type="submit">Filter</button>
          </form>
          ${dataTable({
            caption: 'Your Connections',
            columns: ['Connection', 'Status', 'Scope', 'Owner', 'Created'],
            rows: rows,
            empty: `No connection of ${displayName} matches.`,
          })}
          <h2>Connect</h2>
          ${connectSection(session, params.key, displayName, integration?.enabled)}`,
      });
    },
  });

  function connectSection(
    session: ConsoleSession,
    key: string,
    displayName: string,
    enabled: boolean | undefined,
  ): SafeHtml {
    if (enabled === undefined) {
      return html`<p>
        ${displayName} is not configured in this workspace, so nothing can be connected yet.
      </p>`;
    }
    if (!enabled)
      return html`<p>${displayName} is disabled in this workspace, so nothing can be connected.</p>`;
    return html`<form method="post" action="/console/integrations/${key}/connect">
      ${csrfInput(session)}
      <p>Connecting opens the hosted connect page, where you sign in at ${displayName} or paste a key.</p>
      ${
        isManager(session.caller)
          ? html`<button type="submit" name="scope" value="workspace">Connect for the workspace</button>`
          : ''
      }
      <button type="submit" name="scope" value="user">Connect your own account</button>
    </form>`;
  }

  pages.add({
    method: 'post',
    path: '/console/integrations/:key/connect',
    summary: 'Connect (for the workspace, or your own account) through the hosted connect page',
    params: keyParams,
    body: z.strictObject({ scope: z.enum(['workspace', 'user']) }),
    rateLimit: 'connect',
    redirect: 303,
    async handler({ params, body, caller, res }) {
      const link = await deps.connectSessions.create(caller, {
        integration: params.key,
        scope: body.scope,
        returnTo: `/console/integrations/${params.key}`,
      });
      // No body: it would repeat the link, a bearer URL.
      res.status(303).location(link.url).end();
    },
  });

  pages.add({
    method: 'get',
    path: '/console/connections/:id',
    summary: 'A connection: status, times, events, who used it, dependents, and the actions',
    params: idParams,
    query: noticeQuery,
    async handler({ params, query, caller, session, operator, res }) {
      await showConnection({ caller, session, operator, res }, params.id, {
        status: 200,
        notice: noticeOf(query.notice),
      });
    },
  });

  /** A connection's page at a status: after a form, with its notice; a refused form, with its problems. */
  async function showConnection(
    { caller, session, operator, res }: ConnectionPageContext,
    id: string,
    outcome: ConnectionPageOutcome,
  ): Promise<void> {
    const connection = await visibleConnection(db, caller, id);
    const { displayName } = await integrationOf(deps, caller.workspace, connection.integration);
    const manages = await mayManage(deps, caller, connection.id);
    const ref = { workspaceId: caller.workspace, connectionId: connection.id };
    const [events, dependents, grants] = await Promise.all([
      connectionStore.events(db, caller.workspace, connection.id),
      dependentStore.list(db, ref),
      // Who used it: for the workspace's managers and the connection's own user.
      manages ? grantStore.list(db, caller.workspace, connection.id) : Promise.resolve(undefined),
    ]);
    const path = connectionPath(connection.id);
    const apiKey = connection.authType === 'api_key';
    const ui = deps.temporalUi;
    // For operators only (an operator session in the same browser): the workflow is theirs to read.
    const workflowUrl =
      ui && `${ui.url}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/connection-${connection.id}`;
    const operatorLink =
      operator && workflowUrl ? html`<p><a href="${workflowUrl}">Open in Temporal UI</a></p>` : '';

    sendConsolePage(res, outcome.status, session, {
      title: connectionTitle(connection, displayName),
      notice: outcome.notice,
      body: html`${
          outcome.problems?.length
            ? html`<div role="alert">
                <p>The dependent was not registered:</p>
                <ul>
                  ${outcome.problems.map((problem) => html`<li>${problem}</li>`)}
                </ul>
              </div>`
            : ''
        }
        <p>
          <a href="/console/integrations/${connection.integration}">${displayName}: Your Connections</a>
        </p>
        ${operatorLink}
        <h2>Status</h2>
        <dl>
          <dt>Status</dt>
          <dd>${statusBadge(connection.status)}</dd>
          <dt>Reason</dt>
          <dd>${connection.statusReason ?? 'None'}</dd>
          <dt>Scope</dt>
          <dd>${connection.scope === 'workspace' ? 'Workspace' : 'User'}</dd>
          <dt>Owner</dt>
          <dd>${ownerOf(connection)}</dd>
          <dt>Integration</dt>
          <dd>${displayName}</dd>
          <dt>Created</dt>
          <dd>${utcTime(connection.createdAt)}</dd>
          <dt>Token expires</dt>
          <dd>${utcTime(connection.tokenExpiresAt, apiKey ? 'Does not expire' : 'Not known')}</dd>
          <dt>Next refresh</dt>
          <dd>${utcTime(connection.nextRefreshAt, 'None scheduled')}</dd>
          <dt>Last used</dt>
          <dd>${utcTime(connection.lastUsedAt, 'Never')}</dd>
          ${
            apiKey
              ? html`<dt>Key age</dt>
                  <dd>${keyAge(connection.keyCreatedAt)}</dd>
                  <dt>Rotation due</dt>
                  <dd>${utcTime(connection.keyRotationDueAt, 'Not set')}</dd>
                  <dt>Unused</dt>
                  <dd>
                    ${
                      connection.keyUnused
                        ? 'Yes: nothing has used this key for a long time. Remove it if nothing needs it.'
                        : 'No'
                    }
                  </dd>`
              : ''
          }
        </dl>
        ${apiKey ? advice : ''} ${manages ? actionsSection(connection, session) : ''}
        <h2>Events</h2>
        ${dataTable({
          caption: 'Events',
          columns: ['When', 'From', 'To', 'Reason', 'Actor'],
          rows: events.map(
            (event) =>
              html`<tr>
                <td>${utcTime(event.occurredAt)}</td>
                <td>${event.from ?? 'Created'}</td>
                <td>${event.to}</td>
                <td>${event.reason ?? ''}</td>
                <td>${event.actor}</td>
              </tr>`,
          ),
          empty: 'No event is recorded yet.',
        })}
        ${
          grants
            ? html`<h2>Who used it</h2>
                ${dataTable({
                  caption: 'Grants',
                  columns: [
                    'Kind',
                    'Outcome',
                    'Method',
                    'Path',
                    'Via',
                    'Caller',
                    'Role',
                    'On behalf of',
                    'Task',
                    'Count',
                    'First',
                    'Last',
                  ],
                  rows: grants.map(
                    (grant) =>
                      html`<tr>
                        <td>${grant.kind === 'token' ? 'Token' : 'Proxied call'}</td>
                        <td>${outcomeOf(grant)}</td>
                        <td>${grant.method ?? ''}</td>
                        <td>${grant.path ?? ''}</td>
                        <td>${grant.via === 'mcp' ? 'MCP' : 'API'}</td>
                        <td>${grant.caller}</td>
                        <td>${grant.role}</td>
                        <td>${grant.onBehalfOf ?? ''}</td>
                        <td>${grant.taskId ?? ''}</td>
                        <td>${grant.count}</td>
                        <td>${utcTime(grant.firstGrantedAt)}</td>
                        <td>${utcTime(grant.lastGrantedAt)}</td>
                      </tr>`,
                  ),
                  empty: 'Nothing has used this connection yet.',
                })}`
            : ''
        }
        <h2>Dependents</h2>
        ${dataTable({
          caption: 'Dependents',
          columns: ['Kind', 'ID', 'Name', 'Callback', isManager(caller) && 'Remove'],
          rows: dependents.map(
            (dependent) =>
              html`<tr>
                <td>${dependentKindNames[dependent.kind]}</td>
                <td>${dependent.id}</td>
                <td>${dependent.name ?? ''}</td>
                <td>${dependent.callbackUrl ?? ''}</td>
                ${
                  isManager(caller)
                    ? html`<td>
                        <form
                          method="post"
                          action="${path}/dependents/${dependent.kind}/${encodeURIComponent(dependent.id)}/remove"
                        >
                          ${csrfInput(session)}
                          <button type="submit">Remove ${dependent.kind} ${dependent.id}</button>
                        </form>
                      </td>`
                    : ''
                }
              </tr>`,
          ),
          empty: 'Nothing is registered as depending on this connection.',
        })}
        ${
          isManager(caller) && connection.status !== 'disconnected'
            ? registerDependentForm(session, path, outcome.form)
            : ''
        }`,
    });
  }

  connectionActions(pages, deps, showConnection);
  deleteReview(pages, deps);
}

/** The actions the status allows, for whoever may change the connection. */
function actionsSection(connection: ConnectionMetadata, session: ConsoleSession): SafeHtml {
  const path = connectionPath(connection.id);
  const { status } = connection;
  if (status === 'disconnected') {
    return html`<h2>Actions</h2>
      <p>A deleted connection stays deleted: to use the account again, connect it anew.</p>`;
  }
  const final = status === 'failed';
  const action = (name: string, label: string) =>
    html`<form class="inline" method="post" action="${path}/${name}">
      ${csrfInput(session)}<button type="submit">${label}</button>
    </form>`;
  return html`<h2>Actions</h2>
    ${status === 'active' || status === 'expired' ? action('refresh', 'Refresh now') : ''}
    ${status === 'active' ? action('deactivate', 'Deactivate') : ''}
    ${status === 'inactive' ? action('activate', 'Activate') : ''}
    ${final ? '' : action('reconnect-link', 'Create a reconnect link')}
    ${
      connection.authType === 'api_key' && !final
        ? html`<p><a href="${path}/api-key">Rotate the API key</a></p>`
        : ''
    }
    <p><a href="${path}/delete">Delete connection</a></p>`;
}

function registerDependentForm(session: ConsoleSession, path: string, form: DependentForm = {}): SafeHtml {
  return html`<form method="post" action="${path}/dependents">
    ${csrfInput(session)}
    <fieldset>
      <legend>Register a dependent</legend>
      <label for="dependent-kind">Kind</label>
      <select id="dependent-kind" name="kind">
        ${Object.entries(dependentKindNames).map(
          ([kind, name]) =>
            html`<option value="${kind}" ${form.kind === kind ? html`selected` : ''}>${name}</option>`,
        )}
      </select>
      <label for="dependent-id">Dependent ID</label>
      <input
        type="text"
        id="dependent-id"
        name="dependentId"
        required
        maxlength="200"
        value="${form.dependentId ?? ''}"
      />
      <label for="dependent-name">Name</label>
      <input type="text" id="dependent-name" name="name" maxlength="200" value="${form.name ?? ''}" />
      <label for="dependent-callback">Callback URL</label>
      <input
        type="url"
        id="dependent-callback"
        name="callbackUrl"
        maxlength="2048"
        value="${form.callbackUrl ?? ''}"
      />
      <button type="submit">Register dependent</button>
    </fieldset>
  </form>`;
}

/** A grant's outcome in words: allowed, or refused by the agent's access policy naming its rule. */
function outcomeOf(grant: RecordedGrant): string {
  return grant.outcome === 'allowed' ? 'Allowed' : `Refused (${grant.refusedRule ?? 'policy'} rule)`;
}

/** An API key's age in whole days since it was stored, with the date. */
function keyAge(createdAt: string | null): SafeHtml | string {
  if (createdAt === null) return 'Not known';
  const days = Math.max(0, Math.floor((Date.now() - Date.parse(createdAt)) / 86_400_000));
  return html`${days === 1 ? '1 day' : `${days} days`} (stored ${utcTime(createdAt)})`;
}

/** The seed's advice for API keys, in fixed words. */
const advice = html`<h2>Advice</h2>
  <ul>
    <li>Least privilege: give the key only the permissions its callers need.</li>
    <li>Rotate the key regularly, and at once if it may have been seen by anyone else.</li>
    <li>Remove unused keys: a key nothing uses is only a risk.</li>
    <li>Prefer read-only keys wherever nothing needs to write.</li>
  </ul>`;
