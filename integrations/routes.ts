// Integration routes: the provider catalogue with this workspace's configuration state, per-workspace
// configuration of catalogue providers, and custom providers. What each does is integration-settings.ts's
// (the console's pages call the same functions); a client secret is write-only and no answer carries it.
import { z } from 'zod';
import { integrationKeySchema } from '../providers/provider-config.js';
import { RouteList, type Route } from '../api/routes.js';
import {
  configureBody,
  configureIntegration,
  customBody,
  integrationView,
  listIntegrations,
  registerCustomProvider,
  type IntegrationSettingsDependencies,
} from './integration-settings.js';

const managers = ['owner', 'admin'] as const;
const everyone = ['owner', 'admin', 'member', 'agent'] as const;

export type IntegrationRouteDependencies = IntegrationSettingsDependencies;

export function integrationRoutes(deps: IntegrationRouteDependencies): Route[] {
  const registry = new RouteList();

  registry.add({
    method: 'get',
    path: '/v1/integrations',
    summary: "The provider catalogue and the workspace's custom providers, with their configuration state",
    tags: ['integrations'],
    roles: everyone,
    response: z.object({ integrations: z.array(integrationView) }),
    handler: async ({ caller }) => ({ integrations: await listIntegrations(deps.db, caller.workspace) }),
  });

  registry.add({
    method: 'put',
    path: '/v1/integrations/:key',
    summary:
      'Configure a catalogue provider for the workspace: client id, client secret (write-only), scopes, enabled',
    tags: ['integrations'],
    roles: managers,
    params: z.strictObject({ key: integrationKeySchema }),
    body: configureBody,
    response: integrationView,
    errors: [404],
    handler: ({ caller, params, body }) => configureIntegration(deps, caller.workspace, params.key, body),
  });

  registry.add({
    method: 'post',
    path: '/v1/integrations',
    summary: 'Register a custom OAuth 2.0 or API-key provider (its URLs must be https and public)',
    tags: ['integrations'],
    roles: managers,
    body: customBody,
    response: integrationView,
    status: 201,
    errors: [409],
    rateLimit: 'change',
    handler: ({ caller, body }) => registerCustomProvider(deps, caller.workspace, body),
  });
  return registry.routes;
}
