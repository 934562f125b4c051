// The one way out to a provider (token exchange, refresh, revocation, key verification, the proxy): every
// address a provider's host name resolves to is checked when the connection is made, and the connection goes
// to the address that was checked, so a name that answered a public address at registration and a private
// one afterwards (DNS rebinding) reaches nothing. Literal IP hosts are checked the same way. fetch goes
// through an undici Agent whose connector checks; node:http and node:https through agents whose `lookup`
// checks. Registration checks through the same function. Off only with ALLOW_INSECURE_PROVIDER_URLS
// (development and tests), when names still resolve through the guard's resolver but any address is used.
// It never follows a redirect by itself and never sees credentials beyond the requests it carries.
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { classifyAddress } from './public-address.js';

/** Every address a host name resolves to, as dns.lookup({ all: true }) answers. */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A provider's host that leads to an address that is not public: permanent, never worth retrying. */
export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
  constructor(
    readonly host: string,
    readonly kind: string,
  ) {
    super(`the provider's host ${host} leads to a non-public address (${kind}): refused`);
  }
}

/** A provider's host that does not resolve. */
export class HostUnresolvedError extends Error {
  override name = 'HostUnresolvedError';
  constructor(readonly host: string) {
    super(`the provider's host ${host} does not resolve`);
  }
}

/** The address refusal behind an error (fetch wraps it as the `cause` of a TypeError), if there is one. */
export function addressRefusal(error: unknown): AddressRefusedError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof AddressRefusedError) return current;
    current = current.cause;
  }
  return undefined;
}

export interface OutboundGuard {
  /** False only with ALLOW_INSECURE_PROVIDER_URLS. */
  readonly checksAddresses: boolean;
  /** fetch whose connections go only to checked addresses (callers ask for `redirect: 'manual'`). */
  readonly fetch: typeof fetch;
  /** The node:http or node:https agent for a URL; throws AddressRefusedError for a refused literal host. */
  agentFor(url: URL): HttpAgent;
  /** Resolves a host and checks every answer (throws AddressRefusedError or HostUnresolvedError). */
  checkHost(host: string): Promise<Array<{ address: string; family: number }>>;
  close(): Promise<void>;
}

export function createOutboundGuard(
  options: { checkAddresses: boolean; resolver?: Resolver } = { checkAddresses: true },
): OutboundGuard {
  const resolve = options.resolver ?? systemResolver;
  const checkAddresses = options.checkAddresses;

  async function checkHost(host: string) {
    const literal = host.replace(/^\[(.*)\]$/, '$1');
    let answers: Array<{ address: string; family: number }>;
    if (isIP(literal)) answers = [{ address: literal, family: isIP(literal) }];
    else {
      answers = await resolve(literal).catch(() => []);
      if (!answers.length) throw new HostUnresolvedError(literal);
    }
    if (checkAddresses) {
      // One refused answer among public ones refuses the name: the system may pick any of them.
      for (const { address } of answers) {
        const verdict = classifyAddress(address);
        if (!verdict.public) throw new AddressRefusedError(literal, verdict.kind);
      }
    }
    return answers;
  }

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    checkHost(hostname).then(
      (answers) => {
        const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : 0;
        const usable = family ? answers.filter((answer) => answer.family === family) : answers;
        const [first] = usable;
        if (!first) {
          callback(Object.assign(new HostUnresolvedError(hostname), { code: 'ENOTFOUND' }), '', 0);
        } else if (lookupOptions.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };

  /** A literal IP host is connected to without a lookup: it is checked here instead. */
  function literalRefusal(host: string): AddressRefusedError | undefined {
    const literal = host.replace(/^\[(.*)\]$/, '$1');
    if (!checkAddresses || !isIP(literal)) return undefined;
    const verdict = classifyAddress(literal);
    return verdict.public ? undefined : new AddressRefusedError(literal, verdict.kind);
  }

  const connector = buildConnector({ lookup });
  const dispatcher = new Agent({
    connect: (connectOptions, callback) => {
      const refusal = literalRefusal(connectOptions.hostname);
      if (refusal) callback(refusal, null);
      else connector(connectOptions, callback);
    },
  });
  const httpAgent = new HttpAgent({ keepAlive: true, lookup });
  const httpsAgent = new HttpsAgent({ keepAlive: true, lookup });

  return {
    checksAddresses: checkAddresses,
    fetch: ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch,
    agentFor(url) {
      const refusal = literalRefusal(url.hostname);
      if (refusal) throw refusal;
      return url.protocol === 'https:' ? httpsAgent : httpAgent;
    },
    checkHost,
    async close() {
      httpAgent.destroy();
      httpsAgent.destroy();
      await dispatcher.close();
    },
  };
}
