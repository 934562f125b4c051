import path from 'node:path';
import { ConfigError, loadConfig } from '../../config/config.js';

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
});
