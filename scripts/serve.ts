// `npm run api` / `npm run worker`: one part of the service against external Temporal, Postgres and KMS
// (as docker-compose runs them); `npm start` runs both parts with embedded defaults instead.
import { loadConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { startService, stopOnSignals } from '../platform/service.js';

const part = process.argv[2];
if (part !== 'api' && part !== 'worker') {
  console.error('usage: npm run api|worker (node dist/scripts/serve.js api|worker)');
  process.exit(2);
}
const config = loadConfig();
if (!('address' in config.temporal) || !('url' in config.database)) {
  console.error(
    `npm run ${part} needs TEMPORAL_ADDRESS and DATABASE_URL; npm start runs everything embedded`,
  );
  process.exit(2);
}
const logger = createLogger(config.logLevel);
const service = await startService(config, logger, { api: part === 'api', worker: part === 'worker' }).catch(
  (error: Error) => {
    logger.fatal({ err: error }, `the ${part} could not start`);
    process.exit(1);
  },
);
logger.info({ api: service.apiUrl, temporal: service.temporalAddress }, `${part} started`);
stopOnSignals(service, logger);
