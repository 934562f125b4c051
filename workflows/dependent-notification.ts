// Tells the platform, durably, that a dependent lost its connection: one workflow per dependent, whose
// delivery activity Temporal retries with backoff for up to a day.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { DependentNotice } from '../notifications/webhook.js';
import { dependentNoticeOptions } from './activity-options.js';

const { deliverDependentNotice } = proxyActivities<Activities>(dependentNoticeOptions);

export async function notifyDependent(notice: DependentNotice): Promise<{ delivered: boolean }> {
  return deliverDependentNotice(notice);
}

/**
 * The notice workflow's id: one per connection and dependent (a connection is removed once), so that a
 * dependent is told once however often its notice is asked for.
 */
export function dependentNoticeWorkflowId(
  connectionId: string,
  dependent: { kind: string; dependentId: string },
): string {
  return `dependent-notice-${connectionId}-${dependent.kind}-${dependent.dependentId}`;
}
