// The HTTP API over the real stack for route tests: a lifecycle harness (database, vault on the KMS-API
// server, oidc-provider as a configured integration, a worker), the service's Express app on a loopback
// port, and bearer tokens for any caller.
import type { Express } from 'express';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp } from '../../api/app.js';
import type { HealthDependencies } from '../../api/health.js';
import { composeApi, type ApiParts } from '../../platform/composition.js';
import type { ReadyWaitLimits } from '../../agent-access/ready.js';
import { RateLimits, type RateLimitSettings } from '../../api/rate-limits.js';
import {
  cachedTokenVerifier,
  createTokenChecker,
  loadJwtSecret,
  loadSecret,
  mintToken,
  type Claims,
} from '../../api/auth.js';
import { createOperatorVerifier } from '../../api/operator-auth.js';
import { createSignInVerifier } from '../../console/sign-in-links.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import type { Logger } from '../../logging/logger.js';
import { createOutboundGuard } from '../../providers/outbound-guard.js';
import { ConnectionChangeListener } from '../../connections/connection-changes.js';
import { GrantRecorder } from '../../agent-access/grant-recorder.js';
import { listen, listenFirst } from './http.js';
import { authorizeInBrowser } from './oidc-provider.js';
import { testKeyProvider } from './env.js';
import { startLifecycleHarness, type LifecycleHarness } from './lifecycle.js';

export interface ApiHarness extends LifecycleHarness {
  url: string;
  app: Express;
  changes: ConnectionChangeListener;
  /** The API's grant recorder: its interval is an hour here, so tests write grants with flushGrants(). */
  grants: GrantRecorder;
  /** Another app over the same harness, with some of its dependencies replaced; the caller serves it. */
  appWith(overrides: Partial<ApiParts>): Express;
  /** Writes every grant the API has gathered now (the service: once GRANT_FLUSH_SECONDS old). */
  flushGrants(): Promise<void>;
  /** The secrets of this harness's workspace tokens and operator tokens (console sign-in links). */
  secrets: { jwt: Uint8Array; operator: Uint8Array };
  /** A bearer token for the caller (workspace defaults to the harness's own; expiry to 12 hours). */
  token(claims: Partial<Claims> & Pick<Claims, 'role'>, options?: { expiresIn?: string }): Promise<string>;
  /** fetch against the API with an optional bearer token and JSON body. */
  call(
    method: string,
    route: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function startApiHarness(
  options: Parameters<typeof startLifecycleHarness>[0] & {
    logger?: Logger;
    rateLimits?: Partial<RateLimitSettings>;
    readyWaits?: Partial<ReadyWaitLimits>;
    trustProxy?: boolean | number | string[];
    refreshMarginMs?: number;
    grantFlushMs?: number;
    /**
     * PUBLIC_URL is the API's own loopback address and oidc-provider redirects to its callback, so that a
     * real browser can go the whole way (test/support/browser.ts); otherwise PUBLIC_URL is a port nothing
     * listens on and tests hand the callback's parameters to the API themselves.
     */
    ownPublicUrl?: boolean;
    /**
     * A Temporal UI's origin (test/support/temporal-ui.ts): the harness then serves the codec server with
     * CORS for it (operator tokens of its secret, operator console sessions from that origin), and the
     * console links it for operators.
     */
    temporalUiOrigin?: string;
  } = {},
): Promise<ApiHarness> {
  const own = options.ownPublicUrl ? await listenFirst() : undefined;
  const lifecycle = await startLifecycleHarness({
    ...options,
    ...(own && { redirectUri: `${own.url}/v1/oauth/callback` }),
  }).catch(async (error: unknown) => {
    await own?.close();
    throw error;
  });
  const outbound = options.outbound ?? createOutboundGuard({ checkAddresses: false });
  const authDir = await mkdtemp(path.join(tmpdir(), 'api-auth-'));
  const auth = { jwtSecretFile: path.join(authDir, 'jwt-secret') };
  const secret = await loadJwtSecret(auth);
  const operatorSecret = await loadSecret(undefined, path.join(authDir, 'operator-secret'));
  const checkToken = await createTokenChecker(auth);
  const verifyOperator = createOperatorVerifier(operatorSecret);
  const changes = new ConnectionChangeListener(lifecycle.databaseUrl);
  await changes.start();
  const grants = new GrantRecorder(lifecycle.db, {
    flushIntervalMs: options.grantFlushMs ?? 3_600_000,
    logger: options.logger ?? lifecycle.logger,
  });
  const parts: ApiParts = {
    db: lifecycle.db,
    temporal: lifecycle.client,
    keys: testKeyProvider(),
    logger: options.logger ?? lifecycle.logger,
    trustProxy: options.trustProxy,
    checkResponses: true,
    vault: lifecycle.vault,
    commands: lifecycle.commands,
    verifyToken: cachedTokenVerifier(checkToken),
    publicUrl: own?.url ?? 'http://127.0.0.1:9',
    allowInsecureProviderUrls: true,
    catalogue: options.catalogue,
    outbound,
    rateLimits: options.rateLimits,
    readyWaits: options.readyWaits,
    refreshMarginMs: options.refreshMarginMs,
    grants,
    changes,
    console: {
      signIn: createSignInVerifier({ checkToken, verifyOperator }),
      ...(options.temporalUiOrigin && {
        temporalUi: { url: options.temporalUiOrigin, namespace: 'default' },
      }),
    },
    ...(options.temporalUiOrigin && {
      codec: {
        codec: new AesGcmPayloadCodec({ id: 'test', key: lifecycle.codecKey }),
        verifyOperator,
        allowedOrigins: [options.temporalUiOrigin],
      },
    }),
  };
  const app = composeApi(parts);
  own?.serve(app);
  const server = own ?? (await listen(app));
  return {
    ...lifecycle,
    url: server.url,
    app,
    changes,
    grants,
    secrets: { jwt: secret, operator: operatorSecret },
    appWith: (overrides) => composeApi({ ...parts, ...overrides }),
    async flushGrants() {
      if (!(await grants.flush())) throw new Error('the grants could not be written (see the log)');
    },
    async token(claims, tokenOptions) {
      const token = await mintToken(
        secret,
        { sub: `${claims.role}-1`, workspace: lifecycle.workspaceId, ...claims } as Claims,
        tokenOptions,
      );
      lifecycle.addSecret(token);
      return token;
    },
    async call(method, route, callOptions = {}) {
      const response = await fetch(server.url + route, {
        method,
        redirect: 'manual',
        headers: {
          ...(callOptions.token ? { authorization: `Bearer ${callOptions.token}` } : {}),
          ...(callOptions.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...callOptions.headers,
        },
        body: callOptions.body !== undefined ? JSON.stringify(callOptions.body) : undefined,
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: the plain callback page, for instance
      }
      return { status: response.status, body, headers: response.headers };
    },
    async stop() {
      await server.close();
      await grants.stop();
      await changes.stop();
      await lifecycle.stop();
      if (!options.outbound) await outbound.close();
    },
  };
}

/** An OAuth connection made through the API as a person would: create, sign in and consent, callback. */
export async function connectThroughApi(
  api: ApiHarness,
  token: string,
  scope: 'workspace' | 'user',
): Promise<string> {
  const created = await api.call('POST', '/v1/connections', {
    token,
    body: { integration: api.integration, scope },
  });
  if (created.status !== 201) throw new Error(`create answered ${created.status}`);
  const callback = await authorizeInBrowser(created.body.authorizationUrl);
  const completed = await api.call('GET', `/v1/oauth/callback${callback.search}`);
  if (completed.status !== 200) throw new Error(`callback answered ${completed.status}`);
  return created.body.connection.id;
}

/**
 * The app with the operations routes only (/healthz, /readyz, /metrics, /openapi.json), over the given
 * dependencies: no feature, and a verifier that admits no caller, since no route here takes one.
 */
export function operationsApp(deps: HealthDependencies): Express {
  return createApp({
    logger: deps.logger,
    checkResponses: true,
    health: deps,
    verifyToken: () => Promise.reject(new Error('the operations routes take no bearer token')),
    limits: new RateLimits(),
    routes: [],
    streaming: [],
  });
}
