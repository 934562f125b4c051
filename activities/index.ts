// Activities are built by injection (STYLE.md): createActivities(deps) returns the functions the worker
// registers, so tests hand in real or fake dependencies without module mocking. The connection activities
// are grouped by concern (records.ts, oauth.ts, api-keys.ts, revocation.ts, removal.ts) over what they share
// (connection-access.ts); every one of them raises classified failures only (failures.ts).
import { createWebhookActivities, type WebhookSettings } from '../notifications/webhook.js';
import type { LifecycleSettings } from '../workflows/messages.js';
import { createApiKeyActivities } from './api-keys.js';
import { createConnectionAccess, type ConnectionActivityDependencies } from './connection-access.js';
import { withClassifiedFailures } from './failures.js';
import { createOAuthActivities } from './oauth.js';
import { createRecordActivities } from './records.js';
import { createRevocationActivities } from './revocation.js';
import { createRemovalActivities } from './removal.js';

export type ActivityDependencies = ConnectionActivityDependencies & {
  /**
   * Where dependents' notices go (WEBHOOK_URL, WEBHOOK_SECRET; none configured: nothing is sent), and what
   * mints an expiry's reconnect link.
   */
  webhook?: WebhookSettings;
  /** The worker's lifecycle settings (its configuration), which every connection's workflow runs by. */
  lifecycle: LifecycleSettings;
};

export function createActivities(deps: ActivityDependencies) {
  const access = createConnectionAccess(deps);
  const connectionActivities = withClassifiedFailures(
    {
      ...createRecordActivities(access),
      ...createOAuthActivities(access),
      ...createApiKeyActivities(access),
      ...createRevocationActivities(access),
      ...createRemovalActivities(access),
    },
    deps.logger,
  );
  return {
    ...connectionActivities,
    ...createWebhookActivities(deps.webhook ?? {}),
    /**
     * The worker's lifecycle settings, read by each connection's workflow (a local activity); health events
     * are on only with a webhook to send them to.
     */
    lifecycleSettings: async (): Promise<LifecycleSettings> => ({
      ...deps.lifecycle,
      ...(deps.webhook?.url && deps.webhook.secret ? { healthEvents: true } : {}),
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
