// Activities are built by injection (STYLE.md): createActivities(deps) returns the functions the worker
// registers, so tests hand in real or fake dependencies without module mocking.
import { createWebhookActivities } from '../notifications/webhook.js';
import { createConnectionActivities, type ConnectionActivityDependencies } from './connection-activities.js';
import { createRemovalActivities } from './removal.js';

export type ActivityDependencies = ConnectionActivityDependencies & {
  /** Where dependents' notices go (WEBHOOK_URL, WEBHOOK_SECRET); none configured: nothing is sent. */
  webhook?: { url?: string; secret?: string };
};

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createConnectionActivities(deps),
    ...createRemovalActivities(deps),
    ...createWebhookActivities(deps.webhook ?? {}),
  };
}

export type Activities = ReturnType<typeof createActivities>;
