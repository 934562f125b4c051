// Placeholder of the contract: the sign-in routes (issue 14, console-core) replace it.
import type { Route } from '../api/routes.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SignInDependencies {}

export function signInRoutes(_deps: unknown): Route[] {
  return [];
}
