// Envelope encryption through both key providers: the real KMS API (local-kms on loopback) and the local key
// file. What a user relies on: the round trip works, and a ciphertext opens only for the exact context it
// was sealed for, undamaged.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CredentialVault, DecryptionError, type EncryptionContext } from '../../vault/index.js';
import { AwsKmsKeyProvider, LocalKeyProvider, type KeyProvider } from '../../vault/key-provider.js';
import { createLogger } from '../../logging/logger.js';
import { testEnv, testKeyProvider } from '../support/env.js';

const secret = 'ya29.a0-refresh-me-not-5f1b2c3d4e';
const context: EncryptionContext = {
  workspace: 'ws_1',
  connection: 'c0ffee00-0000-4000-8000-000000000001',
  purpose: 'oauth_tokens',
};

const kmsProvider = () => testKeyProvider();

async function localProvider(): Promise<LocalKeyProvider> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vault-'));
  return LocalKeyProvider.open(path.join(dir, 'master.key'), createLogger('silent'));
}

describe.each([
  ['AWS KMS API (local-kms on loopback)', kmsProvider],
  ['local key file', localProvider],
] as const)('CredentialVault with %s', (_name, makeProvider: () => Promise<KeyProvider> | KeyProvider) => {
  let vault: CredentialVault;
  beforeAll(async () => {
    vault = new CredentialVault(await makeProvider());
  });

  it('round-trips a credential without keeping its plaintext in the envelope', async () => {
    const sealed = await vault.seal(context, secret);
    expect(JSON.stringify(sealed)).not.toContain(secret);
    expect(await vault.openText(context, sealed)).toBe(secret);
  });

  it('uses a fresh data key for every credential', async () => {
    const a = await vault.seal(context, secret);
    const b = await vault.seal(context, secret);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it.each([
    ['another purpose', { ...context, purpose: 'api_key' }],
    ['another workspace', { ...context, workspace: 'ws_2' }],
    ['another connection', { ...context, connection: 'c0ffee00-0000-4000-8000-000000000002' }],
  ] as const)('refuses to decrypt for %s', async (_label, wrong) => {
    const sealed = await vault.seal(context, secret);
    await expect(vault.open(wrong as EncryptionContext, sealed)).rejects.toBeInstanceOf(DecryptionError);
  });

  it.each(['ciphertext', 'tag', 'iv', 'wrappedKey'] as const)(
    'refuses a flipped byte in the %s',
    async (field) => {
      const sealed = await vault.seal(context, secret);
      const bytes = Buffer.from(sealed[field], 'base64');
      bytes[bytes.length - 1]! ^= 0x01;
      await expect(
        vault.open(context, { ...sealed, [field]: bytes.toString('base64') }),
      ).rejects.toBeInstanceOf(DecryptionError);
    },
  );

  it("refuses another connection's ciphertext presented as this one's", async () => {
    const other = { ...context, connection: 'c0ffee00-0000-4000-8000-000000000003' };
    const theirs = await vault.seal(other, 'their-secret');
    const ours = await vault.seal(context, secret);
    // Swap in their data key and ciphertext under our context: must not open.
    await expect(
      vault.open(context, {
        ...ours,
        wrappedKey: theirs.wrappedKey,
        iv: theirs.iv,
        tag: theirs.tag,
        ciphertext: theirs.ciphertext,
      }),
    ).rejects.toBeInstanceOf(DecryptionError);
    await expect(vault.open(context, { ...ours, ciphertext: theirs.ciphertext })).rejects.toBeInstanceOf(
      DecryptionError,
    );
  });

  it('says nothing about the credential or the check that failed', async () => {
    const sealed = await vault.seal(context, secret);
    const error = await vault.open({ ...context, purpose: 'api_key' }, sealed).catch((e: Error) => e);
    expect((error as Error).message).toBe('credential could not be decrypted for this context');
  });

  it('reports itself usable', async () => {
    await expect(vault.keys.check()).resolves.toBeUndefined();
  });
});

describe('LocalKeyProvider', () => {
  it('creates its key file with mode 0600 on first use and warns that it is for development', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vault-'));
    const keyFile = path.join(dir, 'nested', 'master.key');
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => lines.push(line) });
    const first = await LocalKeyProvider.open(keyFile, logger);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(lines.join('\n')).toMatch(/for development only/);
    expect(lines.join('\n')).not.toContain((await readFile(keyFile, 'utf8')).trim());

    // The same file opens again and decrypts what the first instance sealed.
    const sealed = await new CredentialVault(first).seal(context, secret);
    const second = await LocalKeyProvider.open(keyFile, logger);
    expect(await new CredentialVault(second).openText(context, sealed)).toBe(secret);
  });

  it('cannot open what another key sealed', async () => {
    const sealed = await new CredentialVault(await localProvider()).seal(context, secret);
    await expect(new CredentialVault(await localProvider()).open(context, sealed)).rejects.toBeInstanceOf(
      DecryptionError,
    );
  });
});

describe('AwsKmsKeyProvider', () => {
  it('fails its check against a key that does not exist', async () => {
    const provider = new AwsKmsKeyProvider('00000000-0000-4000-8000-000000000000', {
      endpoint: testEnv.kmsEndpoint,
      region: 'eu-west-2',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await expect(provider.check()).rejects.toThrow();
  });
});
