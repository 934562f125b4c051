// Checks the URLs of a custom provider before it is stored: the service will call them from inside its own
// network, so they must be https, carry no credentials, and lead only to public addresses (server-side
// request forgery). The address check is the outbound guard's own (providers/outbound-guard.ts), which
// checks again on every later connection; with ALLOW_INSECURE_PROVIDER_URLS, http and any address pass.
import { AddressRefusedError, HostUnresolvedError, type OutboundGuard } from '../providers/outbound-guard.js';

export interface UrlProblem {
  path: string;
  message: string;
}

/**
 * The problems of each named URL (empty when all are acceptable). Every address a host name resolves to
 * is checked, so one private answer among public ones is enough to refuse it.
 */
export async function checkProviderUrls(
  urls: Record<string, string | undefined>,
  options: { allowInsecure: boolean; outbound: OutboundGuard },
): Promise<UrlProblem[]> {
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
      if (!options.outbound.checksAddresses) return undefined;
      try {
        await options.outbound.checkHost(url.hostname);
      } catch (error) {
        if (error instanceof AddressRefusedError) {
          return { path, message: `its host ${error.host} leads to a non-public address (${error.kind})` };
        }
        if (error instanceof HostUnresolvedError) {
          return { path, message: `its host ${error.host} does not resolve` };
        }
        throw error;
      }
      return undefined;
    }),
  );
  return problems.filter((problem): problem is UrlProblem => problem !== undefined);
}
