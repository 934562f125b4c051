// Which IP addresses a request to a provider may connect to: globally routable unicast only, an allow-list.
// Everything else is refused with the kind of address it is: loopback, private, link-local, shared,
// multicast, the IANA special-purpose ranges (IPv4 and IPv6 registries, as ipaddr.js knows them), IPv6
// outside the global unicast space 2000::/3 (IPv4-compatible ::a.b.c.d among it), and the transition forms
// whose IPv4 part cannot be trusted (6to4, Teredo, IPv4-translated, local-use NAT64). IPv4-mapped addresses
// and the well-known NAT64 prefix 64:ff9b::/96 reach an IPv4 address: they are judged by it.
// It never resolves a name: callers hand it the addresses they are about to connect to.
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

export type AddressVerdict = { public: true } | { public: false; kind: string };

const globalUnicast = ipaddr.IPv6.parseCIDR('2000::/3');
const wellKnownNat64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const ipv4Compatible = ipaddr.IPv6.parseCIDR('::/96');

/** What people call each ipaddr.js range; ranges not named here are "special-purpose". */
const kindOfRange: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  private: 'private',
  uniqueLocal: 'private',
  deprecatedSiteLocal: 'private',
  carrierGradeNat: 'shared (carrier-grade NAT)',
  '6to4': 'IPv6 transition (6to4)',
  teredo: 'IPv6 transition (Teredo)',
  rfc6145: 'IPv6 transition (IPv4-translated)',
  rfc6052: 'IPv6 transition (local-use NAT64)',
};

/** The verdict on one address (an IPv4 or IPv6 literal, brackets and zone allowed); not an IP: refused. */
export function classifyAddress(address: string): AddressVerdict {
  const literal = address.replace(/^\[(.*)\]$/, '$1');
  if (!isIP(literal.replace(/%.*$/, ''))) return { public: false, kind: 'not an IP address' };
  return verdictOf(ipaddr.parse(literal));
}

function verdictOf(ip: ipaddr.IPv4 | ipaddr.IPv6): AddressVerdict {
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return verdictOf(v6.toIPv4Address());
    if (v6.match(wellKnownNat64)) return verdictOf(ipaddr.IPv4.parse(embeddedIPv4(v6)));
    const range = v6.range();
    if (range === 'unicast' && !v6.match(globalUnicast)) {
      if (v6.match(ipv4Compatible)) return { public: false, kind: 'IPv6 transition (IPv4-compatible)' };
      return { public: false, kind: 'special-purpose' };
    }
    return range === 'unicast' ? { public: true } : { public: false, kind: kindOf(range) };
  }
  const range = (ip as ipaddr.IPv4).range();
  return range === 'unicast' ? { public: true } : { public: false, kind: kindOf(range) };
}

function kindOf(range: string): string {
  return kindOfRange[range] ?? 'special-purpose';
}

/** The IPv4 address in the last 32 bits (RFC 6052, /96 prefix). */
function embeddedIPv4(ip: ipaddr.IPv6): string {
  const [high = 0, low = 0] = ip.parts.slice(6);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
