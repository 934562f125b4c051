// What reaches a log line: values under secret names at any depth, errors and their causes, the secret values
// this process knows (its own keys, the credentials its vault sealed or opened) wherever they appear, and
// token-shaped strings. Every test logs through the service's own logger into memory and reads the lines.
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createLogger } from '../../logging/logger.js';
import { KnownSecrets, knownSecrets } from '../../logging/known-secrets.js';
import { loadCodecKey } from '../../temporal/codec-key.js';
import { CredentialVault } from '../../vault/index.js';
import { LocalKeyProvider } from '../../vault/key-provider.js';

function capture(level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => lines.push(line) });
  return { logger, lines, text: () => lines.join('') };
}

const fresh = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

describe('log redaction by name', () => {
  it('redacts a secret at depth 6 under a secret name, and in headers and arrays', () => {
    const { logger, lines } = capture();
    const secret = fresh('probe-');
    logger.warn(
      {
        a: { b: { c: { d: { e: { clientSecret: secret } } } } },
        request: { headers: { Authorization: `Token ${secret}`, 'x-api-key': secret, cookie: secret } },
        list: [{ access_token: secret }, { nested: [{ refresh_token: secret }] }],
      },
      'depth probe',
    );
    const line = JSON.parse(lines[0]!);
    expect(lines[0]).not.toContain(secret);
    expect(line.a.b.c.d.e.clientSecret).toBe('[redacted]');
    expect(line.request.headers).toEqual({
      Authorization: '[redacted]',
      'x-api-key': '[redacted]',
      cookie: '[redacted]',
    });
    expect(line.list[1].nested[0].refresh_token).toBe('[redacted]');
  });

  it('writes errors with their message, stack, code, cause and nested errors, each redacted', () => {
    const { logger, lines } = capture();
    const secret = fresh('cause-');
    const cause = Object.assign(new Error('the provider refused'), {
      code: 'OAuthInvalidGrant',
      apiKey: secret,
    });
    const error = new AggregateError([new TypeError('first'), new RangeError('second')], 'all failed', {
      cause,
    });
    logger.error({ err: error }, 'failed');
    const { err } = JSON.parse(lines[0]!);
    expect(err).toMatchObject({
      type: 'AggregateError',
      message: 'all failed',
      stack: expect.stringContaining('AggregateError: all failed'),
      cause: {
        type: 'Error',
        message: 'the provider refused',
        code: 'OAuthInvalidGrant',
        apiKey: '[redacted]',
      },
      errors: [
        { type: 'TypeError', message: 'first' },
        { type: 'RangeError', message: 'second' },
      ],
    });
    expect(lines[0]).not.toContain(secret);
  });

  it('is bounded and safe: cycles, very deep objects, binary data and URLs', () => {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { bottom: true };
    for (let i = 0; i < 50; i++) deep = { deeper: deep };
    const payload = Buffer.from(fresh('binary-'));
    const secret = fresh('query-');
    const url = new URL(`https://p.example/cb?q=${secret}&access_token=${secret}`);
    logger.info({ cyclic, deep, payload, url }, 'shapes');
    const line = JSON.parse(lines[0]!);
    expect(line.cyclic).toEqual({ name: 'loop', self: '[circular]' });
    expect(JSON.stringify(line.deep)).toContain('[depth limit]');
    expect(line.payload).toBe(`[${payload.length} bytes]`);
    expect(lines[0]).not.toContain(payload.toString());
    // A URL is logged as its text: a parameter named like a secret is scrubbed; an unknown value under an
    // ordinary name does reach the line (a positive control for the capture).
    expect(line.url).toBe(`https://p.example/cb?q=${secret}&access_token=[redacted]`);
  });
});

describe('log scrubbing of known secret values', () => {
  it('scrubs a known secret from an error message and its stack', () => {
    const { logger, lines, text } = capture();
    const secret = fresh('sk-live-');
    knownSecrets.add(secret);
    const error = new Error(`provider answered 401 for key ${secret}`);
    logger.error({ err: error }, 'verification failed');
    logger.error(error);
    logger.warn(`interpolated %s`, secret);
    expect(lines).toHaveLength(3);
    expect(text()).not.toContain(secret);
    const first = JSON.parse(lines[0]!);
    expect(first.err.message).toBe('provider answered 401 for key [redacted]');
    expect(first.err.stack).toContain('provider answered 401 for key [redacted]');
    expect(JSON.parse(lines[1]!).msg).toBe('provider answered 401 for key [redacted]');
  });

  it('scrubs a known secret deep inside a Temporal-SDK-shaped meta object, and in child bindings', () => {
    const { logger, text } = capture();
    const secret = fresh('refresh-');
    knownSecrets.add(secret);
    // What worker/create-worker.ts logs for the SDK: `{ temporal: meta }`, meta carrying a failure chain.
    const failure = new Error('Activity task failed', {
      cause: Object.assign(new Error(`invalid_grant for ${secret}`), {
        failure: { applicationFailureInfo: { details: { payloads: [{ data: secret }] } } },
      }),
    });
    logger.warn(
      { temporal: { sdkComponent: 'worker', taskQueue: 'connections', error: failure, attempt: { n: 3 } } },
      'Activity failed',
    );
    logger.child({ connection: { label: `key ${secret}` } }).info('child line');
    expect(text()).toContain('Activity failed');
    expect(text()).toContain('invalid_grant for [redacted]');
    expect(text()).not.toContain(secret);
  });

  it('scrubs the credentials the vault seals and opens, and the keys the process loads', async () => {
    const { logger, text } = capture();
    const keyFile = path.join(await mkdtemp(path.join(tmpdir(), 'log-secrets-')), 'local.key');
    const vault = new CredentialVault(await LocalKeyProvider.open(keyFile));
    const context = { workspace: 'ws', connection: 'c', purpose: 'oauth_tokens' } as const;
    const tokens = { accessToken: fresh('at-'), refreshToken: fresh('rt-'), tokenType: 'Bearer' };
    await vault.seal(context, JSON.stringify(tokens));
    // Sealed elsewhere (another process: a registry of its own), opened here.
    const apiKey = fresh('key with spaces and "quotes" ');
    const elsewhere = new CredentialVault(await LocalKeyProvider.open(keyFile), new KnownSecrets());
    const keyContext = { ...context, purpose: 'api_key' } as const;
    await vault.open(keyContext, await elsewhere.seal(keyContext, apiKey));
    const codecKey = randomBytes(32).toString('base64');
    await loadCodecKey({ key: codecKey });

    logger.error(
      { provider: { answer: `{"at":"${tokens.accessToken}","rt":"${tokens.refreshToken}"}` } },
      `refresh failed: ${tokens.refreshToken}; key ${apiKey}; codec ${codecKey}`,
    );
    logger.warn({ redirect: `https://p.example/cb?next=${encodeURIComponent(apiKey)}` }, 'redirect');
    expect(text()).toContain('refresh failed: [redacted]');
    const inLine = (value: string) => JSON.stringify(value).slice(1, -1);
    for (const secret of [tokens.accessToken, tokens.refreshToken, inLine(apiKey), codecKey]) {
      expect(text()).not.toContain(secret);
    }
    expect(text()).not.toContain(encodeURIComponent(apiKey));
  });

  it('leaves an unknown value alone (positive control: the capture would show a secret)', () => {
    const { logger, text } = capture();
    const unknown = fresh('not-registered-');
    logger.warn({ note: unknown }, `message with ${unknown}`);
    expect(text()).toContain(unknown);
  });

  it('scrubs token shapes it was never told about: JWTs, Bearer and Basic credentials, provider prefixes', async () => {
    const { logger, text } = capture();
    const jwt = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).sign(randomBytes(32));
    const opaque = randomBytes(24).toString('base64url');
    const github = `ghp_${randomBytes(20).toString('hex')}`;
    const slack = `xoxb-${randomBytes(12).toString('hex')}`;
    logger.warn(
      { upstream: `GET /x -> 401 (authorization: Bearer ${opaque})` },
      `token ${jwt} refused; Basic ${opaque}; ${github} ${slack}`,
    );
    for (const secret of [jwt, opaque, github, slack]) expect(text()).not.toContain(secret);
    expect(text()).toContain('Bearer [redacted]');
    // Words stay words.
    logger.warn('a bearer token is required');
    expect(text()).toContain('a bearer token is required');
  });

  it('forgets the oldest credentials past its bound, never the pinned keys', () => {
    const registry = new KnownSecrets(2);
    const [pinned, first, second, third] = [fresh('p-'), fresh('a-'), fresh('b-'), fresh('c-')];
    registry.add(pinned, { pinned: true });
    for (const value of [first, second, third]) registry.add(value);
    const scrubbed = registry.scrub(`${pinned} ${first} ${second} ${third}`);
    expect(scrubbed).toBe(`[redacted] ${first} [redacted] [redacted]`);
  });

  it('scrubs overlapping and adjacent secrets, and values of any length past the minimum', () => {
    const registry = new KnownSecrets();
    const long = randomBytes(300).toString('hex');
    registry.add(long);
    registry.add(long.slice(100, 140));
    registry.add('exactly12chr');
    expect(registry.scrub(`<${long}>`)).toBe('<[redacted]>');
    expect(registry.scrub(`x${long.slice(100, 140)}exactly12chrx`)).toBe('x[redacted][redacted]x');
    expect(registry.scrub('short')).toBe('short');
  });
});
