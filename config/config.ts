// The one configuration loader: every environment variable the service reads is declared here, validated
// with zod at start-up, and a bad or missing one fails with its name. Nothing else reads process.env.
import path from 'node:path';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { CONNECTIONS_TASK_QUEUE, type LifecycleSettings } from '../workflows/messages.js';
import { isDevelopmentSecret, isLoopbackHost } from './development-secrets.js';

/** The `aud` of every operator token, and of no workspace token. */
export const OPERATOR_AUDIENCE = 'connections-operator';
/** AUTH_JWT_MAX_LIFETIME_SECONDS' default: 24 hours. */
export const DEFAULT_JWT_MAX_LIFETIME_SECONDS = 86_400;
// The defaults below are also what a part built without a configuration (a test's app) falls back on, so
// each is defined here once and imported there.
/** REFRESH_MARGIN_SECONDS' default: a token is replaced five minutes before it expires. */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 300;
/** The RATE_LIMIT_*_PER_MINUTE defaults, by limit (api/rate-limits.ts). */
export const DEFAULT_RATE_LIMITS_PER_MINUTE = {
  connect: 30,
  callback: 60,
  refresh: 30,
  change: 30,
  proxy: 6_000,
} as const;
/** READY_WAITS_PER_CALLER and READY_WAITS_PER_PROCESS' defaults. */
export const DEFAULT_READY_WAITS = { perCaller: 10, perProcess: 10_000 } as const;
/**
 * GRANT_FLUSH_SECONDS' default. Two minutes, so that a key's rows, the one written on stop included, stay
 * within one per minute over any window of a minute or more: (window ÷ 2) + 1 ≤ window.
 */
export const DEFAULT_GRANT_FLUSH_SECONDS = 120;
/** How long a caller waits for a connection's workflow to answer a command (COMMAND_TIMEOUT_SECONDS). */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 60;
/**
 * How long before its refresh token lapses a connection shows `refresh_token_expiring`: a week, time for a
 * person to re-authorize it before it expires.
 */
export const REFRESH_TOKEN_EXPIRY_WARNING_MS = 7 * 86_400_000;
/** CONNECT_SESSION_TTL_SECONDS' default: a connect link works for 30 minutes unless its creator asks otherwise. */
export const DEFAULT_CONNECT_SESSION_TTL_SECONDS = 1_800;
/** The bounds of a connect link's lifetime, the configured default's and each request's `ttl`. */
export const CONNECT_SESSION_TTL_BOUNDS_SECONDS = { min: 60, max: 86_400 } as const;

/** MCP_SESSIONS_MAX and MCP_SESSION_IDLE_SECONDS' defaults and bounds; the sessions one caller may hold at once. */
export const DEFAULT_MCP_SESSIONS = { max: 1_000, perCaller: 10, idleSeconds: 900 } as const;
export const MCP_SESSIONS_MAX_BOUNDS = { min: 1, max: 100_000 } as const;
export const MCP_SESSION_IDLE_BOUNDS_SECONDS = { min: 30, max: 86_400 } as const;

/** CONSOLE_SESSION_TTL_SECONDS' default and bounds: a console session lasts an hour. */
export const DEFAULT_CONSOLE_SESSION_TTL_SECONDS = 3_600;
export const CONSOLE_SESSION_TTL_BOUNDS_SECONDS = { min: 300, max: 86_400 } as const;

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const perMinute = (limit: keyof typeof DEFAULT_RATE_LIMITS_PER_MINUTE) =>
  z.coerce.number().int().positive().default(DEFAULT_RATE_LIMITS_PER_MINUTE[limit]);

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(3000),
  PUBLIC_URL: z.url().optional(),
  DATA_DIR: z.string().default('.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: optionalString.pipe(z.url().optional()),
  EMBEDDED_POSTGRES_PORT: port.default(5433),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_UI_URL: z.url().optional(),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(CONNECTIONS_TASK_QUEUE),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().nonnegative().optional(),

  KMS_KEY_ID: optionalString,
  KMS_ENDPOINT: optionalString.pipe(z.url().optional()),
  AWS_REGION: z.string().default('us-east-1'),
  LOCAL_KEY_FILE: optionalString,

  TEMPORAL_CODEC_KEY: optionalString.pipe(z.base64().optional()),

  OAUTH_SETUP_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(900),
  // Fractions of a second are allowed (short-lived tokens in benchmarks and tests).
  REFRESH_MARGIN_SECONDS: z.coerce.number().nonnegative().default(DEFAULT_REFRESH_MARGIN_SECONDS),
  REFRESH_JITTER_SECONDS: z.coerce.number().nonnegative().default(60),
  REFRESH_MIN_INTERVAL_SECONDS: z.coerce.number().nonnegative().default(30),
  API_KEY_PROBE_INTERVAL_SECONDS: z.coerce.number().int().positive().default(86_400),
  API_KEY_ROTATION_DAYS: z.coerce.number().positive().default(90),
  API_KEY_UNUSED_DAYS: z.coerce.number().positive().default(30),
  PROVIDER_CALL_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(30),
  COMMAND_TIMEOUT_SECONDS: z.coerce.number().positive().max(600).default(DEFAULT_COMMAND_TIMEOUT_SECONDS),
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().positive().default(24),
  CONNECT_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(CONNECT_SESSION_TTL_BOUNDS_SECONDS.min)
    .max(CONNECT_SESSION_TTL_BOUNDS_SECONDS.max)
    .default(DEFAULT_CONNECT_SESSION_TTL_SECONDS),
  CONSOLE_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(CONSOLE_SESSION_TTL_BOUNDS_SECONDS.min)
    .max(CONSOLE_SESSION_TTL_BOUNDS_SECONDS.max)
    .default(DEFAULT_CONSOLE_SESSION_TTL_SECONDS),
  MCP_SESSIONS_MAX: z.coerce
    .number()
    .int()
    .min(MCP_SESSIONS_MAX_BOUNDS.min)
    .max(MCP_SESSIONS_MAX_BOUNDS.max)
    .default(DEFAULT_MCP_SESSIONS.max),
  MCP_SESSION_IDLE_SECONDS: z.coerce
    .number()
    .int()
    .min(MCP_SESSION_IDLE_BOUNDS_SECONDS.min)
    .max(MCP_SESSION_IDLE_BOUNDS_SECONDS.max)
    .default(DEFAULT_MCP_SESSIONS.idleSeconds),
  ALLOW_INSECURE_PROVIDER_URLS: z.stringbool().default(false),
  GRANT_FLUSH_SECONDS: z.coerce.number().int().positive().default(DEFAULT_GRANT_FLUSH_SECONDS),

  RATE_LIMIT_CONNECT_PER_MINUTE: perMinute('connect'),
  RATE_LIMIT_CALLBACK_PER_MINUTE: perMinute('callback'),
  RATE_LIMIT_REFRESH_PER_MINUTE: perMinute('refresh'),
  RATE_LIMIT_CHANGE_PER_MINUTE: perMinute('change'),
  RATE_LIMIT_PROXY_PER_MINUTE: perMinute('proxy'),
  READY_WAITS_PER_CALLER: z.coerce.number().int().positive().default(DEFAULT_READY_WAITS.perCaller),
  READY_WAITS_PER_PROCESS: z.coerce.number().int().positive().default(DEFAULT_READY_WAITS.perProcess),
  // Off, a hop count, or a list of proxy addresses and CIDRs (or loopback, linklocal, uniquelocal) whose
  // X-Forwarded-For is believed. `true` (believe anyone) is refused: any client could then choose its address.
  TRUST_PROXY: z
    .string()
    .trim()
    .default('off')
    .transform((value, ctx): boolean | number | string[] => {
      if (value === '' || value === 'off' || value === 'false') return false;
      if (/^[0-9]{1,2}$/.test(value)) return Number(value);
      const list = value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      try {
        proxyAddr.compile(list);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `off, a hop count, or proxy addresses, CIDRs, loopback, linklocal or uniquelocal (${(error as Error).message})`,
        });
        return z.NEVER;
      }
      return list;
    }),

  RETURN_TO_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ }))),
  WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  WEBHOOK_SECRET: optionalString.pipe(z.string().min(16).optional()),

  AUTH_JWT_SECRET: optionalString.pipe(z.string().min(32).optional()),
  AUTH_JWKS_URL: optionalString.pipe(z.url().optional()),
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  AUTH_JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().positive().default(DEFAULT_JWT_MAX_LIFETIME_SECONDS),
  OPERATOR_JWT_SECRET: optionalString.pipe(z.string().min(32).optional()),
});

/** The variables holding secrets: none of them may hold a published development value (see below). */
const secretVariables = [
  'AUTH_JWT_SECRET',
  'OPERATOR_JWT_SECRET',
  'TEMPORAL_CODEC_KEY',
  'WEBHOOK_SECRET',
] as const;

export type Env = z.input<typeof schema>;

const DAY_MS = 86_400_000;

export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  database: { url: string } | { embedded: { port: number; dir: string } };
  temporal: {
    namespace: string;
    /** TEMPORAL_TASK_QUEUE: where connection workflows run; API and worker must agree. */
    taskQueue: string;
    /** Workflows the worker keeps in memory (sticky cache); the SDK's default (from its memory) when unset. */
    maxCachedWorkflows?: number;
    /** AES-256 key of the payload codec: TEMPORAL_CODEC_KEY (base64), or a file in the data folder. */
    codecKey: { key: string } | { file: string };
  } & ({ address: string; uiUrl?: string } | { dev: { port: number; uiPort: number; dbFile: string } });
  keys:
    | { provider: 'aws-kms'; keyId: string; endpoint?: string; region: string }
    | { provider: 'local'; keyFile: string };
  lifecycle: LifecycleSettings;
  /** http:// and private-network provider URLs, for development and tests only. */
  allowInsecureProviderUrls: boolean;
  /** GRANT_FLUSH_SECONDS: how old the credential grants the API gathers are when it writes them. */
  grantFlushMs: number;
  /** COMMAND_TIMEOUT_SECONDS: how long the API waits for a connection's workflow to answer a command. */
  commandTimeoutMs: number;
  /** IDEMPOTENCY_KEY_TTL_HOURS: how long an Idempotency-Key of a create is remembered. */
  idempotencyKeyTtlMs: number;
  /** CONNECT_SESSION_TTL_SECONDS: how long a connect link works when its creator gives no `ttl`. */
  connectSessionTtlMs: number;
  /** CONSOLE_SESSION_TTL_SECONDS: how long a console session (and its cookie) lasts. */
  consoleSessionTtlMs: number;
  /** Origins (besides PUBLIC_URL's) an OAuth callback may send the browser back to. */
  returnToOrigins: string[];
  /** Where notices about dependents of removed connections are POSTed, signed with the secret. */
  webhook: { url?: string; secret?: string };
  /** Requests a minute per caller (per client address on the OAuth callback), by limit (api/rate-limits.ts). */
  rateLimits: { connect: number; callback: number; refresh: number; change: number; proxy: number };
  /** Ready long-polls waiting at once, per caller and in one API process. */
  readyWaits: { perCaller: number; perProcess: number };
  /** MCP sessions (mcp/): at most `max` in one API process, each closed after `idleMs` without a request. */
  mcpSessions: { max: number; idleMs: number };
  /** TRUST_PROXY for Express's `trust proxy`: false, a hop count, or addresses and CIDRs. */
  trustProxy: boolean | number | string[];
  /** Workspace bearer tokens: verified with the secret or the JWKS. */
  auth: AuthSettings;
  /** Operator tokens (the codec server): OPERATOR_JWT_SECRET, or a file in the data folder; never `auth`'s. */
  operator: { secretFile: string; secret?: string };
  /** No TEMPORAL_ADDRESS and no DATABASE_URL: `npm start` runs the Temporal dev server and Postgres itself. */
  embedded: boolean;
}

export interface AuthSettings {
  jwtSecretFile: string;
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** AUTH_JWT_MAX_LIFETIME_SECONDS: the longest any token (operators' too) may be valid for; default 24 h. */
  maxLifetimeSeconds?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  if (e.AUTH_JWT_SECRET && e.AUTH_JWKS_URL) {
    throw new ConfigError('invalid configuration: set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both');
  }
  if (e.WEBHOOK_URL && !e.WEBHOOK_SECRET) {
    throw new ConfigError('invalid configuration: WEBHOOK_URL is set but WEBHOOK_SECRET is missing');
  }
  if (e.KMS_ENDPOINT && !e.KMS_KEY_ID) {
    throw new ConfigError('invalid configuration: KMS_ENDPOINT is set but KMS_KEY_ID is missing');
  }
  // Without both, any token the identity provider issues to any of its applications would be accepted.
  const missingWithJwks = (['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const).filter((name) => !e[name]);
  if (e.AUTH_JWKS_URL && missingWithJwks.length) {
    throw new ConfigError(
      `invalid configuration: AUTH_JWKS_URL is set, so ${missingWithJwks.join(' and ')} must be set too`,
    );
  }
  if (e.AUTH_JWT_AUDIENCE === OPERATOR_AUDIENCE) {
    throw new ConfigError(`invalid configuration: AUTH_JWT_AUDIENCE must not be ${OPERATOR_AUDIENCE}`);
  }
  if (e.OPERATOR_JWT_SECRET && e.OPERATOR_JWT_SECRET === e.AUTH_JWT_SECRET) {
    throw new ConfigError('invalid configuration: OPERATOR_JWT_SECRET must differ from AUTH_JWT_SECRET');
  }
  const embedded = !e.DATABASE_URL && !e.TEMPORAL_ADDRESS;
  const onLoopback =
    isLoopbackHost(e.HOST) && (!e.PUBLIC_URL || isLoopbackHost(new URL(e.PUBLIC_URL).hostname));
  const published = secretVariables.filter((name) => e[name] !== undefined && isDevelopmentSecret(e[name]));
  if (published.length && !(embedded && onLoopback)) {
    throw new ConfigError(
      `invalid configuration: ${published.join(', ')} ${published.length > 1 ? 'hold' : 'holds'} a published ` +
        'development secret, accepted only by the embedded default on loopback: set fresh random values ' +
        '(npm run compose-env writes them)',
    );
  }
  return {
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/$/, ''),
    dataDir,
    logLevel: e.LOG_LEVEL,
    database: e.DATABASE_URL
      ? { url: e.DATABASE_URL }
      : { embedded: { port: e.EMBEDDED_POSTGRES_PORT, dir: path.join(dataDir, 'postgres') } },
    temporal: {
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      codecKey: e.TEMPORAL_CODEC_KEY
        ? { key: e.TEMPORAL_CODEC_KEY }
        : { file: path.join(dataDir, 'temporal-codec.key') },
      ...(e.TEMPORAL_ADDRESS
        ? { address: e.TEMPORAL_ADDRESS, uiUrl: e.TEMPORAL_UI_URL }
        : {
            dev: {
              port: e.TEMPORAL_DEV_PORT,
              uiPort: e.TEMPORAL_UI_PORT,
              dbFile: path.join(dataDir, 'temporal.sqlite'),
            },
          }),
    },
    keys: e.KMS_KEY_ID
      ? { provider: 'aws-kms', keyId: e.KMS_KEY_ID, endpoint: e.KMS_ENDPOINT, region: e.AWS_REGION }
      : {
          provider: 'local',
          keyFile: path.resolve(e.LOCAL_KEY_FILE ?? path.join(dataDir, 'local-master.key')),
        },
    lifecycle: {
      setupTimeoutMs: e.OAUTH_SETUP_TIMEOUT_SECONDS * 1000,
      refreshMarginMs: Math.round(e.REFRESH_MARGIN_SECONDS * 1000),
      refreshJitterMs: Math.round(e.REFRESH_JITTER_SECONDS * 1000),
      refreshFloorMs: Math.round(e.REFRESH_MIN_INTERVAL_SECONDS * 1000),
      apiKeyProbeIntervalMs: e.API_KEY_PROBE_INTERVAL_SECONDS * 1000,
      keyRotationDueMs: e.API_KEY_ROTATION_DAYS * DAY_MS,
      keyUnusedMs: e.API_KEY_UNUSED_DAYS * DAY_MS,
      activityTimeoutMs: e.PROVIDER_CALL_TIMEOUT_SECONDS * 1000,
    },
    allowInsecureProviderUrls: e.ALLOW_INSECURE_PROVIDER_URLS,
    grantFlushMs: e.GRANT_FLUSH_SECONDS * 1000,
    commandTimeoutMs: Math.round(e.COMMAND_TIMEOUT_SECONDS * 1000),
    idempotencyKeyTtlMs: Math.round(e.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000),
    connectSessionTtlMs: e.CONNECT_SESSION_TTL_SECONDS * 1000,
    consoleSessionTtlMs: e.CONSOLE_SESSION_TTL_SECONDS * 1000,
    returnToOrigins: e.RETURN_TO_ORIGINS.map((origin) => new URL(origin).origin),
    webhook: { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET },
    rateLimits: {
      connect: e.RATE_LIMIT_CONNECT_PER_MINUTE,
      callback: e.RATE_LIMIT_CALLBACK_PER_MINUTE,
      refresh: e.RATE_LIMIT_REFRESH_PER_MINUTE,
      change: e.RATE_LIMIT_CHANGE_PER_MINUTE,
      proxy: e.RATE_LIMIT_PROXY_PER_MINUTE,
    },
    readyWaits: { perCaller: e.READY_WAITS_PER_CALLER, perProcess: e.READY_WAITS_PER_PROCESS },
    mcpSessions: { max: e.MCP_SESSIONS_MAX, idleMs: e.MCP_SESSION_IDLE_SECONDS * 1000 },
    trustProxy: e.TRUST_PROXY,
    auth: {
      jwtSecretFile: path.join(dataDir, 'jwt-secret'),
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_JWT_ISSUER,
      audience: e.AUTH_JWT_AUDIENCE,
      maxLifetimeSeconds: e.AUTH_JWT_MAX_LIFETIME_SECONDS,
    },
    operator: { secretFile: path.join(dataDir, 'operator-secret'), secret: e.OPERATOR_JWT_SECRET },
    embedded,
  };
}

/**
 * Outside the embedded default the API and the worker need their secrets set: one made up in the data folder
 * would differ from one container, or one replica, to the next (an API and a worker with two codec keys
 * cannot read each other's history). Checked when they start, not by every command (`npm run migrate`).
 */
export function assertDeploymentSecrets(config: Config): void {
  if (config.embedded) return;
  const unset = [
    ...(config.auth.jwtSecret || config.auth.jwksUrl ? [] : ['AUTH_JWT_SECRET (or AUTH_JWKS_URL)']),
    ...(config.operator.secret ? [] : ['OPERATOR_JWT_SECRET']),
    ...('key' in config.temporal.codecKey ? [] : ['TEMPORAL_CODEC_KEY']),
  ];
  if (unset.length) {
    throw new ConfigError(
      `invalid configuration: with DATABASE_URL or TEMPORAL_ADDRESS set, ${unset.join(', ')} must be set too`,
    );
  }
}
