// Catalogue entries for mail, calendar, documents, storage, video, design and communication tools.
import type { CatalogueEntryInput } from '../../providers/provider-config.js';

export const productivityEntries = [] as const satisfies readonly CatalogueEntryInput[];
