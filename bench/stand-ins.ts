// Loopback stand-ins for providers, for benchmarks only: an OAuth 2.0 authorization server (authorization
// code with PKCE S256, refresh with rotation, revocation) that counts every token request and issues tokens
// whose lifetime the benchmark sets, and an API that verifies API keys and answers reads to them. The tests
// use oidc-provider; a benchmark needs thousands of sign-ins and a server that is not itself the
// bottleneck, nor a browser.
import express from 'express';
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { integrationStore } from '../integrations/integration-store.js';
import type { CredentialVault } from '../vault/index.js';

/** How long issued access tokens live: a fixed number of seconds, or until an instant (epoch ms). */
export type Lifetime = { seconds: number } | { until: number };

export interface TokenRequest {
  grant: 'authorization_code' | 'refresh_token';
  clientId: string;
  /** The session (one per authorization, kept across refreshes): which connection this is. */
  session: string;
  at: number;
  /** For refreshes: when the access token being replaced expires. */
  replacedExpiresAt?: number;
}

export interface OAuthStandIn {
  issuer: string;
  /** Lifetime of tokens issued to a client from now on. */
  setLifetime(clientId: string, lifetime: Lifetime): void;
  requests: TokenRequest[];
  clientSecret(clientId: string): string;
  stop(): Promise<void>;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** Serves a stand-in on a free loopback port; stop() also ends kept-alive connections. */
async function serve(app: express.Express): Promise<{ url: string; stop(): Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  server.keepAliveTimeout = 60_000;
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startOAuthStandIn(): Promise<OAuthStandIn> {
  const lifetimes = new Map<string, Lifetime>();
  const codes = new Map<string, { clientId: string; challenge: string; redirectUri: string }>();
  const refreshTokens = new Map<string, { clientId: string; session: string; expiresAt: number }>();
  const requests: TokenRequest[] = [];
  const secretOf = (clientId: string) =>
    createHash('sha256').update(`bench-secret:${clientId}`).digest('base64url');

  const issue = (clientId: string, session: string) => {
    const lifetime = lifetimes.get(clientId) ?? { seconds: 3600 };
    const seconds =
      'seconds' in lifetime
        ? lifetime.seconds
        : Math.max(1, Math.round((lifetime.until - Date.now()) / 1000));
    const refreshToken = b64url(randomBytes(24));
    refreshTokens.set(refreshToken, { clientId, session, expiresAt: Date.now() + seconds * 1000 });
    return {
      access_token: b64url(randomBytes(24)),
      token_type: 'Bearer',
      expires_in: seconds,
      refresh_token: refreshToken,
      scope: 'api',
    };
  };

  const authenticate = (req: express.Request): string | undefined => {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (!basic) return undefined;
    const [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent);
    return id && secret === secretOf(id) ? id : undefined;
  };

  const app = express();
  app.get('/authorize', (req, res) => {
    const { client_id, redirect_uri, state, code_challenge, code_challenge_method } = req.query as Record<
      string,
      string
    >;
    if (!client_id || !redirect_uri || !state || !code_challenge || code_challenge_method !== 'S256') {
      res.status(400).send('bad authorization request');
      return;
    }
    const code = b64url(randomBytes(24));
    codes.set(code, { clientId: client_id, challenge: code_challenge, redirectUri: redirect_uri });
    const back = new URL(redirect_uri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', state);
    res.redirect(302, back.toString());
  });
  app.post('/token', express.urlencoded({ extended: false }), (req, res) => {
    const clientId = authenticate(req);
    if (!clientId) {
      res.status(401).json({ error: 'invalid_client' });
      return;
    }
    const body = req.body as Record<string, string>;
    if (body.grant_type === 'authorization_code') {
      const code = codes.get(body.code ?? '');
      codes.delete(body.code ?? '');
      const verifier = createHash('sha256')
        .update(body.code_verifier ?? '')
        .digest('base64url');
      if (!code || code.clientId !== clientId || code.challenge !== verifier) {
        res.status(400).json({ error: 'invalid_grant' });
        return;
      }
      const session = b64url(randomBytes(9));
      requests.push({ grant: 'authorization_code', clientId, session, at: Date.now() });
      res.json(issue(clientId, session));
      return;
    }
    if (body.grant_type === 'refresh_token') {
      const previous = refreshTokens.get(body.refresh_token ?? '');
      if (!previous || previous.clientId !== clientId) {
        res.status(400).json({ error: 'invalid_grant' });
        return;
      }
      refreshTokens.delete(body.refresh_token!);
      requests.push({
        grant: 'refresh_token',
        clientId,
        session: previous.session,
        at: Date.now(),
        replacedExpiresAt: previous.expiresAt,
      });
      res.json(issue(clientId, previous.session));
      return;
    }
    res.status(400).json({ error: 'unsupported_grant_type' });
  });
  app.post('/revoke', (_req, res) => {
    res.status(200).end();
  });
  const served = await serve(app);
  return {
    issuer: served.url,
    setLifetime: (clientId, lifetime) => lifetimes.set(clientId, lifetime),
    requests,
    clientSecret: secretOf,
    stop: served.stop,
  };
}

/** Configures the stand-in as the workspace's OAuth integration `key`, with client id `key`. */
export async function configureOAuthIntegration(
  target: { db: Knex; vault: CredentialVault; workspaceId: string },
  standIn: OAuthStandIn,
  key: string,
): Promise<void> {
  await integrationStore.configure(target.db, target.vault, {
    workspaceId: target.workspaceId,
    key,
    provider: {
      authType: 'oauth2',
      issuer: standIn.issuer,
      authorizationEndpoint: `${standIn.issuer}/authorize`,
      tokenEndpoint: `${standIn.issuer}/token`,
      revocationEndpoint: `${standIn.issuer}/revoke`,
      scopes: ['api'],
      apiBaseUrl: standIn.issuer,
    },
    clientId: key,
    clientSecret: standIn.clientSecret(key),
  });
}

export interface KeyApiStandIn {
  baseUrl: string;
  /** Verification requests received. */
  verifications: number;
  /** Calls of the API itself (GET /v1/records/{id}), with a key or not. */
  apiCalls: number;
  /** API calls that came without a `bench-key-` key (answered 401). */
  unauthorised: number;
  /** API calls with a header holding one of the strings given to watchFor (the callers' own tokens). */
  leaks: number;
  /** Strings that must never reach the provider; API calls carrying one in any header count as leaks. */
  watchFor(secrets: string[]): void;
  stop(): Promise<void>;
}

/** The body GET /v1/records/{id} answers with a key: small, like most of an API's reads. */
export const standInRecord = (id: string) => ({ id, name: `record ${id}`, tags: ['bench'] });

/**
 * An API-key provider whose GET /v1/me accepts any key starting with `bench-key-`, and whose
 * GET /v1/records/{id} answers the record to such a key.
 */
export async function startKeyApiStandIn(): Promise<KeyApiStandIn> {
  const stand = { verifications: 0, apiCalls: 0, unauthorised: 0, leaks: 0 };
  let watched: string[] = [];
  const keyed = (req: express.Request) => /^Bearer bench-key-/.test(req.headers.authorization ?? '');
  const app = express();
  app.get('/v1/me', (req, res) => {
    stand.verifications++;
    if (!keyed(req)) res.status(401).json({});
    else res.json({ id: 'account' });
  });
  app.get('/v1/records/:id', (req, res) => {
    stand.apiCalls++;
    const values = Object.values(req.headers).flat().join('\n');
    if (watched.some((secret) => values.includes(secret))) stand.leaks++;
    if (!keyed(req)) {
      stand.unauthorised++;
      res.status(401).json({});
    } else res.json(standInRecord(req.params.id));
  });
  const served = await serve(app);
  return {
    baseUrl: served.url,
    get verifications() {
      return stand.verifications;
    },
    get apiCalls() {
      return stand.apiCalls;
    },
    get unauthorised() {
      return stand.unauthorised;
    },
    get leaks() {
      return stand.leaks;
    },
    watchFor: (secrets) => {
      watched = [...secrets];
    },
    stop: served.stop,
  };
}

export async function configureKeyIntegration(
  target: { db: Knex; vault: CredentialVault; workspaceId: string },
  api: KeyApiStandIn,
  key: string,
): Promise<void> {
  await integrationStore.configure(target.db, target.vault, {
    workspaceId: target.workspaceId,
    key,
    provider: {
      authType: 'api_key',
      apiBaseUrl: api.baseUrl,
      injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
      verification: { method: 'GET', path: '/v1/me' },
    },
  });
}
