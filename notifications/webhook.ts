// Webhooks to the platform about its dependents' connections: one notice per health event and dependent
// (created, expired, recovered, deactivated, activated, disconnected), JSON bodies signed with HMAC-SHA256
// (header `X-Connections-Signature: t=<unix seconds>,v1=<hex>` over `<t>.<body>`, as Stripe and Slack sign),
// delivered by an activity so Temporal retries them durably with backoff. Bodies carry ids and reasons only,
// and for `connection.expired` a reconnect link minted here, inside the activity, so that the link (a bearer
// secret) is never an activity's input or result and never enters Temporal history.
import { ApplicationFailure } from '@temporalio/activity';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ConnectLink, ConnectSessions } from '../connect/connect-sessions.js';
import type { ConnectionStatus } from '../workflows/connection-status.js';

/** The health events a dependent is told of, one webhook notice each. */
export type HealthEventType =
  | 'connection.created'
  | 'connection.expired'
  | 'connection.recovered'
  | 'connection.deactivated'
  | 'connection.activated'
  | 'connection.disconnected';

/** A health event of one connection, as its workflow numbers it: the same for every dependent. */
export interface HealthEvent {
  type: HealthEventType;
  /** `<connection id>:<sequence>`: one per event, the same in every dependent's copy and every retry. */
  eventId: string;
  workspaceId: string;
  connectionId: string;
  integration: string;
  scope: 'workspace' | 'user';
  /** The person a `user` connection belongs to. */
  userId?: string;
  /** The connection's status after the event. */
  status: ConnectionStatus;
  reason: string;
  /** The event's number in the connection's history (connection_events.sequence): order and de-duplicate by it. */
  sequence: number;
  occurredAt: string;
}

/**
 * One dependent's notice: its body as POSTed (plus `reconnect` for an expiry, added at delivery). Removal
 * notices recorded before health events carried only the first fields, which stay as they were.
 */
export type DependentNotice = Pick<
  HealthEvent,
  'type' | 'workspaceId' | 'connectionId' | 'reason' | 'occurredAt'
> &
  Partial<Omit<HealthEvent, 'type' | 'workspaceId' | 'connectionId' | 'reason' | 'occurredAt'>> & {
    dependent: { kind: string; id: string };
  };

export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/** For receivers (and tests): checks the signature and that it is recent. */
export function verifyWebhook(secret: string, body: string, header: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
  const timestamp = Number(parts.t);
  if (!parts.v1 || !Number.isFinite(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, timestamp).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookSettings {
  /** WEBHOOK_URL and WEBHOOK_SECRET; without both nothing is sent. */
  url?: string;
  secret?: string;
  /** Mints the reconnect link of an expiry's notice (the worker's ConnectSessions). */
  links?: Pick<ConnectSessions, 'mintForNotice'>;
}

export function createWebhookActivities(config: WebhookSettings) {
  /**
   * The reconnect link of an expiry: its token derived from the secret and the event id, its session made
   * once, so every retry and every dependent's copy carries the same link.
   */
  async function reconnectLink(notice: DependentNotice, secret: string): Promise<ConnectLink | undefined> {
    if (notice.type !== 'connection.expired' || !config.links || !notice.eventId) return undefined;
    if (!notice.integration || !notice.scope) return undefined;
    try {
      return await config.links.mintForNotice(
        secret,
        {
          workspaceId: notice.workspaceId,
          connectionId: notice.connectionId,
          integration: notice.integration,
          scope: notice.scope,
          userId: notice.userId ?? null,
        },
        notice.eventId,
      );
    } catch (error) {
      // The database, most likely: retried with the delivery. The message is not passed on (it is ours).
      throw ApplicationFailure.retryable(
        `the reconnect link could not be made (${(error as Error).name})`,
        'WebhookUnavailable',
      );
    }
  }

  return {
    async deliverDependentNotice(notice: DependentNotice): Promise<{ delivered: boolean; status?: number }> {
      if (!config.url || !config.secret) return { delivered: false };
      const reconnect = await reconnectLink(notice, config.secret);
      const body = JSON.stringify(reconnect ? { ...notice, reconnect } : notice);
      let response: Response;
      try {
        response = await fetch(config.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-connections-signature': signWebhook(config.secret, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        throw ApplicationFailure.retryable(
          `webhook unreachable (${(error as Error).name})`,
          'WebhookUnavailable',
        );
      }
      await response.body?.cancel();
      if (response.status >= 500 || response.status === 429) {
        throw ApplicationFailure.retryable(`webhook answered HTTP ${response.status}`, 'WebhookUnavailable');
      }
      if (!response.ok) {
        throw ApplicationFailure.nonRetryable(
          `webhook refused with HTTP ${response.status}`,
          'WebhookRefused',
        );
      }
      return { delivered: true, status: response.status };
    },
  };
}
