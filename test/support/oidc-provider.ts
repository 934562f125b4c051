// A real OAuth 2.0 authorization server on loopback for tests (oidc-provider with its in-memory adapter and
// development login/consent pages): authorization code with PKCE S256, refresh with or without rotation,
// RFC 7009 revocation and RFC 9207 `iss` in authorization responses. Also counts token and revocation
// requests, answers them with deliberate faults on demand, and revokes grants the way a user removing the app
// at the provider would. `authorizeInBrowser` plays the user's browser through login and consent.
// For tests only: the keys, client secret and accounts are throwaway and nothing is persisted.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface TestAuthorizationServer {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** POST requests that reached the token endpoint (faulted ones included), all or of one grant type. */
  tokenRequests(grantType?: string): number;
  /** When each of them arrived (epoch ms), in order. */
  tokenRequestTimes(grantType?: string): number[];
  /** Requests held right now by a `holdUntil` fault. */
  heldRequests(): number;
  /** One entry per revocation request received (faulted ones included): its token_type_hint, or '' if none. */
  revocations(): string[];
  /** Deliberate fault injection: the next `times` requests to the endpoint get this answer instead. */
  injectFault(fault: InjectedFault): void;
  /** Ends every injected fault not yet used up. */
  clearFaults(): void;
  /** Destroys every grant and its tokens, as a user removing the app at the provider; returns how many. */
  revokeAllGrants(): Promise<number>;
  /** The same for the grants of one account (the login name given to authorizeInBrowser). */
  revokeGrant(accountId: string): Promise<number>;
  stop(): Promise<void>;
}

export type InjectedFault = {
  endpoint: 'token' | 'revocation';
  times: number;
} & (
  | {
      status: number;
      headers?: Record<string, string>;
      /** Sent as JSON; without it the answer has no body. */
      body?: object;
    }
  | {
      /** A stalling endpoint: each request is held until this settles, then answered as usual. */
      holdUntil: Promise<unknown>;
    }
);

export interface OidcProviderOptions {
  /** A new refresh token on every refresh, the old one then refused (reuse revokes the grant). Default true. */
  rotateRefreshTokens?: boolean;
  accessTokenTtlSeconds?: number;
  redirectUris?: string[];
  clientId?: string;
  clientSecret?: string;
}

/** Scopes the server knows; consent grants whichever of them are requested, unknown ones are dropped. */
export const TEST_SCOPES = ['openid', 'email', 'profile', 'offline_access', 'api:read'] as const;

// oidc-provider ships no type definitions: these are the few parts used here.
interface KoaContext {
  method: string;
  path: string;
  req: IncomingMessage;
  status: number;
  body: unknown;
  set(headers: Record<string, string>): void;
  oidc?: { body?: Record<string, unknown> };
}
interface GrantModel {
  jti: string;
  accountId: string;
  destroy(): Promise<void>;
}
interface RevocableModel {
  revokeByGrantId(grantId: string): Promise<void>;
}
interface Provider {
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'grant.saved', listener: (grant: GrantModel) => void): void;
  Grant: { find(id: string): Promise<GrantModel | undefined> };
  AccessToken: RevocableModel;
  RefreshToken: RevocableModel;
  AuthorizationCode: RevocableModel;
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => Provider;

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<TestAuthorizationServer> {
  const clientId = options.clientId ?? 'connections-test-client';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const redirectUris = options.redirectUris ?? ['http://127.0.0.1:3000/v1/oauth/callback'];

  // Listen first, so the issuer carries the real port and no other process can take it meanwhile.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const provider = await withoutProviderNotices(async () => {
    // @ts-expect-error oidc-provider has no type definitions (and @types/oidc-provider is not installed)
    const { default: Provider } = (await import('oidc-provider')) as { default: ProviderClass };
    return new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: redirectUris,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: {
        keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })],
      },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      scopes: TEST_SCOPES.filter((scope) => scope !== 'email' && scope !== 'profile'),
      features: {
        devInteractions: { enabled: true },
        revocation: {
          enabled: true,
          allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) =>
            token.clientId === client.clientId,
        },
      },
      pkce: { required: () => true },
      // By default a refresh token needs offline_access, which oidc-provider only keeps with prompt=consent.
      issueRefreshToken: async () => true,
      rotateRefreshToken: options.rotateRefreshTokens ?? true,
      findAccount: async (_ctx: unknown, sub: string) => ({
        accountId: sub,
        claims: async () => ({ sub, email: `${sub}@example.test`, email_verified: true, name: sub }),
      }),
      renderError: async (ctx: KoaContext, out: Record<string, unknown>) => {
        ctx.body = out;
      },
      clientBasedCORS: () => false,
      // Every TTL set, so that oidc-provider has no "you SHOULD change this default" notice to print.
      ttl: {
        AccessToken: options.accessTokenTtlSeconds ?? 3600,
        AuthorizationCode: 60,
        IdToken: 3600,
        RefreshToken: 14 * 24 * 3600,
        Interaction: 3600,
        Session: 14 * 24 * 3600,
        Grant: 14 * 24 * 3600,
      },
    });
  }).catch(async (error: unknown) => {
    await closeServer(server);
    throw error;
  });

  const endpoints = { token: '/token', revocation: '/token/revocation' } as const;
  const grantTypes: Array<string | undefined> = [];
  const grantTimes: number[] = [];
  let held = 0;
  const revocationHints: string[] = [];
  const faults: Record<InjectedFault['endpoint'], InjectedFault[]> = { token: [], revocation: [] };
  const record = (endpoint: InjectedFault['endpoint'], form: Record<string, unknown> | undefined) => {
    const field = (name: string) => (typeof form?.[name] === 'string' ? (form[name] as string) : undefined);
    if (endpoint === 'token') {
      grantTypes.push(field('grant_type'));
      grantTimes.push(Date.now());
    } else revocationHints.push(field('token_type_hint') ?? '');
  };

  provider.use(async (ctx, next) => {
    const endpoint = (['token', 'revocation'] as const).find(
      (name) => ctx.method === 'POST' && ctx.path === endpoints[name],
    );
    if (!endpoint) return next();
    const fault = faults[endpoint][0];
    if (!fault) {
      await next();
      return record(endpoint, ctx.oidc?.body);
    }
    if (--fault.times <= 0) faults[endpoint].shift();
    if ('holdUntil' in fault) {
      // Deliberate fault injection: a provider that stalls, then answers.
      held++;
      await fault.holdUntil.catch(() => undefined);
      held--;
      await next();
      return record(endpoint, ctx.oidc?.body);
    }
    // Deliberate fault injection: answered here, before oidc-provider sees the request.
    record(endpoint, Object.fromEntries(new URLSearchParams(await readBody(ctx.req))));
    ctx.status = fault.status;
    ctx.set(fault.headers ?? {});
    if (fault.body) ctx.body = fault.body;
  });

  const grantIds = new Set<string>();
  provider.on('grant.saved', (grant) => grantIds.add(grant.jti));
  const revokeGrants = async (matches: (grant: GrantModel) => boolean) => {
    let revoked = 0;
    for (const id of grantIds) {
      const grant = await provider.Grant.find(id);
      if (grant && !matches(grant)) continue;
      grantIds.delete(id);
      if (!grant) continue;
      const models = [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode];
      await Promise.all(models.map((model) => model.revokeByGrantId(id)));
      await grant.destroy();
      revoked += 1;
    }
    return revoked;
  };

  server.on('request', provider.callback());

  return {
    issuer,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}${endpoints.token}`,
    revocationEndpoint: `${issuer}${endpoints.revocation}`,
    clientId,
    clientSecret,
    tokenRequests: (grantType) =>
      grantType === undefined ? grantTypes.length : grantTypes.filter((type) => type === grantType).length,
    heldRequests: () => held,
    tokenRequestTimes: (grantType) =>
      grantTimes.filter((_, i) => grantType === undefined || grantTypes[i] === grantType),
    revocations: () => [...revocationHints],
    injectFault: (fault) => {
      if (fault.times > 0) faults[fault.endpoint].push({ ...fault });
    },
    clearFaults: () => {
      faults.token.length = 0;
      faults.revocation.length = 0;
    },
    revokeAllGrants: () => revokeGrants(() => true),
    revokeGrant: (accountId) => revokeGrants((grant) => grant.accountId === accountId),
    stop: () => closeServer(server),
  };
}

/**
 * Plays the user's browser from the authorization URL: follows the server's redirects with a cookie jar,
 * signs in on the development login page as `login` (any name; default 'user-1'), then gives consent, or
 * cancels there when `deny` is set. Returns the redirect to the client (the first one off the issuer's
 * origin) without following it: `code`, `state` and `iss`, or `error=access_denied`.
 */
export async function authorizeInBrowser(
  authorizationUrl: string,
  options: { login?: string; deny?: boolean } = {},
): Promise<URL> {
  const issuerOrigin = new URL(authorizationUrl).origin;
  const cookies = new Map<string, string>();
  let url = new URL(authorizationUrl);
  let form: URLSearchParams | undefined;
  for (let step = 0; step < 20; step += 1) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body: form,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [, name = '', value = ''] = /^([^=]+)=([^;]*)/.exec(cookie) ?? [];
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) cookies.delete(name);
      else cookies.set(name, value);
    }
    form = undefined;

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url);
      if (url.origin !== issuerOrigin) return url;
      continue;
    }
    const page = await response.text();
    const prompt = /name="prompt" value="([^"]+)"/.exec(page)?.[1];
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    if (response.status !== 200 || !prompt || !action) {
      throw new Error(
        `the authorization server answered ${response.status} at ${url}: ${page.slice(0, 500)}`,
      );
    }
    if (prompt === 'consent' && options.deny) {
      const abort = /href="([^"]*\/abort)"/.exec(page)?.[1];
      if (!abort) throw new Error(`no cancel link on the consent page at ${url}`);
      url = new URL(decodeHtml(abort), url);
      continue;
    }
    form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', options.login ?? 'user-1');
      form.set('password', 'any password');
    }
    url = new URL(decodeHtml(action), url);
  }
  throw new Error(`no redirect to the client after 20 steps; last at ${url}`);
}

// oidc-provider prints start-up notices ("development-only in-memory adapter", "devInteractions enabled",
// "Unsupported runtime" before Node 22) with no switch to turn them off: they alone are dropped, and only
// while it loads and starts. Any other output, and its notices at request time, still show.
let quieting = 0;
const printers = ['warn', 'info'] as const;
const loud: Partial<Pick<Console, (typeof printers)[number]>> = {};
async function withoutProviderNotices<T>(start: () => Promise<T>): Promise<T> {
  if (quieting++ === 0) {
    for (const printer of printers) {
      /* eslint-disable no-console -- replaces the printers for a moment, prints nothing itself */
      const print = (loud[printer] = console[printer]);
      console[printer] = (...args: unknown[]) => {
        // Matched inside, not at the start: on a terminal the notice comes wrapped in colour codes.
        if (!/oidc-provider (NOTICE|WARNING):/.test(String(args[0]))) print(...args);
      };
      /* eslint-enable no-console */
    }
  }
  try {
    return await start();
  } finally {
    if (--quieting === 0) Object.assign(console, loud);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function decodeHtml(text: string): string {
  return text.replaceAll('&amp;', '&');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
