// The provider catalogue, shipped as data: how each well-known provider is spoken to, one file per kind of
// tool under catalogue/entries/. Every entry is validated against catalogueEntrySchema
// (providers/provider-config.ts) when this module loads, so a malformed entry fails the process at start, and
// by test/integrations/catalogue.test.ts. Holds no credentials: a workspace adds its own client id and secret
// when it configures an entry. Each entry names the provider documentation its facts were checked against.
import {
  catalogueEntrySchema,
  type CatalogueEntry,
  type CatalogueEntryInput,
  type ProviderConfigInput,
} from '../providers/provider-config.js';
import { businessEntries } from './entries/business.js';
import { coreEntries } from './entries/core.js';
import { engineeringEntries } from './entries/engineering.js';
import { productivityEntries } from './entries/productivity.js';

export const catalogueData: readonly CatalogueEntryInput[] = [
  ...coreEntries,
  ...productivityEntries,
  ...businessEntries,
  ...engineeringEntries,
];

/** The catalogue, parsed (defaults applied) once at load. */
export const providerCatalogue: readonly CatalogueEntry[] = catalogueData.map((entry) =>
  catalogueEntrySchema.parse(entry),
);

const byKey = new Map(providerCatalogue.map((entry) => [entry.key, entry]));

export function catalogueEntry(key: string): CatalogueEntry | undefined {
  return byKey.get(key);
}

/** The provider configuration stored for a workspace that configures this entry. */
export function catalogueProvider(entry: CatalogueEntry): ProviderConfigInput {
  const { key: _key, category: _category, docs: _docs, notes: _notes, ...provider } = entry;
  return provider;
}
