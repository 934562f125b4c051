// Checks the URLs of a custom provider before it is stored: the service will call them from inside its own
// network, so they must be https and must not lead to loopback, private, link-local, multicast or
// unspecified addresses (server-side request forgery). Development and tests may allow http and any address.
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface UrlProblem {
  path: string;
  message: string;
}

export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const defaultLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", including the unspecified address
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is one a provider URL must not reach. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d or ::ffff:xxxx:xxxx) and NAT64 (64:ff9b::/96) addresses carry an IPv4 one.
  const embedded = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(
    lower,
  );
  if (embedded) {
    const v4 =
      embedded[1] ??
      [
        parseInt(embedded[2]!, 16) >> 8,
        parseInt(embedded[2]!, 16) & 255,
        parseInt(embedded[3]!, 16) >> 8,
        parseInt(embedded[3]!, 16) & 255,
      ].join('.');
    return isIP(v4) !== 4 || blocked.check(v4, 'ipv4');
  }
  return blocked.check(lower, 'ipv6');
}

/**
 * The problems of each named URL (empty when all are acceptable). Every address a host name resolves to
 * is checked, so one private answer among public ones is enough to refuse it.
 */
export async function checkProviderUrls(
  urls: Record<string, string | undefined>,
  options: { allowInsecure: boolean; lookup?: Lookup },
): Promise<UrlProblem[]> {
  const lookup = options.lookup ?? defaultLookup;
  const problems = await Promise.all(
    Object.entries(urls).map(async ([path, value]): Promise<UrlProblem | undefined> => {
      if (value === undefined) return undefined;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return { path, message: 'must be a URL' };
      }
      if (url.username || url.password) return { path, message: 'must not contain credentials' };
      if (url.protocol !== 'https:' && !(options.allowInsecure && url.protocol === 'http:')) {
        return { path, message: 'must be an https URL' };
      }
      if (options.allowInsecure) return undefined;
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      let addresses: string[];
      if (isIP(host)) addresses = [host];
      else {
        try {
          addresses = (await lookup(host)).map((answer) => answer.address);
        } catch {
          return { path, message: `its host ${host} does not resolve` };
        }
        if (!addresses.length) return { path, message: `its host ${host} does not resolve` };
      }
      if (addresses.some(isForbiddenAddress)) {
        return {
          path,
          message: `its host ${host} resolves to a loopback, private, link-local or unspecified address`,
        };
      }
      return undefined;
    }),
  );
  return problems.filter((problem): problem is UrlProblem => problem !== undefined);
}
