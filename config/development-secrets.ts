// Secret values that have been published (docker-compose.yml shipped them as defaults until issue 10): anyone
// can mint tokens or decrypt payloads with them. The configuration loader refuses every one of them, in any
// secret variable, unless the service is the embedded default on loopback; the compose file's test proves
// that none of them is back in it. The one list: add a value here when one is ever published again.
import { isIP, BlockList } from 'node:net';

export const developmentSecrets: readonly string[] = [
  // AUTH_JWT_SECRET's old compose default.
  'change-me-this-is-a-development-secret-only',
  // TEMPORAL_CODEC_KEY's old compose default (base64 of "development-only-codec-key-32byt").
  'ZGV2ZWxvcG1lbnQtb25seS1jb2RlYy1rZXktMzJieXQ=',
];

/** The same value, or the same bytes written in another base64 spelling (padding, url-safe alphabet). */
export function isDevelopmentSecret(value: string): boolean {
  const bytes = Buffer.from(value.trim(), 'base64');
  return developmentSecrets.some(
    (known) => known === value.trim() || (bytes.length >= 16 && bytes.equals(Buffer.from(known, 'base64'))),
  );
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether a host name or address (as in HOST, or a URL's hostname) can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  const family = isIP(bare);
  return family !== 0 && loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}
