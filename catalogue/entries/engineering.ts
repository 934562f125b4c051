// Catalogue entries for code hosting, developer tools, project management, analytics, AI APIs and identity providers.
import type { CatalogueEntryInput } from '../../providers/provider-config.js';

export const engineeringEntries = [] as const satisfies readonly CatalogueEntryInput[];
