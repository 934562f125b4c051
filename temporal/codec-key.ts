// Where the payload codec's key comes from: TEMPORAL_CODEC_KEY (base64 of 32 bytes), or a file in the data
// folder created (mode 0600) on first use for the embedded default. Workers, clients and the codec server
// must all load the same key, or history written by one is unreadable to the others.
// It must never log or echo the key, nor accept a key that is not exactly 256 bits; the key it loads is
// registered with the logger's scrubber.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../config/config.js';
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
    key = await readOrCreateKeyFile(codecKey.file, logger);
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

async function readOrCreateKeyFile(file: string, logger?: Logger): Promise<Buffer> {
  try {
    return await readKeyFile(file, logger);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  await mkdir(path.dirname(file), { recursive: true });
  // Written aside, then linked into place: the name never shows a half-written key to a process starting
  // at the same moment (the API and the worker may), and whoever loses the race uses the winner's key.
  const draft = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(draft, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(file, logger);
    throw error;
  } finally {
    await unlink(draft);
  }
  logger?.warn(
    { keyFile: file },
    'created a Temporal payload codec key: keep it, or history written with it becomes unreadable',
  );
  return key;
}

async function readKeyFile(file: string, logger?: Logger): Promise<Buffer> {
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  const mode = (await stat(file)).mode & 0o777;
  if (mode & 0o077) {
    logger?.warn({ keyFile: file, mode: mode.toString(8) }, 'codec key file is readable by other users');
  }
  return key;
}
