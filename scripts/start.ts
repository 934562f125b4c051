// `npm start`: the whole service on embedded defaults (or whatever the environment configures), in one
// process tree. Ctrl-C stops every process it started.
import { loadConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { loadJwtSecret, mintToken } from '../api/auth.js';
import { startService, stopOnSignals } from '../platform/service.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const service = await startService(config, logger).catch((error: Error) => {
  logger.fatal({ err: error }, 'the service could not start');
  process.exit(1);
});

// 12 hours, or less when AUTH_JWT_MAX_LIFETIME_SECONDS says so.
const adminTokenSeconds = Math.min(12 * 3600, config.auth.maxLifetimeSeconds ?? 12 * 3600);
const lifetime = adminTokenSeconds % 3600 ? `${adminTokenSeconds} s` : `${adminTokenSeconds / 3600} hours`;
const adminToken = await mintToken(
  await loadJwtSecret(config.auth),
  { sub: 'admin', workspace: 'default', role: 'admin' },
  {
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    expiresIn: `${adminTokenSeconds}s`,
    maxLifetimeSeconds: config.auth.maxLifetimeSeconds,
  },
);
const lines = [
  '',
  'Connections service is running.',
  `  API:          ${service.apiUrl}   (readiness: ${service.apiUrl}/readyz)`,
  `  Temporal UI:  ${service.temporalUiUrl ?? '(external cluster: see your Temporal UI)'}`,
  `  Temporal:     ${service.temporalAddress}, namespace ${config.temporal.namespace}, task queue connections`,
  `  Data folder:  ${config.dataDir}`,
  `  Key provider: ${service.keys.name}`,
  '',
  `Admin token for workspace "default" (${lifetime}; \`npm run token -- --help\` mints others, operators' too):`,
  `  ${adminToken}`,
  '',
  'Press Ctrl-C to stop.',
  '',
];
// The banner is for the person at the terminal; the token in it is the embedded default's own admin login.
process.stdout.write(lines.join('\n'));

stopOnSignals(service, logger);
