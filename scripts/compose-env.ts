// `npm run compose-env [-- --file .env]`: writes fresh random values for every secret docker-compose.yml
// requires into its `.env` (mode 0600), once. A variable the file already sets is never changed (the codec
// key and the KMS backing key are what make stored data readable), so running it again only adds what a
// newer compose file needs. It prints the names it wrote, never a value.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../platform/process.js';

/** Every secret docker-compose.yml requires, and how a fresh one is made. */
const composeSecrets: Record<string, () => string> = {
  POSTGRES_PASSWORD: () => randomBytes(24).toString('hex'),
  AUTH_JWT_SECRET: () => randomBytes(32).toString('base64url'),
  OPERATOR_JWT_SECRET: () => randomBytes(32).toString('base64url'),
  TEMPORAL_CODEC_KEY: () => randomBytes(32).toString('base64'),
  KMS_BACKING_KEY: () => randomBytes(32).toString('hex'),
  AWS_ACCESS_KEY_ID: () => `local${randomBytes(8).toString('hex')}`,
  AWS_SECRET_ACCESS_KEY: () => randomBytes(30).toString('base64url'),
};

const { values } = parseArgs({
  options: { file: { type: 'string', default: path.join(projectRoot, '.env') } },
});
const file = path.resolve(values.file!);
let existing = '';
try {
  existing = await readFile(file, 'utf8');
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
const present = new Set(
  existing
    .split('\n')
    .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1])
    .filter(Boolean),
);
const missing = Object.keys(composeSecrets).filter((name) => !present.has(name));
if (missing.length) {
  const added = missing.map((name) => `${name}=${composeSecrets[name]!()}`).join('\n');
  const separator = existing && !existing.endsWith('\n') ? '\n' : '';
  await writeFile(file, `${existing}${separator}${added}\n`, { mode: 0o600 });
}
await chmod(file, 0o600);
console.error(
  missing.length
    ? `${file}: wrote ${missing.join(', ')}`
    : `${file}: every secret is already set; nothing changed`,
);
