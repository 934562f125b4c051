// The example agent task's side effects: it asks the connections API, as an agent acting for a user, which
// connection applies, records what it needs from people, and calls the provider through the API's proxy.
// It never holds a credential: the only secret it sees is its own agent token, and only in a request header.
// The connect link the API answers with is a bearer link: the resolve that is asked to announce a need
// records it (in the event for the person) and returns the outcome without it, so that it never enters the
// task's workflow history.
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from '../logging/logger.js';
import type { ConnectionStatus } from '../workflows/messages.js';
import { repeatableErrorCode } from '../providers/provider-error.js';

export interface ExampleAgentDependencies {
  /** The connections API, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  /** A bearer token of role `agent` acting on behalf of `userId` (minted or fetched by the platform). */
  agentToken(userId: string): Promise<string>;
  /** Where the task's requests for a connection and its reminders go; logged when absent. */
  record?(event: AgentTaskEvent): Promise<void> | void;
  logger?: Logger;
}

export interface ResolveRequest {
  integration: string;
  userId: string;
  agentId?: string;
  /** Records this event, with the connect link, when a person must connect (a reminder: in any case). */
  announce?: { kind: AgentTaskEvent['kind']; taskId: string };
}

export type ResolveOutcome =
  | { kind: 'resolved'; connection: { id: string; status: ConnectionStatus; scope: 'workspace' | 'user' } }
  | {
      kind: 'connection_required';
      integration: string;
      scope: 'workspace' | 'user';
      /** Who must connect (scope user). */
      userId?: string;
      /** The API call that person makes to start the connection. */
      create?: unknown;
      /** The most recent connection that failed or was disconnected, if any. */
      latest?: { id: string; status: ConnectionStatus; reason: string | null };
    };

export interface AgentTaskEvent {
  kind: 'connection_requested' | 'reminder';
  taskId: string;
  integration: string;
  scope: 'workspace' | 'user';
  userId?: string;
  create?: unknown;
  /** The link to send the person who must connect (a bearer link, short-lived), when the API gave one. */
  connectUrl?: string;
  connectUrlExpiresAt?: string;
  /** A reminder sent while the connection made for the request is not ready yet. */
  connectionId?: string;
}

export interface ProxyCall {
  connectionId: string;
  userId: string;
  taskId: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path below the integration's API base, e.g. `v1/me`. */
  path: string;
  body?: unknown;
}

export interface ProxyAnswer {
  status: number;
  body: unknown;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** 4xx answers other than 408/429 will not change on retry; anything else is retried by Temporal. */
function failure(what: string, status: number, body: unknown): ApplicationFailure {
  // A provider's body passed back through the proxy can say anything: only a code-shaped word is repeated.
  const given = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  const code = repeatableErrorCode(given) ?? `http_${status}`;
  const message = `${what} answered ${status} ${code}`;
  return status >= 400 && status < 500 && status !== 408 && status !== 429
    ? ApplicationFailure.nonRetryable(message, code)
    : ApplicationFailure.retryable(message, code);
}

export function createExampleAgentActivities(deps: ExampleAgentDependencies) {
  const base = deps.apiUrl.replace(/\/$/, '');

  async function record(event: AgentTaskEvent): Promise<void> {
    if (deps.record) await deps.record(event);
    // The log shows that a link was sent, never the link.
    else deps.logger?.info({ agentTask: withoutLink(event) }, `agent task ${event.kind}`);
  }

  return {
    async resolveAgentConnection(request: ResolveRequest): Promise<ResolveOutcome> {
      const response = await fetch(`${base}/v1/connections/resolve`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await deps.agentToken(request.userId)}`,
          'content-type': 'application/json',
          // The task the connect link's page names as asking.
          ...(request.announce ? { 'x-task-id': request.announce.taskId } : {}),
        },
        body: JSON.stringify({
          integration: request.integration,
          ...(request.agentId ? { agentId: request.agentId } : {}),
        }),
      });
      const body = (await readBody(response)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const announce = request.announce;
      if (response.status === 200) {
        const { id, status, scope } = body.connection;
        if (announce?.kind === 'reminder') {
          const userId = scope === 'user' ? request.userId : undefined;
          await record({ ...announce, integration: request.integration, scope, userId, connectionId: id });
        }
        return { kind: 'resolved', connection: { id, status, scope } };
      }
      if (response.status === 409 && body?.error?.code === 'connection_required') {
        const { integration, scope, userId, create, latest, connectUrl, connectUrlExpiresAt } =
          body.error.details;
        if (announce) {
          await record({
            ...announce,
            integration,
            scope,
            userId,
            create,
            ...(typeof connectUrl === 'string' ? { connectUrl, connectUrlExpiresAt } : {}),
          });
        }
        return { kind: 'connection_required', integration, scope, userId, create, latest };
      }
      throw failure('resolve', response.status, body);
    },

    async recordAgentTaskEvent(event: AgentTaskEvent): Promise<void> {
      await record(event);
    },

    async callThroughProxy(call: ProxyCall): Promise<ProxyAnswer> {
      const path = call.path.replace(/^\/+/, '');
      const response = await fetch(`${base}/v1/connections/${call.connectionId}/proxy/${path}`, {
        method: call.method,
        headers: {
          authorization: `Bearer ${await deps.agentToken(call.userId)}`,
          'x-task-id': call.taskId,
          ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
      });
      const body = await readBody(response);
      // The provider's own answers (any status) are the task's to judge; the service's failures retry.
      if (response.status >= 500 && response.status !== 502 && response.status !== 504) {
        throw failure('proxy', response.status, body);
      }
      return { status: response.status, body };
    },
  };
}

function withoutLink(event: AgentTaskEvent): Omit<AgentTaskEvent, 'connectUrl'> & { connectUrl?: string } {
  const { connectUrl, ...rest } = event;
  return connectUrl === undefined ? rest : { ...rest, connectUrl: '[sent]' };
}

export type ExampleAgentActivities = ReturnType<typeof createExampleAgentActivities>;
