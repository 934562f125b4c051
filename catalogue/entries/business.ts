// Catalogue entries for CRM, support, marketing, payments, accounting, e-commerce and HR tools.
import type { CatalogueEntryInput } from '../../providers/provider-config.js';

export const businessEntries = [] as const satisfies readonly CatalogueEntryInput[];
