// The option sets the workflows call activities with, defined once. Every one is bounded: a maximum time for
// the whole command (schedule-to-close) on top of each attempt's, so that nothing is retried for ever. Plain
// data built from the lifecycle's settings: no activity is called from here.
import {
  ActivityCancellationType,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { permanentFailureTypes } from './failure-types.js';

/** How long a non-local activity may go without a heartbeat (they beat every second) before it is retried. */
const HEARTBEAT_TIMEOUT_MS = 5_000;
/**
 * The most a setup step a person waits for (a key's verification, a code exchange) retries a provider
 * outage, well within the API's command deadline: then the setup fails, saying the provider was unavailable.
 */
const SETUP_BUDGET_MS = 30_000;

/** The retry policy every activity of the lifecycle starts from: permanent failures are never retried. */
const retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: [...permanentFailureTypes],
};

export interface LifecycleActivityOptions {
  /** Setup steps a person waits for: a provider outage is retried briefly, then the setup fails. */
  setup: ActivityOptions;
  /** Background provider calls (key probes): a few minutes at most; the next probe comes anyway. */
  background: ActivityOptions;
  /** A refresh is retried for as long as the access token still works (`tokenLeftMs`). */
  refresh(tokenLeftMs: number): ActivityOptions;
  /** Revocation retries a provider outage inside the activity, from memory, so it may run longer. */
  disconnect: ActivityOptions;
  /** The read model's own writes: Postgres only; retried through a database outage of some minutes. */
  records: LocalActivityOptions;
}

/** The lifecycle's option sets for provider calls that may take `activityTimeoutMs` per attempt. */
export function lifecycleActivityOptions(activityTimeoutMs: number): LifecycleActivityOptions {
  const attempt = activityTimeoutMs;
  const provider: ActivityOptions = {
    startToCloseTimeout: attempt,
    heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  };
  return {
    setup: { ...provider, scheduleToCloseTimeout: Math.min(attempt * 4, SETUP_BUDGET_MS) },
    background: { ...provider, scheduleToCloseTimeout: Math.max(attempt * 10, 300_000) },
    refresh: (tokenLeftMs) => ({
      ...provider,
      scheduleToCloseTimeout: Math.max(tokenLeftMs, attempt * 2),
      retry: { ...retry, maximumInterval: '5 minutes' },
    }),
    disconnect: { ...provider, startToCloseTimeout: '5 minutes', scheduleToCloseTimeout: '15 minutes' },
    records: recordsOptions,
  };
}

/** The read model's writes and the worker's settings: local, Postgres or memory only, whatever the settings. */
export const recordsOptions: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '10 minutes',
  localRetryThreshold: '10 seconds',
  retry: { ...retry, initialInterval: '200 milliseconds', maximumInterval: '1 minute' },
};

/** Listing a health event's dependents: Postgres only, retried through a database outage for up to a day. */
export const healthEventOptions: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
};

/** A dependent's notice: its webhook is retried with backoff for up to a day; a refusal is final. */
export const dependentNoticeOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: ['WebhookRefused'],
  },
};
