// Webhooks to the platform about dependents of a removed connection: JSON bodies signed with HMAC-SHA256
// (header `X-Connections-Signature: t=<unix seconds>,v1=<hex>` over `<t>.<body>`, as Stripe and Slack sign),
// delivered by an activity so Temporal retries them durably with backoff. Bodies carry ids and reasons only.
import { ApplicationFailure } from '@temporalio/activity';
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface DependentNotice {
  type: 'connection.disconnected';
  workspaceId: string;
  connectionId: string;
  dependent: { kind: string; id: string };
  reason: string;
  occurredAt: string;
}

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

export function createWebhookActivities(config: { url?: string; secret?: string }) {
  return {
    async deliverDependentNotice(notice: DependentNotice): Promise<{ delivered: boolean; status?: number }> {
      if (!config.url || !config.secret) return { delivered: false };
      const body = JSON.stringify(notice);
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
