// Envelope encryption of credentials: each credential gets a fresh data key from the key provider, is sealed
// with AES-256-GCM under it, and stored with the wrapped data key. The encryption context (workspace,
// connection or integration, purpose) is authenticated twice: as GCM additional data here, and by the key
// provider when it unwraps the data key. The vault never logs, returns or stores plaintext anywhere but to
// its caller; what it seals and opens it registers (as digests) with the logger's scrubber, so that a
// credential that reaches a log line by any path is removed from it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { knownSecrets, type KnownSecrets } from '../logging/known-secrets.js';
import { canonicalContext, type EncryptionContext } from './encryption-context.js';
import type { KeyProvider } from './key-provider.js';

export const sealedCredentialSchema = z.object({
  v: z.literal(1),
  provider: z.enum(['aws-kms', 'local']),
  keyId: z.string().min(1),
  wrappedKey: z.base64(),
  iv: z.base64(),
  tag: z.base64(),
  ciphertext: z.base64(),
});
export type SealedCredential = z.infer<typeof sealedCredentialSchema>;

export class DecryptionError extends Error {
  override name = 'DecryptionError';
  constructor() {
    // Deliberately uninformative: which check failed is no business of whoever holds the ciphertext.
    super('credential could not be decrypted for this context');
  }
}

export class CredentialVault {
  constructor(
    readonly keys: KeyProvider,
    private readonly registry: KnownSecrets = knownSecrets,
  ) {}

  async seal(context: EncryptionContext, plaintext: string | Buffer): Promise<SealedCredential> {
    this.registry.addCredential(typeof plaintext === 'string' ? plaintext : plaintext.toString('utf8'));
    const dataKey = await this.keys.generateDataKey(context);
    try {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, iv);
      cipher.setAAD(Buffer.from(canonicalContext(context)));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        v: 1,
        provider: this.keys.name,
        keyId: dataKey.keyId,
        wrappedKey: dataKey.wrapped.toString('base64'),
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        ciphertext: ciphertext.toString('base64'),
      };
    } finally {
      dataKey.plaintext.fill(0);
    }
  }

  async open(context: EncryptionContext, sealed: unknown): Promise<Buffer> {
    const parsed = sealedCredentialSchema.safeParse(sealed);
    if (!parsed.success || parsed.data.provider !== this.keys.name) throw new DecryptionError();
    const envelope = parsed.data;
    let dataKey: Buffer;
    try {
      dataKey = await this.keys.unwrapDataKey(
        Buffer.from(envelope.wrappedKey, 'base64'),
        envelope.keyId,
        context,
      );
    } catch {
      throw new DecryptionError();
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(envelope.iv, 'base64'));
      decipher.setAAD(Buffer.from(canonicalContext(context)));
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      const plaintext = Buffer.concat([
        decipher.update(Buffer.from(envelope.ciphertext, 'base64')),
        decipher.final(),
      ]);
      this.registry.addCredential(plaintext.toString('utf8'));
      return plaintext;
    } catch {
      throw new DecryptionError();
    } finally {
      dataKey.fill(0);
    }
  }

  async openText(context: EncryptionContext, sealed: unknown): Promise<string> {
    return (await this.open(context, sealed)).toString('utf8');
  }
}
