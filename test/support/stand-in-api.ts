// A small loopback HTTP API standing in for a provider's own API (not its OAuth server): it accepts the keys
// it is told are valid, counts what reaches it, and can be told to answer with a deliberate fault.
import express from 'express';
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { integrationStore } from '../../integrations/integration-store.js';
import type { CredentialVault } from '../../vault/index.js';

export interface StandInApi {
  baseUrl: string;
  validKeys: Set<string>;
  /** The upstream account each key belongs to, as GET /v1/whoami answers it; a key without one gets 401. */
  accounts: Map<string, { id: string; name: string }>;
  /** Every request received: method, path and the Authorization header as sent. */
  requests: Array<{ method: string; path: string; authorization?: string }>;
  /** The same requests in full: method, raw URL and every header as received. */
  received: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined> }>;
  /** Bodies read to their end by /echo (URL and length), and those whose sender stopped short (URL). */
  bodies: { complete: Array<{ url: string; length: number }>; cutShort: string[] };
  /** Deliberate fault injection: the next `times` requests get `status`. */
  injectFault(status: number, times: number): void;
  /** Ends every injected fault not yet used up. */
  clearFaults(): void;
  /** Deliberate fault injection, a stalling provider: the next `times` requests wait for `until`, then go on. */
  injectStall(until: Promise<unknown>, times: number): void;
  /** Requests held by a stall right now. */
  heldRequests(): number;
  /**
   * The next GET /stream sends its first chunk, then holds the rest until the function returned is called:
   * a reader that sees the first chunk before that has seen it before the provider finished.
   */
  holdStreamAfterFirstChunk(): () => void;
  stop(): Promise<void>;
}

export async function startStandInApi(): Promise<StandInApi> {
  const validKeys = new Set<string>();
  const accounts: StandInApi['accounts'] = new Map();
  const requests: StandInApi['requests'] = [];
  const received: StandInApi['received'] = [];
  const faults: Array<number | Promise<unknown>> = [];
  let held = 0;
  let streamGate: Promise<void> | undefined;
  const bodies: StandInApi['bodies'] = { complete: [], cutShort: [] };
  const app = express();
  app.use(async (req, res, next) => {
    requests.push({ method: req.method, path: req.path, authorization: req.headers.authorization });
    received.push({ method: req.method, url: req.originalUrl, headers: { ...req.headers } });
    const fault = faults.shift();
    if (typeof fault === 'number') {
      res.status(fault).json({ error: 'injected fault' });
      return;
    }
    if (fault) {
      held++;
      await fault.catch(() => undefined);
      held--;
    }
    next();
  });
  app.get('/v1/me', (req, res) => {
    const key = req.headers.authorization?.replace(/^Bearer /, '');
    if (!key || !validKeys.has(key)) {
      res.status(401).json({ error: 'invalid api key' });
      return;
    }
    res.json({ id: 'account-1' });
  });
  // Which account a key is (the identity request): answered for keys given one, refused otherwise.
  app.get('/v1/whoami', (req, res) => {
    const account = accounts.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
    if (!account) {
      res.status(401).json({ error: 'no account for this key' });
      return;
    }
    res.json({ account });
  });
  // Any method under /echo: answers with what arrived (method, URL, headers, body as text).
  app.all('/echo{/*rest}', async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      bodies.cutShort.push(req.originalUrl);
      return;
    }
    bodies.complete.push({ url: req.originalUrl, length: Buffer.concat(chunks).length });
    res.json({
      method: req.method,
      url: req.originalUrl,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
  });
  // Answers with every kind of response header a provider might send: the proxy passes back only some.
  app.get('/response-headers', (_req, res) => {
    res.setHeader('set-cookie', 'provider-session=abc; Path=/');
    res.setHeader('www-authenticate', 'Bearer realm="provider"');
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('content-security-policy', 'default-src * provider-csp');
    res.setHeader('strict-transport-security', 'max-age=1');
    res.setHeader('x-frame-options', 'ALLOWALL');
    res.setHeader('server', 'stand-in/1.0');
    res.setHeader('x-internal-debug', 'upstream-10.0.0.7');
    res.setHeader('x-stand-in-result', '{"ok":true}');
    res.setHeader('etag', '"v1"');
    res.setHeader('link', '<https://provider.example/items?page=2>; rel="next"');
    res.setHeader('x-ratelimit-remaining', '41');
    res.setHeader('retry-after', '3');
    res.setHeader('x-request-id', 'req-123');
    res.json({ ok: true });
  });
  // A body sent in `count` chunks, so that a reader can see it arrive piece by piece; held after the first
  // while a test holds it (holdStreamAfterFirstChunk).
  app.get('/stream', async (req, res) => {
    const count = Number(req.query.count ?? 3);
    const gate = streamGate;
    streamGate = undefined;
    res.setHeader('content-type', 'text/plain');
    for (let i = 0; i < count; i++) {
      res.write(`chunk ${i}\n`);
      if (i === 0 && gate) await gate;
    }
    res.end();
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    validKeys,
    accounts,
    requests,
    received,
    bodies,
    injectFault(status, times) {
      for (let i = 0; i < times; i++) faults.push(status);
    },
    clearFaults() {
      faults.length = 0;
    },
    injectStall(until, times) {
      for (let i = 0; i < times; i++) faults.push(until);
    },
    heldRequests: () => held,
    holdStreamAfterFirstChunk() {
      let release!: () => void;
      streamGate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Configures the stand-in as the workspace's API-key integration `stand-in`: keys go in
 * `Authorization: Bearer <key>` and are verified with GET /v1/me.
 */
export async function configureStandInIntegration(
  harness: { db: Knex; vault: CredentialVault; workspaceId: string },
  api: StandInApi,
): Promise<void> {
  await integrationStore.configure(harness.db, harness.vault, {
    workspaceId: harness.workspaceId,
    key: 'stand-in',
    provider: {
      authType: 'api_key',
      apiBaseUrl: api.baseUrl,
      injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
      verification: { method: 'GET', path: '/v1/me' },
    },
  });
}
