// The embedded default's secrets that live in its data folder (the JWT secret, the operator secret, the
// payload codec key): read, or created on first use with mode 0600. A new file is written aside and linked
// into place, so a half-written secret is never seen under its name and two processes starting at once (the
// API and the worker) end up with the same one. It must never log or return a secret but to its caller.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/logger.js';

export async function readOrCreateSecretFile(
  file: string,
  generate: () => string,
  options: { logger?: Logger; created?: string } = {},
): Promise<string> {
  try {
    return await readSecretFile(file, options.logger);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const draft = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(draft, generate() + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readSecretFile(file, options.logger);
    throw error;
  } finally {
    await unlink(draft);
  }
  if (options.created) options.logger?.warn({ file }, options.created);
  return readSecretFile(file, options.logger);
}

async function readSecretFile(file: string, logger?: Logger): Promise<string> {
  const text = (await readFile(file, 'utf8')).trim();
  const mode = (await stat(file)).mode & 0o777;
  if (mode & 0o077)
    logger?.warn({ file, mode: mode.toString(8) }, 'a secret file is readable by other users');
  return text;
}
