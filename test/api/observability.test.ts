// What operators and abusers see of the API: security headers, Prometheus metrics, request logs without
// credentials, and rate limits answered 429 with Retry-After.
import { createLogger } from '../../logging/logger.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { connectThroughProvider } from '../support/lifecycle.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';

describe('API observability and limits', () => {
  let api: ApiHarness;
  const lines: string[] = [];
  beforeAll(async () => {
    api = await startApiHarness({
      logger: createLogger('info', { write: (line: string) => lines.push(line) }),
      rateLimits: { connect: 2, callback: 100, refresh: 100 },
    });
  });
  afterAll(async () => api?.stop());

  it('sends security headers', async () => {
    const { headers } = await api.call('GET', '/healthz');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(headers.get('x-powered-by')).toBeNull();
  });

  it('exposes connections by status, transitions and request latency by route at /metrics', async () => {
    await connectThroughProvider(api, (url) => authorizeInBrowser(url));
    await api.call('GET', '/readyz');
    const { status, body } = await api.call('GET', '/metrics');
    expect(status).toBe(200);
    expect(body).toMatch(/^connections\{status="active"\} [1-9]/m);
    expect(body).toMatch(/^connection_transitions_total\{from="pending",to="active"\} [1-9]/m);
    expect(body).toMatch(
      /^http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\} [1-9]/m,
    );
    expect(body).not.toContain(api.workspaceId);
  });

  it('answers 429 rate_limited with Retry-After past the connect limit', async () => {
    const token = await api.token({ role: 'admin' });
    const body = { integration: 'nope', scope: 'workspace' };
    await api.call('POST', '/v1/connections', { token, body });
    await api.call('POST', '/v1/connections', { token, body });
    const limited = await api.call('POST', '/v1/connections', { token, body });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('logs one line per request, without the bearer token', async () => {
    const token = await api.token({ role: 'admin' });
    await api.call('GET', '/v1/connections', { token });
    const requestLines = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
    expect(requestLines.length).toBeGreaterThan(3);
    expect(requestLines[0]).toEqual(
      expect.objectContaining({ method: expect.any(String), status: expect.any(Number) }),
    );
    expect(lines.join('\n')).not.toContain(token);
  });

  it('redacts credentials by name wherever they sit in a logged object', () => {
    const secret = 'sk-live-redaction-probe-42';
    api.addSecret(secret);
    api.logger.warn(
      {
        apiKey: secret,
        provider: { access_token: secret, refreshToken: secret },
        req: { headers: { authorization: `Bearer ${secret}` } },
        nested: { deeper: { clientSecret: secret } },
      },
      'redaction probe',
    );
    const probe = api.logLines.find((line) => line.includes('redaction probe'))!;
    expect(probe).toBeDefined();
    expect(probe).not.toContain(secret);
    expect(probe).toContain('[redacted]');
  });
});
