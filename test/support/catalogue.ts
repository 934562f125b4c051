// Catalogue entries pointed at loopback stand-ins: the real entry, every https URL of it (endpoints,
// templates, the id_token issuer) moved to the stand-in's http origin with its path kept, and the hosts
// provider data may name (`urlHosts`) replaced by the stand-in's. Hand the result to the activities and the
// API as their `catalogue`.
import { catalogueEntry } from '../../catalogue/providers.js';
import type { Catalogue } from '../../integrations/connection-provider.js';
import { catalogueEntrySchema, type CatalogueEntry } from '../../providers/provider-config.js';

function moved(value: unknown, origin: string, hostname: string): unknown {
  if (typeof value === 'string') return value.replace(/^https:\/\/[^/]*/, origin);
  if (Array.isArray(value)) return value.map((item) => moved(item, origin, hostname));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([name, field]) =>
        name === 'urlHosts' ? [name, [hostname]] : [name, moved(field, origin, hostname)],
      ),
    );
  }
  return value;
}

/** The entry as it would be if its provider lived at `origin` (`http://127.0.0.1:port`). */
export function pointAt(entry: CatalogueEntry, origin: string): CatalogueEntry {
  const { hostname, origin: base } = new URL(origin);
  return moved(entry, base, hostname) as CatalogueEntry;
}

/** The real catalogue, with the given entries (by key) pointed at their stand-ins. */
export function catalogueWith(pointed: Record<string, string>): Catalogue {
  return (key) => {
    const entry = catalogueEntry(key);
    const origin = pointed[key];
    return entry && origin ? pointAt(entry, origin) : entry;
  };
}

/** A catalogue entry with connection parameters: a required tenant and a region with a default. */
export const tenantEntry = catalogueEntrySchema.parse({
  key: 'tenant-idp',
  category: 'identity',
  docs: ['https://docs.example.com/oauth'],
  displayName: 'Tenant IdP',
  personal: false,
  authType: 'oauth2',
  issuer: 'https://login.example.com/{tenant}',
  authorizationEndpoint: 'https://login.example.com/{tenant}/{region}/authorize',
  tokenEndpoint: 'https://login.example.com/{tenant}/{region}/token',
  scopes: ['openid'],
  parameters: [
    { name: 'tenant', label: 'Tenant', example: 'contoso' },
    { name: 'region', label: 'Region', pattern: '^(eu|us)$', default: 'eu', example: 'us' },
  ],
});

/**
 * The real catalogue, but the entry `key` (an OAuth one) speaks to the test's authorization server
 * (oidc-provider, test/support/oidc-provider.ts) as a plain OAuth 2.0 provider: its endpoints, its client
 * authentication, PKCE, `iss`, and its scopes; the entry keeps its key, name, category and docs, so that
 * the pages show it as the catalogue does. The server is asked for when the catalogue is read (it starts
 * with the harness that is handed this catalogue).
 */
export function catalogueWithServer(
  key: string,
  server: () => { issuer: string; authorizationEndpoint: string; tokenEndpoint: string } | undefined,
): Catalogue {
  return (wanted) => {
    const entry = catalogueEntry(wanted);
    const at = server();
    if (!entry || wanted !== key || !at) return entry;
    // Validated at an https stand-in origin (the catalogue takes https only), then moved to the server's.
    const path = (url: string) => `https://authorization.test${new URL(url).pathname}`;
    const plain = catalogueEntrySchema.parse({
      key: entry.key,
      category: entry.category,
      docs: entry.docs,
      displayName: entry.displayName,
      personal: entry.personal,
      authType: 'oauth2',
      issuer: path(at.issuer).replace(/\/$/, ''),
      authorizationEndpoint: path(at.authorizationEndpoint),
      tokenEndpoint: path(at.tokenEndpoint),
      issParameterSupported: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      pkce: true,
      scopes: ['openid', 'offline_access', 'api:read'],
    });
    return pointAt(plain, at.issuer);
  };
}
