// Where data keys come from. AWS KMS (or any server speaking its API) in production; a local key file for
// the embedded default. Both bind every data key to its encryption context, so a wrapped key taken from one
// connection cannot be unwrapped for another. A provider never sees credential plaintext, only data keys.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import type { Logger } from '../logging/logger.js';
import { canonicalContext, type EncryptionContext } from './encryption-context.js';

export interface DataKey {
  plaintext: Buffer;
  /** The data key wrapped by the provider; safe to store beside the ciphertext. */
  wrapped: Buffer;
  /** Identifies the wrapping key, so a rotated master key can still unwrap old data keys. */
  keyId: string;
}

export interface KeyProvider {
  readonly name: 'aws-kms' | 'local';
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer>;
  /** Throws when the provider cannot be used (for /readyz). */
  check(): Promise<void>;
}

export class KeyProviderError extends Error {
  override name = 'KeyProviderError';
}

export class AwsKmsKeyProvider implements KeyProvider {
  readonly name = 'aws-kms';
  private readonly client: KMSClient;

  constructor(
    private readonly keyId: string,
    clientConfig: KMSClientConfig = {},
  ) {
    this.client = new KMSClient({ maxAttempts: 3, ...clientConfig });
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const out = await this.client.send(
      new GenerateDataKeyCommand({
        KeyId: this.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: { ...context },
      }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new KeyProviderError('KMS returned no data key');
    return {
      plaintext: Buffer.from(out.Plaintext),
      wrapped: Buffer.from(out.CiphertextBlob),
      keyId: out.KeyId ?? this.keyId,
    };
  }

  async unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    try {
      const out = await this.client.send(
        new DecryptCommand({ CiphertextBlob: wrapped, KeyId: keyId, EncryptionContext: { ...context } }),
      );
      if (!out.Plaintext) throw new KeyProviderError('KMS returned no plaintext');
      return Buffer.from(out.Plaintext);
    } catch (error) {
      // KMS answers InvalidCiphertextException for a wrong context as for a damaged blob; say neither.
      throw new KeyProviderError(`KMS could not unwrap the data key (${(error as Error).name})`);
    }
  }

  async check(): Promise<void> {
    const out = await this.client.send(new DescribeKeyCommand({ KeyId: this.keyId }));
    if (out.KeyMetadata?.Enabled === false) throw new KeyProviderError('KMS key is disabled');
  }

  destroy(): void {
    this.client.destroy();
  }
}

const LOCAL_KEY_ID = 'local:v1';

/**
 * A 256-bit master key in a file (mode 0600), created on first use. For development only: whoever can read
 * the file can read every credential.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly name = 'local';

  private constructor(private readonly masterKey: Buffer) {}

  static async open(keyFile: string, logger?: Logger): Promise<LocalKeyProvider> {
    let key: Buffer;
    try {
      key = Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64');
      const mode = (await stat(keyFile)).mode & 0o777;
      if (mode & 0o077) {
        logger?.warn({ keyFile, mode: mode.toString(8) }, 'local key file is readable by other users');
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      key = randomBytes(32);
      await mkdir(path.dirname(keyFile), { recursive: true });
      await writeFile(keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      logger?.warn(
        { keyFile },
        'created a local master key: for development only; set KMS_KEY_ID to use AWS KMS in production',
      );
    }
    if (key.length !== 32)
      throw new KeyProviderError(`local key file ${keyFile} does not hold a 256-bit key`);
    return new LocalKeyProvider(key);
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(canonicalContext(context)));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, wrapped: Buffer.concat([iv, cipher.getAuthTag(), body]), keyId: LOCAL_KEY_ID };
  }

  async unwrapDataKey(wrapped: Buffer, keyId: string, context: EncryptionContext): Promise<Buffer> {
    if (keyId !== LOCAL_KEY_ID) throw new KeyProviderError(`unknown local key id ${keyId}`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, wrapped.subarray(0, 12));
      decipher.setAAD(Buffer.from(canonicalContext(context)));
      decipher.setAuthTag(wrapped.subarray(12, 28));
      return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
    } catch {
      throw new KeyProviderError('the local key could not unwrap the data key');
    }
  }

  async check(): Promise<void> {}
}
