import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { assertDeploymentSecrets, ConfigError, loadConfig } from '../../config/config.js';
import { projectRoot } from '../../platform/process.js';
import { RateLimits } from '../../api/rate-limits.js';
import { ReadyWaits } from '../../agent-access/ready.js';
import { defaultMcpSessionLimits } from '../../mcp/mcp-sessions.js';

describe('loadConfig', () => {
  it('defaults to the embedded Temporal, Postgres and local key in the data folder', () => {
    const config = loadConfig({ DATA_DIR: '/srv/connections' });
    expect(config.database).toEqual({ embedded: { port: 5433, dir: '/srv/connections/postgres' } });
    expect(config.temporal).toMatchObject({
      namespace: 'default',
      taskQueue: 'connections',
      dev: { port: 7233, uiPort: 8233, dbFile: '/srv/connections/temporal.sqlite' },
    });
    expect(config.keys).toEqual({ provider: 'local', keyFile: '/srv/connections/local-master.key' });
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
  });

  it('has the defaults that parts built without a configuration fall back on', () => {
    const config = loadConfig({});
    expect(config.rateLimits).toEqual({ connect: 30, callback: 60, refresh: 30, change: 30, proxy: 6_000 });
    expect(new RateLimits().settings).toEqual(config.rateLimits);
    expect(config.readyWaits).toEqual({ perCaller: 10, perProcess: 10_000 });
    expect(new ReadyWaits().limits).toEqual(config.readyWaits);
    expect(config.lifecycle.refreshMarginMs).toBe(300_000);
    expect(config.grantFlushMs).toBe(120_000);
    expect(config.mcpSessions).toEqual({ max: 1_000, idleMs: 900_000 });
    expect({ max: defaultMcpSessionLimits.max, idleMs: defaultMcpSessionLimits.idleMs }).toEqual(
      config.mcpSessions,
    );
  });

  it('takes the MCP session bounds within their limits, and refuses others with the name', () => {
    expect(loadConfig({ MCP_SESSIONS_MAX: '50', MCP_SESSION_IDLE_SECONDS: '60' }).mcpSessions).toEqual({
      max: 50,
      idleMs: 60_000,
    });
    for (const env of [
      { MCP_SESSIONS_MAX: '0' },
      { MCP_SESSIONS_MAX: '100001' },
      { MCP_SESSION_IDLE_SECONDS: '29' },
      { MCP_SESSION_IDLE_SECONDS: 'soon' },
    ]) {
      expect(() => loadConfig(env)).toThrow(new RegExp(Object.keys(env)[0]!));
    }
  });

  // What the API and the worker need besides, with external services.
  const externalSecrets = {
    AUTH_JWT_SECRET: 'a'.repeat(32),
    OPERATOR_JWT_SECRET: 'o'.repeat(32),
    TEMPORAL_CODEC_KEY: Buffer.alloc(32, 7).toString('base64'),
  };

  it('switches to external services and AWS KMS when they are configured', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/connections',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'prod',
      KMS_KEY_ID: 'alias/connections',
      KMS_ENDPOINT: 'http://kms:8080',
      AWS_REGION: 'eu-west-1',
    });
    expect(config.database).toEqual({ url: 'postgres://u:p@db:5432/connections' });
    expect(config.temporal).toEqual({
      namespace: 'prod',
      taskQueue: 'connections',
      address: 'temporal:7233',
      uiUrl: undefined,
      codecKey: { file: path.resolve('.data/temporal-codec.key') },
    });
    expect(config.keys).toEqual({
      provider: 'aws-kms',
      keyId: 'alias/connections',
      endpoint: 'http://kms:8080',
      region: 'eu-west-1',
    });
  });

  it.each([
    [{ DATABASE_URL: 'postgres://u:p@db:5432/c' }, 'DATABASE_URL'],
    [{ TEMPORAL_ADDRESS: 'temporal:7233' }, 'TEMPORAL_ADDRESS'],
  ])(
    'requires the secrets outside the embedded default, naming each missing one: %o',
    (external: Record<string, string>, _name: string) => {
      const start = (env: Record<string, string>) => () => assertDeploymentSecrets(loadConfig(env));
      expect(start(external)).toThrow(ConfigError);
      expect(start(external)).toThrow(
        /set, AUTH_JWT_SECRET \(or AUTH_JWKS_URL\), OPERATOR_JWT_SECRET, TEMPORAL_CODEC_KEY must be set too/,
      );
      const { OPERATOR_JWT_SECRET: _unset, ...others } = externalSecrets;
      expect(start({ ...external, ...others })).toThrow(/set, OPERATOR_JWT_SECRET must be set too/);
      expect(start({ ...external, ...externalSecrets })).not.toThrow();
      // The embedded default makes its own; other commands (npm run migrate) need none of them.
      expect(start({})).not.toThrow();
      expect(loadConfig(external).embedded).toBe(false);
    },
  );

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ AUTH_JWT_SECRET: 'short' }, /AUTH_JWT_SECRET/],
    [{ KMS_ENDPOINT: 'http://kms:8080' }, /KMS_KEY_ID is missing/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('fails with the name of the bad variable: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('does not echo a rejected secret in its error', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'tiny-secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('tiny-secret') }),
    );
  });

  it('reads TRUST_PROXY as off, a hop count or proxy addresses, and refuses anything else', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,::1' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      '::1',
    ]);
    for (const value of ['true', 'proxy.example', '10.0.0.0/33']) {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
    }
  });

  it('takes the operator secret and the token lifetime, and refuses what would mix the two credentials', () => {
    const config = loadConfig({ DATA_DIR: '/srv/connections', OPERATOR_JWT_SECRET: 'o'.repeat(32) });
    expect(config.operator).toEqual({
      secretFile: '/srv/connections/operator-secret',
      secret: 'o'.repeat(32),
    });
    expect(config.auth.maxLifetimeSeconds).toBe(86_400);
    expect(loadConfig({ AUTH_JWT_MAX_LIFETIME_SECONDS: '3600' }).auth.maxLifetimeSeconds).toBe(3600);
    expect(() => loadConfig({ OPERATOR_JWT_SECRET: 'short' })).toThrow(/OPERATOR_JWT_SECRET/);
    expect(() => loadConfig({ AUTH_JWT_MAX_LIFETIME_SECONDS: '0' })).toThrow(/AUTH_JWT_MAX_LIFETIME_SECONDS/);
    expect(() =>
      loadConfig({ OPERATOR_JWT_SECRET: 's'.repeat(40), AUTH_JWT_SECRET: 's'.repeat(40) }),
    ).toThrow(/OPERATOR_JWT_SECRET must differ from AUTH_JWT_SECRET/);
    expect(() =>
      loadConfig({
        AUTH_JWKS_URL: 'https://idp.example/jwks',
        AUTH_JWT_ISSUER: 'https://idp.example',
        AUTH_JWT_AUDIENCE: 'connections-operator',
      }),
    ).toThrow(/AUTH_JWT_AUDIENCE must not be connections-operator/);
  });
});

describe('published development secrets', () => {
  const jwtSecret = 'change-me-this-is-a-development-secret-only';
  const codecKey = 'ZGV2ZWxvcG1lbnQtb25seS1jb2RlYy1rZXktMzJieXQ=';
  const external = { DATABASE_URL: 'postgres://u:p@db:5432/connections', TEMPORAL_ADDRESS: 'temporal:7233' };

  it.each([
    ['an external deployment', { ...external, HOST: '0.0.0.0' }],
    ['an external deployment on loopback', { ...external }],
    ['the embedded default listening on every interface', { HOST: '0.0.0.0' }],
    ['the embedded default behind a public URL', { PUBLIC_URL: 'https://connections.example' }],
    ['an external database only', { DATABASE_URL: external.DATABASE_URL }],
  ])('are refused by %s, named but never echoed', (_case, env) => {
    for (const secrets of [
      { AUTH_JWT_SECRET: jwtSecret },
      { TEMPORAL_CODEC_KEY: codecKey },
      { OPERATOR_JWT_SECRET: jwtSecret },
      { WEBHOOK_SECRET: jwtSecret, WEBHOOK_URL: 'https://hooks.example/x' },
    ]) {
      const attempt = () => loadConfig({ ...env, ...secrets });
      expect(attempt).toThrow(ConfigError);
      const name = Object.keys(secrets)[0]!;
      expect(attempt).toThrow(new RegExp(`${name} holds a published development secret`));
      expect(attempt).toThrow(expect.objectContaining({ message: expect.not.stringContaining(jwtSecret) }));
      expect(attempt).toThrow(expect.objectContaining({ message: expect.not.stringContaining('ZGV2ZWxv') }));
    }
  });

  it.each([
    ['127.0.0.1', {}],
    ['localhost', { HOST: 'localhost' }],
    ['::1', { HOST: '::1', PUBLIC_URL: 'http://[::1]:3000' }],
    ['127.0.0.2 with a loopback PUBLIC_URL', { HOST: '127.0.0.2', PUBLIC_URL: 'http://localhost:3000' }],
  ])('are accepted by the embedded default on loopback (%s)', (_case, env) => {
    const config = loadConfig({ ...env, AUTH_JWT_SECRET: jwtSecret, TEMPORAL_CODEC_KEY: codecKey });
    expect(config.embedded).toBe(true);
    expect(config.auth.jwtSecret).toBe(jwtSecret);
  });

  it('stop npm run api from starting, with a message naming the variable', async () => {
    const outcome = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/serve.ts', 'api'],
      {
        cwd: projectRoot,
        env: { ...process.env, ...external, HOST: '0.0.0.0', AUTH_JWT_SECRET: jwtSecret },
        timeout: 60_000,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toContain('AUTH_JWT_SECRET holds a published development secret');
    expect(outcome.stderr).not.toContain(jwtSecret);
  });
});
