// One run of a connection's lifecycle workflow: its state, its command queue, its activity proxies and the
// writes every command shares (a transition, a notice, telling the waiters and the dependents). Workflow code: it may only be
// called from inside connectionLifecycle, and it never holds a credential (activities return metadata only).
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { lifecycleActivityOptions, recordsOptions } from './activity-options.js';
import { endsReadinessWait, isFinalStatus, type ConnectionStatus } from './connection-status.js';
import { isTemporaryFailureType, SUPERSEDED } from './failure-types.js';
import {
  applyTokenTimes,
  initialState,
  recordMetadata,
  refuseTransition,
  type Refusal,
} from './lifecycle-state.js';
import {
  connectionReady,
  connectionUnavailable,
  type CarriedState,
  type ConnectionRef,
  type LifecycleSettings,
} from './messages.js';
import { ConnectionStatus as ConnectionStatusKey } from './search-attributes.js';

import { healthEventFields, healthEventOf, startHealthEvent } from './dependent-notification.js';
import {
  HEALTH_EVENTS_PATCH,
  LOCAL_RECORDS_PATCH,
  PREEMPTION_PATCH,
  REFRESH_POLICY_PATCH,
} from './patches.js';

/** Which commands a disconnect or a deactivation cancels when they are queued or running before it. */
export type Stoppable = 'never' | 'by-deactivation' | 'by-disconnect';

/** Fails the command (an update's answer, or its validator's) with the refusal, if there is one. */
export function refuse(refusal: Refusal | undefined): void {
  if (refusal) throw ApplicationFailure.create({ ...refusal, nonRetryable: true });
}

export type LifecycleRun = ReturnType<typeof createLifecycleRun>;

/**
 * The run's state and shared steps. `settings` are the input's (runs from before the worker-settings patch)
 * or, undefined here, the worker's: loaded by the driver before any command reads them, and re-read.
 */
export function createLifecycleRun(
  connection: ConnectionRef,
  carried: CarriedState | undefined,
  settings: LifecycleSettings | undefined,
) {
  const state: CarriedState = carried ?? initialState(connection.id);
  const snapshot = state.snapshot;
  const commands = new Set<{ scope: CancellationScope; stoppable: Stoppable }>();
  let queue: Promise<unknown> = Promise.resolve();

  // The read model's own writes (a transition, a new schedule) and the key-usage read touch Postgres only:
  // they run as local activities, in the worker, without a round trip through the server for each, which
  // makes a setup or a refresh about one activity's worth of Temporal work instead of three. Histories
  // written before ran them as ordinary activities and still replay that way (the patch marker).
  const options = () => lifecycleActivityOptions(run.settings.activityTimeoutMs);
  const localRecords = () => proxyLocalActivities<Activities>(recordsOptions);
  let current = settings;

  const run = {
    connection,
    state,
    snapshot,
    get settings(): LifecycleSettings {
      // Unreachable by construction (the driver loads them first); a plain Error holds the task, not the run.
      if (!current) throw new Error('the lifecycle settings were read before they were loaded');
      return current;
    },
    set settings(value: LifecycleSettings) {
      current = value;
    },
    settingsIfLoaded: (): LifecycleSettings | undefined => current,
    /** The most waiters; the default until the settings are loaded (a signal may come first). */
    maxWaiters: () => current?.maxWaiters,
    /** Called as the main loop starts to wait: the next command re-reads the worker's settings. */
    markSettingsStale: () => undefined as void,
    /** Set whenever something changes what the main loop should wait for. */
    wake: false,
    isFinal: () => isFinalStatus(snapshot.status),
    /** Setup steps a person waits for. */
    setupActivities: () => proxyActivities<Activities>(options().setup),
    /** Background provider calls (key probes). */
    backgroundActivities: () => proxyActivities<Activities>(options().background),
    disconnectActivities: () => proxyActivities<Activities>(options().disconnect),
    /** A refresh, retried for as long as the current access token still works. */
    refreshActivities: (tokenLeftMs: number) => proxyActivities<Activities>(options().refresh(tokenLeftMs)),
    /** The read model's writes and reads; the worker's own settings. */
    localActivities: localRecords,
    records: () => (patched(LOCAL_RECORDS_PATCH) ? localRecords() : run.setupActivities()),

    /**
     * One command at a time: handlers and timers queue here, in arrival order. Each runs in a cancellation
     * scope of its own, so that a disconnect or deactivation can stop the ones it makes pointless.
     */
    serialized<T>(work: () => Promise<T>, stoppable: Stoppable): Promise<T> {
      const command = { scope: new CancellationScope(), stoppable };
      commands.add(command);
      const before = run.beforeEachCommand;
      const ran = queue
        .then(() =>
          command.scope.run(
            before
              ? async () => {
                  await run.unstoppable(before);
                  return work();
                }
              : work,
          ),
        )
        .catch((error: unknown) => {
          throw isCancellation(error) ? superseded() : error;
        })
        .finally(() => commands.delete(command));
      queue = ran.catch(() => undefined);
      return ran;
    },
    /** Runs first in every command (the worker's settings are re-read there); none in runs from before. */
    beforeEachCommand: undefined as (() => Promise<void>) | undefined,
    /** Settles once every command queued so far has. */
    drained: () => queue,

    /** Cancels what `by` makes pointless: a refresh or probe for a deactivation, anything for a disconnect. */
    preempt(by: 'deactivation' | 'disconnect'): void {
      if (!patched(PREEMPTION_PATCH)) return;
      for (const command of commands) {
        if (
          command.stoppable === 'by-deactivation' ||
          (by === 'disconnect' && command.stoppable !== 'never')
        ) {
          command.scope.cancel();
        }
      }
    },

    /** The read model's writes are never cut short half-way by a cancellation. */
    unstoppable: <T>(write: () => Promise<T>) => CancellationScope.nonCancellable(write),

    /** Records an event: a change of status, or (`to` the same status) one that is not, such as a key rotated. */
    async record(to: ConnectionStatus, reason: string | undefined, actor: string): Promise<void> {
      const from = state.sequence === 0 ? null : snapshot.status;
      // Numbered before it is written: a record that may have been written is never numbered twice.
      const sequence = ++state.sequence;
      await run.unstoppable(() =>
        run.records().recordTransition({
          connection,
          sequence,
          from,
          to,
          reason: reason ?? null,
          actor,
          at: Date.now(),
          metadata: recordMetadata(snapshot, to, run.settings),
        }),
      );
    },

    /** A new refresh schedule, without a change of status. */
    async recordSchedule(): Promise<void> {
      await run.unstoppable(() =>
        run
          .records()
          .recordSchedule({ connection, metadata: recordMetadata(snapshot, snapshot.status, run.settings) }),
      );
    },

    async transition(to: ConnectionStatus, reason: string | undefined, actor: string): Promise<void> {
      const from = state.sequence === 0 ? null : snapshot.status;
      refuse(refuseTransition(from, to));
      await run.record(to, reason, actor);
      await run.applyTransition(to, reason);
      await run.announce(from, to, reason ?? to);
    },

    /**
     * Tells the dependents of a health event, when the worker has a webhook: starts the event's own workflow
     * (numbered as the transition just recorded) and goes on without waiting for any delivery.
     */
    async announce(from: ConnectionStatus | null, to: ConnectionStatus, reason: string): Promise<void> {
      const type = healthEventOf(from, to);
      // Asked only for an event that would be told, so histories without a webhook hold no marker for it.
      if (!type || !current?.healthEvents || !patched(HEALTH_EVENTS_PATCH)) return;
      await startHealthEvent(
        healthEventFields(connection, { type, status: to, reason, sequence: state.sequence, at: Date.now() }),
      );
    },

    /** A transition once recorded: the snapshot, the search attribute, the waiters. */
    async applyTransition(to: ConnectionStatus, reason: string | undefined): Promise<void> {
      snapshot.status = to;
      snapshot.reason = reason;
      upsertSearchAttributes([{ key: ConnectionStatusKey, value: to }]);
      run.wake = true;
      await run.notifyWaiters();
    },

    /** An event that is not a change of status (a key rotated, a key due for rotation or unused). */
    async notice(reason: string, actor: string): Promise<void> {
      await run.record(snapshot.status, reason, actor);
      snapshot.reason = reason;
    },

    async notifyWaiters(): Promise<void> {
      if (!endsReadinessWait(snapshot.status)) return;
      const waiters = state.waiters.splice(0);
      await Promise.all(waiters.map((waiter) => run.notify(waiter.workflowId)));
    },

    async notify(workflowId: string, reason?: string): Promise<void> {
      const handle = getExternalWorkflowHandle(workflowId);
      try {
        if (snapshot.status === 'active' && !reason) {
          await handle.signal(connectionReady, { connectionId: connection.id });
        } else {
          await handle.signal(connectionUnavailable, {
            connectionId: connection.id,
            status: snapshot.status,
            reason: reason ?? snapshot.reason,
          });
        }
      } catch (error) {
        // A waiter that has already finished cannot be told; that is its business, not the connection's.
        log.warn('could not signal a waiting workflow', { workflowId, error: (error as Error).message });
      }
    },

    /** New token times and the next refresh (see applyTokenTimes); false when they cannot be kept ahead. */
    scheduleRefresh(token: { expiresAt?: number; obtainedAt?: number }): boolean {
      run.wake = true;
      return applyTokenTimes(state, token, run.settings, {
        now: Date.now(),
        random: Math.random,
        refreshPolicy: () => patched(REFRESH_POLICY_PATCH),
      });
    },

    /** Says once, in the status reason, that the provider's tokens cannot be kept ahead of their expiry. */
    async noteLifetime(keptAhead: boolean): Promise<void> {
      if (keptAhead) {
        state.lifetimeTooShort = false;
        return;
      }
      if (state.lifetimeTooShort) return;
      state.lifetimeTooShort = true;
      await run.notice('token_lifetime_too_short', 'system');
    },
  };
  return run;
}

function superseded(): ApplicationFailure {
  return ApplicationFailure.create({
    message: 'the command was cancelled: a disconnect or deactivation of the connection took precedence',
    type: SUPERSEDED,
    nonRetryable: true,
  });
}

/** The failure an activity ended with, as the activity raised it. */
export function unwrap(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
  return undefined;
}

/** A provider outage that outlasted the command: the retries ran out of time, not of hope. */
export function isTemporary(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  if (error.cause instanceof TimeoutFailure) return true;
  return isTemporaryFailureType(unwrap(error)?.type);
}
