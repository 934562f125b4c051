// Activities are built by injection (STYLE.md): createActivities(deps) returns the functions the worker
// registers, so tests hand in real or fake dependencies without module mocking.
import { createWebhookActivities } from '../notifications/webhook.js';
import type { LifecycleSettings } from '../workflows/messages.js';
import { createConnectionActivities, type ConnectionActivityDependencies } from './connection-activities.js';

export type ActivityDependencies = ConnectionActivityDependencies & {
  /** Where dependents' notices go (WEBHOOK_URL, WEBHOOK_SECRET); none configured: nothing is sent. */
  webhook?: { url?: string; secret?: string };
  /** The worker's lifecycle settings (its configuration), which every connection's workflow runs by. */
  lifecycle: LifecycleSettings;
};

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createConnectionActivities(deps),
    ...createWebhookActivities(deps.webhook ?? {}),
    /** The worker's lifecycle settings, read by each connection's workflow (a local activity). */
    lifecycleSettings: async (): Promise<LifecycleSettings> => ({ ...deps.lifecycle }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
