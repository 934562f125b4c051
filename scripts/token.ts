// `npm run token -- --workspace W --sub U --role R [--on-behalf-of U] [--expires 12h]`: mints a workspace
// bearer token signed with the service's secret (AUTH_JWT_SECRET or the embedded default's);
// `npm run token -- --operator [--sub NAME] [--expires 1h]`: an operator token (the codec server), signed with
// OPERATOR_JWT_SECRET or the embedded default's. Printed on stdout; never longer-lived than
// AUTH_JWT_MAX_LIFETIME_SECONDS allows. With `--console`, a one-time console sign-in link (15 minutes) for
// the person (owner, admin or member) or, with `--operator`, for an operator.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { claimsSchema, loadJwtSecret, mintToken, TokenLifetimeError } from '../api/auth.js';
import { loadOperatorSecret, mintOperatorToken } from '../api/operator-auth.js';
import { mintOperatorSignInLink, mintSignInLink } from '../console/sign-in-links.js';

const usage = `usage: npm run token -- [--workspace default] [--sub admin] [--role owner|admin|member|agent]
                         [--on-behalf-of USER] [--expires 12h]
       npm run token -- --operator [--sub operator] [--expires 1h]
       npm run token -- --console [--workspace default] [--sub admin] [--role owner|admin|member]
       npm run token -- --operator --console [--sub operator]`;
const { values } = parseArgs({
  options: {
    workspace: { type: 'string' },
    sub: { type: 'string' },
    role: { type: 'string' },
    'on-behalf-of': { type: 'string' },
    expires: { type: 'string' },
    operator: { type: 'boolean', default: false },
    console: { type: 'boolean', default: false },
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

async function consoleLink(): Promise<string> {
  if (values.expires || values['on-behalf-of']) {
    fail('a console sign-in link works once, for 15 minutes, and acts for nobody else');
  }
  if (values.operator) {
    if (values.workspace || values.role) fail('an operator signs in to no workspace');
    return mintOperatorSignInLink(
      config.publicUrl,
      await loadOperatorSecret(config.operator),
      values.sub ?? 'operator',
      { maxLifetimeSeconds },
    );
  }
  const role = values.role ?? 'admin';
  if (role !== 'owner' && role !== 'admin' && role !== 'member') {
    fail('a console sign-in is for an owner, admin or member: agents never sign in');
  }
  if (config.auth.jwksUrl) {
    fail('AUTH_JWKS_URL is set: your platform signs its people in to the console (README, "Signing in")');
  }
  const caller = claimsSchema.safeParse({
    sub: values.sub ?? 'admin',
    workspace: values.workspace ?? 'default',
    role,
  });
  if (!caller.success) {
    fail(caller.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'));
  }
  return mintSignInLink(
    config.publicUrl,
    await loadJwtSecret(config.auth),
    { ...caller.data!, role: role as 'owner' | 'admin' | 'member' },
    {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      maxLifetimeSeconds: config.auth.maxLifetimeSeconds,
    },
  );
}

async function mint(): Promise<string> {
  if (values.console) return consoleLink();
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
