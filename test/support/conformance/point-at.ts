// Moves a catalogue entry onto a stand-in: every https URL in it (endpoints, issuer templates, identity and
// revocation requests, the API base) gets the stand-in's loopback origin with its own path and query kept, and
// every `urlHosts` entry becomes the stand-in's host. Placeholders stay as they are: `{tenant}` in a path is
// still filled at connect; one in a host is dropped with the host.
import { catalogueEntry } from '../../../catalogue/providers.js';
import type { CatalogueEntry } from '../../../providers/provider-config.js';

const httpsOrigin = /^https:\/\/[^/?#]+/;

export function pointAt<T extends object>(entry: T, origin: string): T {
  const host = new URL(origin).hostname;
  return JSON.parse(
    JSON.stringify(entry, (name, value: unknown) => {
      if (name === 'urlHosts' && Array.isArray(value)) return [host];
      if (typeof value === 'string' && value.startsWith('https://')) {
        return origin + value.replace(httpsOrigin, '').replace(/^\/$/, '');
      }
      return value;
    }),
  ) as T;
}

export type { CatalogueEntry };

/** The real catalogue, with the given entries (by key) pointed at their stand-ins' origins. */
export function catalogueWith(pointed: Record<string, string>): (key: string) => CatalogueEntry | undefined {
  return (key) => {
    const entry = catalogueEntry(key);
    const origin = pointed[key];
    return entry && origin ? pointAt(entry, origin) : entry;
  };
}
