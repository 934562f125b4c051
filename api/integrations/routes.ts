// Integration routes: the provider catalogue with this workspace's configuration state, per-workspace
// configuration of catalogue providers, and custom providers.
import type { ApiDependencies } from '../app.js';
import type { RouteRegistry } from '../routes.js';

export function registerIntegrationRoutes(_registry: RouteRegistry, _deps: ApiDependencies): void {}
