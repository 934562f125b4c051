// Placeholder of the contract: the integrations pages (issue 14, console-integrations) replace it.
import type { ConsolePages } from './console-page.js';

export function integrationPages(_pages: ConsolePages, _deps: unknown): void {}
