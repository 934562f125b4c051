// `npm start`: the whole service on embedded defaults (or whatever the environment configures), in one
// process tree. Ctrl-C stops every process it started.
import { loadConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { loadJwtSecret, mintToken } from '../api/auth.js';
import { loadOperatorSecret } from '../api/operator-auth.js';
import { mintOperatorSignInLink, mintSignInLink } from '../console/sign-in-links.js';
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
// One-time console links (15 minutes). With AUTH_JWKS_URL the platform signs its people in (README, Console).
const consoleLink = config.auth.jwksUrl
  ? 'through your platform (AUTH_JWKS_URL: see the README, "Signing in")'
  : await mintSignInLink(
      config.publicUrl,
      await loadJwtSecret(config.auth),
      { sub: 'admin', workspace: 'default', role: 'admin' },
      {
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        maxLifetimeSeconds: config.auth.maxLifetimeSeconds,
      },
    );
const operatorLink = await mintOperatorSignInLink(
  config.publicUrl,
  await loadOperatorSecret(config.operator),
  'operator',
  { maxLifetimeSeconds: config.auth.maxLifetimeSeconds },
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
  'Console: one-time sign-in link for the admin of workspace "default" (15 minutes; `npm run token -- --console` mints another):',
  `  ${consoleLink}`,
  'Operator sign-in link (15 minutes; `npm run token -- --operator --console` mints another):',
  `  ${operatorLink}`,
  '',
  'Press Ctrl-C to stop.',
  '',
];
// The banner is for the person at the terminal; the token and links in it are the embedded default's own
// admin and operator logins.
process.stdout.write(lines.join('\n'));

stopOnSignals(service, logger);
