// The payload codec of every worker, client and the codec server: each payload leaves the process as
// AES-256-GCM ciphertext, so Temporal history never holds workflow data in clear, even if an activity slips.
// It must never log or put into an error message any payload content or key material.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

// CommonJS: Node's ESM loader cannot see its named exports, only the default one.
const { Payload: ProtoPayload } = proto.temporal.api.common.v1;

const IV_LENGTH = 12;
const TAG_LENGTH = 16;

export interface CodecKey {
  /** A non-secret fingerprint written beside each ciphertext, so decode finds the key after a rotation. */
  id: string;
  key: Buffer;
}

export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();

  /** Encrypts with `current`; decodes with it or any of `previous`, the keys it has replaced. */
  constructor(
    private readonly current: CodecKey,
    previous: CodecKey[] = [],
  ) {
    for (const { id, key } of [current, ...previous]) {
      if (!id) throw new Error('a codec key needs an id');
      if (key.length !== 32) throw new Error(`codec key ${id} is not a 256-bit key`);
      const known = this.keys.get(id);
      if (known && !known.equals(key)) throw new Error(`two different codec keys share the id ${id}`);
      this.keys.set(id, key);
    }
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plaintext = ProtoPayload.encode(payload).finish();
      const iv = randomBytes(IV_LENGTH);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        metadata: {
          encoding: utf8.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8.encode(this.current.id),
        },
        data: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      // Payloads written before the codec existed, or by another converter, pass through as they are.
      if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
      if (!keyIdBytes) throw new PayloadDecryptionError('encrypted payload without an encryption key id');
      const keyId = fromUtf8.decode(keyIdBytes);
      const key = this.keys.get(keyId);
      if (!key) {
        throw new PayloadDecryptionError(
          `payload encrypted with unknown codec key ${keyId}: the codec must be given that key (as a previous key)`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_LENGTH + TAG_LENGTH) {
        throw new PayloadDecryptionError(`encrypted payload (codec key ${keyId}) is truncated`);
      }
      let plaintext: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_LENGTH));
        decipher.setAuthTag(data.subarray(IV_LENGTH, IV_LENGTH + TAG_LENGTH));
        plaintext = Buffer.concat([decipher.update(data.subarray(IV_LENGTH + TAG_LENGTH)), decipher.final()]);
      } catch {
        // GCM says only "unable to authenticate": a damaged payload and a wrong key look the same.
        throw new PayloadDecryptionError(
          `encrypted payload failed authentication with codec key ${keyId}: it was altered or the key is wrong`,
        );
      }
      return ProtoPayload.decode(plaintext);
    });
  }
}
