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
