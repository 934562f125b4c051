// `npm run token -- --workspace W --sub U --role R [--on-behalf-of U] [--expires 12h]`: mints a workspace
// bearer token signed with the service's secret (AUTH_JWT_SECRET or the embedded default's);
// `npm run token -- --operator [--sub NAME] [--expires 1h]`: an operator token (the codec server), signed with
// OPERATOR_JWT_SECRET or the embedded default's. Printed on stdout; never longer-lived than
// AUTH_JWT_MAX_LIFETIME_SECONDS allows.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { claimsSchema, loadJwtSecret, mintToken, TokenLifetimeError } from '../api/auth.js';
import { loadOperatorSecret, mintOperatorToken } from '../api/operator-auth.js';

const usage = `usage: npm run token -- [--workspace default] [--sub admin] [--role owner|admin|member|agent]
                         [--on-behalf-of USER] [--expires 12h]
       npm run token -- --operator [--sub operator] [--expires 1h]`;
const { values } = parseArgs({
  options: {
    workspace: { type: 'string' },
    sub: { type: 'string' },
    role: { type: 'string' },
    'on-behalf-of': { type: 'string' },
    expires: { type: 'string' },
    operator: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.error(usage);
  process.exit(0);
}
const fail = (message: string): never => {
  console.error(message);
  console.error(usage);
  process.exit(2);
};
const config = loadConfig();
const maxLifetimeSeconds = config.auth.maxLifetimeSeconds;

async function mint(): Promise<string> {
  if (values.operator) {
    if (values.workspace || values.role || values['on-behalf-of']) {
      fail('an operator token belongs to no workspace and has no role but operator');
    }
    return mintOperatorToken(await loadOperatorSecret(config.operator), values.sub ?? 'operator', {
      expiresIn: values.expires ?? '1h',
      maxLifetimeSeconds,
    });
  }
  const claims = claimsSchema.safeParse({
    sub: values.sub ?? 'admin',
    workspace: values.workspace ?? 'default',
    role: values.role ?? 'admin',
    on_behalf_of: values['on-behalf-of'],
  });
  if (!claims.success) {
    fail(claims.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'));
  }
  if (config.auth.jwksUrl) {
    fail('AUTH_JWKS_URL is set: workspace tokens come from your identity provider, not from this command');
  }
  return mintToken(await loadJwtSecret(config.auth), claims.data!, {
    expiresIn: values.expires ?? '12h',
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    maxLifetimeSeconds,
  });
}

const token = await mint().catch((error: Error) =>
  fail(error instanceof TokenLifetimeError ? error.message : `could not mint the token: ${error.message}`),
);
process.stdout.write(token + '\n');
