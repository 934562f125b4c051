// What an activity's failure says to the workflow (and so to Temporal history and the API): a classification,
// permanent or temporary, and a message of fixed words, names and codes. Never the input or the raw error,
// which can carry a credential.
import { ApplicationFailure } from '@temporalio/activity';
import { classify, withClassifiedFailures } from '../../activities/failures.js';
import { createLogger } from '../../logging/logger.js';
import { ProviderError } from '../../providers/provider-error.js';
import { DecryptionError } from '../../vault/credential-vault.js';
import { KeyProviderError } from '../../vault/key-provider.js';

const secret = 'sk-live-0123456789abcdef';

describe('activity failures', () => {
  it.each([
    [
      'a TypeError quoting the header value it refused',
      new TypeError(`Headers.set: "Bearer ${secret}\ndef" is an invalid header value.`),
      'InternalError',
      true,
    ],
    [
      'a database error quoting its query values',
      Object.assign(new Error(`insert into credentials values ('${secret}') - value too long`), {
        code: '22001',
      }),
      'InvalidData',
      true,
    ],
    [
      'a database that went away',
      Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:5432 (${secret})`), { code: 'ECONNREFUSED' }),
      'DatabaseUnavailable',
      false,
    ],
    [
      "knex's pool timeout",
      Object.assign(new Error(`Knex: Timeout acquiring a connection (${secret})`), {
        name: 'KnexTimeoutError',
      }),
      'DatabaseUnavailable',
      false,
    ],
    ['a ciphertext that does not open', new DecryptionError(), 'CredentialUnreadable', true],
    ['the key service', new KeyProviderError(`KMS said ${secret}`), 'KeyServiceUnavailable', false],
    [
      'an AWS SDK error',
      Object.assign(new Error(`AccessDenied for ${secret}`), {
        name: 'AccessDeniedException',
        $metadata: {},
      }),
      'KeyServiceUnavailable',
      false,
    ],
    ['anything else', new Error(`surprise: ${secret}`), 'InternalError', false],
    ['a thrown string', secret, 'InternalError', false],
  ])('classifies %s without repeating it', (_what, error, type, permanent) => {
    const failure = classify(error, 'storeApiKey');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(permanent);
    expect(failure.message).toMatch(/^storeApiKey/);
    expect(failure.message).not.toContain(secret);
    expect(failure.cause).toBeUndefined();
  });

  it('maps provider answers: a refused grant and a refusal are permanent, an outage and a 429 are not', () => {
    expect(classify(new ProviderError('invalid_grant', 'refresh: invalid_grant'), 'x')).toMatchObject({
      type: 'CredentialRejected',
      nonRetryable: true,
    });
    expect(classify(new ProviderError('rejected', 'refused'), 'x')).toMatchObject({
      type: 'ProviderRejected',
      nonRetryable: true,
    });
    expect(classify(new ProviderError('unavailable', 'HTTP 503', 503, 2_000), 'x')).toMatchObject({
      type: 'ProviderUnavailable',
      nonRetryable: false,
      nextRetryDelay: 2_000,
    });
    expect(classify(new ProviderError('rate_limited', 'HTTP 429', 429), 'x')).toMatchObject({
      type: 'ProviderRateLimited',
      nonRetryable: false,
    });
  });

  it('wraps every activity so that only classified failures leave it, and logs what it replaced', async () => {
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => lines.push(line) });
    const wrapped = withClassifiedFailures(
      {
        async ok() {
          return 'fine';
        },
        async bad(): Promise<string> {
          throw new TypeError('invalid header value');
        },
      },
      logger,
    );
    await expect(wrapped.ok()).resolves.toBe('fine');
    await expect(wrapped.bad()).rejects.toMatchObject({ type: 'InternalError', nonRetryable: true });
    expect(lines.join('')).toMatch(/"activity":"bad"/);
  });
});
