// `npm run migrate`: applies every pending migration to DATABASE_URL (or the embedded Postgres), then exits.
import { loadConfig } from '../config/config.js';
import { connectDatabase, migrateToLatest } from '../db/database.js';
import { createLogger } from '../logging/logger.js';
import { startEmbeddedPostgres } from '../platform/postgres.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const embedded =
  'embedded' in config.database
    ? await startEmbeddedPostgres({ ...config.database.embedded, onWarn: (message) => logger.warn(message) })
    : undefined;
const db = connectDatabase(embedded?.url ?? ('url' in config.database ? config.database.url : ''));
try {
  const applied = await migrateToLatest(db);
  logger.info({ migrations: applied }, applied.length ? 'applied migrations' : 'already up to date');
} finally {
  await db.destroy();
  await embedded?.stop();
}
