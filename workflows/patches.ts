// Every patch id of the connection workflow, defined once, oldest first. A change to the commands the
// workflow issues goes behind a new id here (and `patched()` where it applies), so that histories recorded
// before still replay; the replay test (test/lifecycle/history.test.ts) checks a recorded history holds
// every id in this list. An id is never reused or removed while a run from before it may still exist.

/** Transitions, schedules and key-usage reads run as local activities from this patch on. */
export const LOCAL_RECORDS_PATCH = 'local-activity-records';
/** Refreshes scheduled by refresh-policy.ts (margin bounded by the lifetime, floor, backoff) from this patch on. */
export const REFRESH_POLICY_PATCH = 'refresh-policy';
/** A disconnect or deactivation cancels the commands it makes pointless, from this patch on. */
export const PREEMPTION_PATCH = 'preemptive-stop';
/** Waiters are registered once each, at most MAX_WAITERS, from this patch on. */
export const BOUNDED_WAITERS_PATCH = 'bounded-waiters';
/**
 * The settings are the worker's (its configuration, read by a local activity at the start of each run and
 * before each wait), not the input's, from this patch on. Runs from before keep the settings of their input.
 */
export const WORKER_SETTINGS_PATCH = 'worker-settings';
/** Removals are recorded, refused and notified by the workflow (recordRemoval) from this patch on. */
export const REMOVAL_PATCH = 'removal-in-workflow';
/**
 * Dependents are told of each health event (created, expired, recovered, deactivated, activated) by a child
 * workflow per event, and removal notices carry the event's fields, from this patch on.
 */
export const HEALTH_EVENTS_PATCH = 'health-events';

export const patchIds = [
  LOCAL_RECORDS_PATCH,
  REFRESH_POLICY_PATCH,
  PREEMPTION_PATCH,
  BOUNDED_WAITERS_PATCH,
  WORKER_SETTINGS_PATCH,
  REMOVAL_PATCH,
  HEALTH_EVENTS_PATCH,
] as const;
