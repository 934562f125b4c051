// A loopback webhook receiver for the health-event and removal notices: it keeps every delivery with whether
// its signature verified, answers 204 (401 for a bad signature), or the next status a test queued in
// `faults` (a receiver outage, injected deliberately). And the reconnect-link minter a worker with a webhook
// is given, as platform/service.ts builds it.
import express from 'express';
import type { Server } from 'node:http';
import {
  CONNECT_SESSION_TTL_BOUNDS_SECONDS,
  DEFAULT_CONNECT_SESSION_TTL_SECONDS,
} from '../../config/config.js';
import { ConnectSessions } from '../../connect/connect-sessions.js';
import type { Db } from '../../db/database.js';
import { defaultCatalogue } from '../../integrations/connection-provider.js';
import { verifyWebhook } from '../../notifications/webhook.js';

export interface WebhookDelivery {
  body: string;
  signature: string;
  verified: boolean;
  /** What the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  deliveries: WebhookDelivery[];
  /** Statuses the next deliveries are answered with instead of 204. */
  faults: number[];
  /** The bodies of the deliveries that verified and were accepted (204), parsed. */
  accepted(): Array<{ type: string; connectionId: string } & Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const deliveries: WebhookDelivery[] = [];
  const faults: number[] = [];
  const app = express();
  app.post('/hooks', express.text({ type: '*/*' }), (req, res) => {
    const body = String(req.body);
    const signature = String(req.headers['x-connections-signature']);
    const verified = verifyWebhook(secret, body, signature);
    const status = verified ? (faults.shift() ?? 204) : 401;
    deliveries.push({ body, signature, verified, status });
    res.status(status).end();
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    secret,
    deliveries,
    faults,
    accepted: () => deliveries.filter((d) => d.verified && d.status === 204).map((d) => JSON.parse(d.body)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The reconnect links of `connection.expired` notices, minted as the service's worker mints them. */
export function noticeLinks(db: Db, publicUrl: string): ConnectSessions {
  return new ConnectSessions({
    db,
    publicUrl,
    returnToOrigins: [],
    defaultTtlMs: DEFAULT_CONNECT_SESSION_TTL_SECONDS * 1000,
    maxTtlMs: CONNECT_SESSION_TTL_BOUNDS_SECONDS.max * 1000,
    catalogue: defaultCatalogue,
  });
}
