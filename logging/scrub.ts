// Scrubs text on its way into a log line: the secret values this process knows (known-secrets.ts), and what
// is unmistakably a credential by its shape, whoever wrote it: a JWT, the value of a Bearer or Basic
// Authorization header, a URL query parameter named like a secret, and the documented prefixes of common
// providers' tokens. It must never log, keep or return what it removes.
import { knownSecrets, MIN_SECRET_LENGTH, REDACTED } from './known-secrets.js';

const shapes = new RegExp(
  [
    // A JWS or JWE in compact form: a base64url JSON header (`{"` is `eyJ`), then dot-separated parts.
    String.raw`\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w.-]*`,
    // An Authorization header's credentials (long enough not to be the words "bearer token").
    String.raw`\b(?<scheme>Bearer|Basic)\s+[\w.~+/=-]{16,}`,
    // `?code=…`, `&access_token=…`, `&client_secret=…` in a URL or a form body.
    String.raw`(?<param>[?&][\w-]*(?:token|secret|password|code|key|verifier|signature))=[^&\s"'#\\]+`,
    // GitHub, Slack, Stripe, Google, OpenAI tokens by their documented prefixes.
    String.raw`\b(?:gh[pousr]_|github_pat_)\w{20,}`,
    String.raw`\bxox[abposr]-[\w-]{10,}`,
    String.raw`\b[sr]k_(?:live|test)_\w{16,}`,
    String.raw`\bya29\.[\w-]{20,}`,
    String.raw`\bsk-(?:proj-)?[\w-]{20,}`,
  ].join('|'),
  'gi',
);

export function scrubText(text: string): string {
  if (text.length < MIN_SECRET_LENGTH) return text;
  const shaped = text.replace(shapes, (...match) => {
    const { scheme, param } = match.at(-1) as { scheme?: string; param?: string };
    if (scheme) return `${scheme} ${REDACTED}`;
    return param ? `${param}=${REDACTED}` : REDACTED;
  });
  return knownSecrets.scrub(shaped);
}
