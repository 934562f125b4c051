// Placeholder of the contract: the connection pages (issue 14, console-connections) replace it.
import type { ConsolePages } from './console-page.js';

export function connectionPages(_pages: ConsolePages, _deps: unknown): void {}
