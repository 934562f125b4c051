// CONNECT_SESSION_TTL_SECONDS: a connect link's default lifetime, 30 minutes unless configured, and refused
// at start-up, by name, outside a minute to a day (the bounds of a request's own `ttl`).
import { ConfigError, loadConfig } from '../../config/config.js';

describe('CONNECT_SESSION_TTL_SECONDS', () => {
  it('defaults to 30 minutes and takes whole seconds from 60 to 86400', () => {
    expect(loadConfig({}).connectSessionTtlMs).toBe(1_800_000);
    expect(loadConfig({ CONNECT_SESSION_TTL_SECONDS: '60' }).connectSessionTtlMs).toBe(60_000);
    expect(loadConfig({ CONNECT_SESSION_TTL_SECONDS: '86400' }).connectSessionTtlMs).toBe(86_400_000);
  });

  it.each(['59', '86401', '90.5', 'soon'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ CONNECT_SESSION_TTL_SECONDS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CONNECT_SESSION_TTL_SECONDS: value })).toThrow(/CONNECT_SESSION_TTL_SECONDS/);
  });
});
