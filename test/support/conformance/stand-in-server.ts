// What every conformance stand-in shares: a loopback HTTP server that records each request in full, the
// authorization-code grant's bookkeeping (codes bound to client, redirect URI, PKCE challenge and the signed-in
// account; issued, rotated and revoked tokens), client authentication read the ways providers accept it, and a
// "browser" that signs an account in and follows the authorize redirect. Each provider's module
// (microsoft.ts, slack.ts, …) adds the routes that answer exactly as that provider documents.
// For tests only: every secret here is throwaway.
import express, { type Express, type Request } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The body as sent, and read as a form or as JSON where it is one. */
  body: string;
  form?: Record<string, string>;
  json?: unknown;
}

/** The signed-in account an authorization was granted by, as the stand-in knows it. */
export interface Grant<Account> {
  account: Account;
  clientId: string;
  scope: string;
  /** Provider-specific context fixed at authorize (Microsoft's tenant path segment). */
  context: Record<string, string>;
}

interface PendingCode<Account> extends Grant<Account> {
  redirectUri: string;
  codeChallenge?: string;
}

export interface StandInCore {
  origin: string;
  clientId: string;
  clientSecret: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** The requests to one path (and method). */
  seen(path: string | RegExp, method?: string): RecordedRequest[];
  stop(): Promise<void>;
}

/** The grant bookkeeping a provider's routes use. */
export interface GrantBook<Account> {
  issueCode(code: PendingCode<Account>): string;
  /** The code's grant, once: undefined for an unknown, spent or mismatched code (or a PKCE verifier that fails). */
  redeemCode(
    code: string | undefined,
    request: { clientId: string; redirectUri?: string; codeVerifier?: string },
  ): Grant<Account> | undefined;
  issueAccessToken(grant: Grant<Account>, prefix: string): string;
  issueRefreshToken(grant: Grant<Account>, prefix: string): string;
  /** The grant of a live access token (a bearer header's), or undefined. */
  accessGrant(authorization: string | undefined): Grant<Account> | undefined;
  refreshGrant(token: string | undefined): Grant<Account> | undefined;
  /** Ends one refresh token (rotation): its grant stays, its access tokens too. */
  retireRefreshToken(token: string): void;
  /** Revokes the grant a token belongs to, with every token of it; false when the token is unknown. */
  revokeGrantOf(token: string): boolean;
  /** Makes a grant live (one authorization split into several, as Slack's bot and user tokens). */
  adopt(grant: Grant<Account>): void;
  /** Ends a grant without a revocation call (superseded by the ones adopted from it). */
  end(grant: Grant<Account>): void;
  /** The grants still alive: what a user would see listed under "authorized apps". */
  liveGrants(): Grant<Account>[];
  /** Every refresh token presented at the token endpoint, in order, and every one issued. */
  refreshTokensPresented: string[];
  refreshTokensIssued: string[];
}

export interface ClientAuthentication {
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
  clientId?: string;
  clientSecret?: string;
}

export function readForm(request: RecordedRequest): Record<string, string> {
  return request.form ?? (request.json as Record<string, string> | undefined) ?? {};
}

/** The client authentication on a request: HTTP Basic (RFC 6749 §2.3.1), or the credentials in the body. */
export function clientAuthentication(request: RecordedRequest): ClientAuthentication {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return {
      method: 'client_secret_basic',
      clientId: decodeURIComponent(decoded.slice(0, colon)),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  }
  const body = readForm(request);
  if (body.client_secret) {
    return { method: 'client_secret_post', clientId: body.client_id, clientSecret: body.client_secret };
  }
  return { method: 'none', clientId: body.client_id };
}

function createGrantBook<Account>(): GrantBook<Account> {
  const codes = new Map<string, PendingCode<Account>>();
  const accessTokens = new Map<string, Grant<Account>>();
  const refreshTokens = new Map<string, Grant<Account>>();
  const live = new Set<Grant<Account>>();
  const token = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;
  const book: GrantBook<Account> = {
    refreshTokensPresented: [],
    refreshTokensIssued: [],
    issueCode(pending) {
      const code = token('code-');
      codes.set(code, pending);
      return code;
    },
    redeemCode(code, request) {
      const pending = code ? codes.get(code) : undefined;
      if (!pending || !code) return undefined;
      codes.delete(code);
      if (pending.clientId !== request.clientId) return undefined;
      if (request.redirectUri !== undefined && request.redirectUri !== pending.redirectUri) return undefined;
      if (pending.codeChallenge !== undefined) {
        if (!request.codeVerifier) return undefined;
        const challenge = createHash('sha256').update(request.codeVerifier).digest('base64url');
        if (challenge !== pending.codeChallenge) return undefined;
      }
      const grant: Grant<Account> = {
        account: pending.account,
        clientId: pending.clientId,
        scope: pending.scope,
        context: pending.context,
      };
      live.add(grant);
      return grant;
    },
    issueAccessToken(grant, prefix) {
      const issued = token(prefix);
      accessTokens.set(issued, grant);
      return issued;
    },
    issueRefreshToken(grant, prefix) {
      const issued = token(prefix);
      refreshTokens.set(issued, grant);
      book.refreshTokensIssued.push(issued);
      return issued;
    },
    accessGrant(authorization) {
      const match = /^Bearer (.+)$/i.exec(authorization ?? '');
      const grant = match ? accessTokens.get(match[1]!) : undefined;
      return grant && live.has(grant) ? grant : undefined;
    },
    refreshGrant(presented) {
      if (presented) book.refreshTokensPresented.push(presented);
      const grant = presented ? refreshTokens.get(presented) : undefined;
      return grant && live.has(grant) ? grant : undefined;
    },
    retireRefreshToken(retired) {
      refreshTokens.delete(retired);
    },
    revokeGrantOf(presented) {
      const grant = accessTokens.get(presented) ?? refreshTokens.get(presented);
      if (!grant || !live.has(grant)) return false;
      live.delete(grant);
      return true;
    },
    adopt: (grant) => void live.add(grant),
    end: (grant) => void live.delete(grant),
    liveGrants: () => [...live],
  };
  return book;
}

/** The header a test's "browser" sends to say who is signed in at the stand-in. */
const SIGNED_IN = 'x-stand-in-signed-in';

/** The account signed in on an authorize request (the stand-in's own login, in place of a login page). */
export function signedInAs(request: Request): string | undefined {
  const value = request.headers[SIGNED_IN];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Plays the user's browser: opens the authorization URL signed in as `login`, consents, and returns where
 * the provider redirected (the callback with `code` and `state`, or with `error`).
 */
export async function signInAndConsent(authorizationUrl: string, login: string): Promise<URL> {
  const response = await fetch(authorizationUrl, { redirect: 'manual', headers: { [SIGNED_IN]: login } });
  const location = response.headers.get('location');
  if (response.status !== 302 || !location) {
    throw new Error(
      `the stand-in refused the authorization request (${response.status}): ${await response.text()}`,
    );
  }
  return new URL(location);
}

/**
 * Starts a stand-in: `routes` registers the provider's own endpoints on an app that has already recorded the
 * request and parsed a form or JSON body.
 */
export async function startStandIn<Account, Extra>(
  routes: (app: Express, core: StandInCore, book: GrantBook<Account>) => Extra,
  options: { clientId?: string } = {},
): Promise<StandInCore & Extra & { grants: GrantBook<Account> }> {
  const app = express();
  app.set('etag', false);
  const requests: RecordedRequest[] = [];
  app.use(express.text({ type: () => true, limit: '64kb' }));
  app.use((req, _res, next) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const recorded: RecordedRequest = {
      method: req.method,
      path: req.path,
      query: Object.fromEntries(new URL(req.originalUrl, 'http://x').searchParams),
      headers: { ...req.headers },
      body,
    };
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/x-www-form-urlencoded')) {
      recorded.form = Object.fromEntries(new URLSearchParams(body));
    } else if (type.startsWith('application/json') && body) {
      try {
        recorded.json = JSON.parse(body);
      } catch {
        // Left unparsed: the route answers as the provider does to a malformed body.
      }
    }
    requests.push(recorded);
    carrier(req).recorded = recorded;
    next();
  });
  const book = createGrantBook<Account>();
  const core: StandInCore = {
    origin: '',
    clientId: options.clientId ?? `client-${randomBytes(6).toString('hex')}`,
    clientSecret: randomBytes(24).toString('base64url'),
    requests,
    seen: (path, method) =>
      requests.filter(
        (r) =>
          (typeof path === 'string' ? r.path === path : path.test(r.path)) &&
          (method === undefined || r.method === method),
      ),
    stop: async () => undefined,
  };
  const extra = routes(app, core, book);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  core.origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  core.stop = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      // The service's keep-alive connections would hold the close until they time out.
      server.closeAllConnections();
    });
  return Object.assign(core, extra, { grants: book });
}

/** The recorded form of the request being answered. */
export function recordedOf(req: Request): RecordedRequest {
  return carrier(req).recorded!;
}

/** The request as it carries its recorded form from the recording middleware to the provider's route. */
function carrier(req: Request): { recorded?: RecordedRequest } {
  return req as unknown as { recorded?: RecordedRequest };
}
