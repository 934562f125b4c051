// `npm run token -- --workspace W --sub U --role R [--on-behalf-of U] [--expires 12h]`: mints a bearer token
// signed with the service's secret (AUTH_JWT_SECRET or the embedded default's), printed on stdout.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { claimsSchema, loadJwtSecret, mintToken } from '../api/auth.js';

const usage = `usage: npm run token -- [--workspace default] [--sub admin] [--role owner|admin|member|agent]
                         [--on-behalf-of USER] [--expires 12h]`;
const { values } = parseArgs({
  options: {
    workspace: { type: 'string', default: 'default' },
    sub: { type: 'string', default: 'admin' },
    role: { type: 'string', default: 'admin' },
    'on-behalf-of': { type: 'string' },
    expires: { type: 'string', default: '12h' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.error(usage);
  process.exit(0);
}
const claims = claimsSchema.safeParse({
  sub: values.sub,
  workspace: values.workspace,
  role: values.role,
  on_behalf_of: values['on-behalf-of'],
});
if (!claims.success) {
  console.error(claims.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'));
  console.error(usage);
  process.exit(2);
}
const config = loadConfig();
if (config.auth.jwksUrl) {
  console.error('AUTH_JWKS_URL is set: tokens come from your identity provider, not from this command');
  process.exit(2);
}
const token = await mintToken(await loadJwtSecret(config.auth), claims.data, {
  expiresIn: values.expires,
  issuer: config.auth.issuer,
  audience: config.auth.audience,
});
process.stdout.write(token + '\n');
