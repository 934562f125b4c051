// CONSOLE_SESSION_TTL_SECONDS: a console session's (and its cookie's) lifetime, an hour unless configured,
// and refused at start-up, by name, outside five minutes to a day.
import { ConfigError, loadConfig } from '../../config/config.js';

describe('CONSOLE_SESSION_TTL_SECONDS', () => {
  it('defaults to an hour and takes whole seconds from 300 to 86400', () => {
    expect(loadConfig({}).consoleSessionTtlMs).toBe(3_600_000);
    expect(loadConfig({ CONSOLE_SESSION_TTL_SECONDS: '300' }).consoleSessionTtlMs).toBe(300_000);
    expect(loadConfig({ CONSOLE_SESSION_TTL_SECONDS: '86400' }).consoleSessionTtlMs).toBe(86_400_000);
  });

  it.each(['299', '86401', '900.5', 'soon'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ CONSOLE_SESSION_TTL_SECONDS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CONSOLE_SESSION_TTL_SECONDS: value })).toThrow(/CONSOLE_SESSION_TTL_SECONDS/);
  });
});
