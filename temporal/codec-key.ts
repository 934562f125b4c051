// Where the payload codec's key comes from: TEMPORAL_CODEC_KEY (base64 of 32 bytes), or a file in the data
// folder created (mode 0600) on first use for the embedded default. Workers, clients and the codec server
// must all load the same key, or history written by one is unreadable to the others.
// It must never log or echo the key, nor accept a key that is not exactly 256 bits; the key it loads is
// registered with the logger's scrubber.
import { createHash, randomBytes } from 'node:crypto';
import { ConfigError, type Config } from '../config/config.js';
import { readOrCreateSecretFile } from '../config/secret-file.js';
import { knownSecrets } from '../logging/known-secrets.js';
import type { Logger } from '../logging/logger.js';
import type { CodecKey } from './payload-codec.js';

/** A short fingerprint, safe to store in payload metadata: 32 bits of a hash reveal nothing of the key. */
export function codecKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export async function loadCodecKey(
  codecKey: Config['temporal']['codecKey'],
  logger?: Logger,
): Promise<CodecKey> {
  let key: Buffer;
  if ('key' in codecKey) {
    key = Buffer.from(codecKey.key, 'base64');
    if (key.length !== 32) {
      throw new ConfigError(
        `invalid configuration: TEMPORAL_CODEC_KEY must be the base64 of 32 bytes (it decodes to ${key.length})`,
      );
    }
  } else {
    const text = await readOrCreateSecretFile(codecKey.file, () => randomBytes(32).toString('base64'), {
      logger,
      created: 'created a Temporal payload codec key: keep it, or history written with it becomes unreadable',
    });
    key = Buffer.from(text, 'base64');
    if (key.length !== 32)
      throw new ConfigError(`codec key file ${codecKey.file} does not hold a 256-bit key`);
  }
  for (const form of new Set([
    key.toString('base64'),
    key.toString('hex'),
    'key' in codecKey ? codecKey.key : '',
  ])) {
    knownSecrets.add(form, { pinned: true });
  }
  return { id: codecKeyId(key), key };
}
