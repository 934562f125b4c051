// connectionLifecycle: one workflow per connection, the only writer of its status. Every command (setup,
// callback, refresh, activation, disconnect) and every timer (refresh before expiry, setup deadline, key
// probe) runs through one queue, so two refreshes of one connection never race. A disconnect (or a
// deactivation) does not wait behind a command that is failing: it cancels the commands queued before it that
// it makes pointless, and every activity is bounded. Activities seal and store credentials themselves and
// return metadata only: no credential ever appears in this workflow's history. This module is the driver:
// handlers, timers and continue-as-new; the rules are in lifecycle-state.ts, the shared steps in lifecycle-run.ts.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { installApiKeyHandlers, probeKey } from './api-key-commands.js';
import { endsReadinessWait } from './connection-status.js';
import { isFailureType, SUPERSEDED } from './failure-types.js';
import {
  admitWaiter,
  deadlines,
  isDue,
  nextDeadline,
  recordMetadata,
  refuseIfFinal,
  refuseUnlessStatus,
} from './lifecycle-state.js';
import { createLifecycleRun, refuse, unwrap, type LifecycleRun } from './lifecycle-run.js';
import {
  activateConnection,
  deactivateConnection,
  disconnectConnection,
  getConnection,
  refreshConnection,
  registerWaiter,
  type ConnectionLifecycleInput,
  type ConnectionSnapshot,
  type LifecycleSettings,
} from './messages.js';
import { endAuthorization, installOAuthHandlers, refreshTokens } from './oauth-commands.js';

export { MAX_WAITERS } from './lifecycle-state.js';
import { removeConnection, type RemovalContext } from './connection-removal.js';
import { BOUNDED_WAITERS_PATCH, REMOVAL_PATCH, WORKER_SETTINGS_PATCH } from './patches.js';

/**
 * A run continues as new once its history reaches this many events, or earlier when the server suggests it.
 * Well under Temporal's own suggestion (4,096 events by default), so that the events a run still adds while
 * its handlers finish never take it past 4,096, and a replay of any run stays short.
 */
export const HISTORY_EVENT_BUDGET = 2_000;

/** Before a background step that failed (its records could not be written) is tried again. */
const BACKGROUND_RETRY = '1 minute';

/** Whether two readings of the settings agree (plain data: compared as written). */
function sameSettings(a: LifecycleSettings, b: LifecycleSettings | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function timeToContinueAsNew(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= HISTORY_EVENT_BUDGET;
}

export async function connectionLifecycle(input: ConnectionLifecycleInput): Promise<ConnectionSnapshot> {
  const { connection } = input;
  const fromWorker = patched(WORKER_SETTINGS_PATCH);
  const run = createLifecycleRun(connection, input.carried, fromWorker ? undefined : input.settings);
  const { state, snapshot } = run;
  if (fromWorker) {
    // Read by the first command after each wait (a timer's step too), so that a worker started with other
    // settings changes the running connections it serves; a change re-arms the timers.
    let stale = true;
    run.beforeEachCommand = async () => {
      if (!stale) return;
      stale = false;
      const read = await run.localActivities().lifecycleSettings();
      if (sameSettings(read, run.settingsIfLoaded())) return;
      run.settings = read;
      run.wake = true;
    };
    run.markSettingsStale = () => {
      stale = true;
    };
  }

  // The settings are loaded, and then the connection's first record queued, before any handler can queue
  // work that reads them or refers to it.
  const loaded = fromWorker ? run.serialized(async () => undefined, 'never') : undefined;
  const recorded =
    state.sequence === 0
      ? run.serialized(() => run.transition('pending', 'setup_started', connection.createdBy), 'never')
      : undefined;

  installOAuthHandlers(run);
  installApiKeyHandlers(run);
  installStatusHandlers(run);

  // --- the main loop: timers --------------------------------------------------------------------------

  await loaded;
  await recorded;

  const awake = () => run.wake || run.isFinal() || timeToContinueAsNew();
  while (!run.isFinal()) {
    const now = Date.now();
    const next = nextDeadline(deadlines(state, connection, run.settings, now));
    run.wake = false;
    run.markSettingsStale();
    const woken =
      next === undefined ? await condition(awake) : await condition(awake, Math.max(next - now, 1));
    if (run.isFinal()) break;

    if (timeToContinueAsNew()) {
      await condition(allHandlersFinished);
      await run.drained();
      return continueAsNew<typeof connectionLifecycle>(
        fromWorker
          ? { connection, carried: state }
          : { connection, settings: input.settings, carried: state },
      );
    }
    if (woken) continue;

    try {
      await run.serialized(async () => {
        const at = Date.now();
        const due = deadlines(state, connection, run.settings, at);
        if (isDue(due.setup, at)) await endAuthorization(run, 'setup_timed_out', 'system');
        if (snapshot.status !== 'active') return;
        if (isDue(due.refresh, at)) await refresh(run, 'system', false);
        if (isDue(due.probe, at)) await probeKey(run, 'system');
      }, 'by-deactivation');
    } catch (error) {
      if (isFailureType(unwrap(error)?.type, SUPERSEDED)) continue;
      // A background step whose records could not be written (a long database outage): tried again later,
      // never failing the connection's workflow.
      log.warn('a scheduled step failed; trying again later', { error: (error as Error).message });
      await condition(awake, BACKGROUND_RETRY);
    }
  }

  await condition(allHandlersFinished);
  await run.drained();
  return { ...snapshot };
}

/** A refresh of an active connection (or, asked for, an expired one): new tokens, or a probe of the key. */
async function refresh(run: LifecycleRun, actor: string, onDemand: boolean): Promise<void> {
  const status = run.snapshot.status;
  if (status !== 'active' && !(onDemand && status === 'expired')) return;
  if (run.connection.authType === 'api_key') await probeKey(run, actor);
  else await refreshTokens(run, actor, onDemand);
}

/** Refresh, deactivation, activation, disconnect, the waiters and the query. */
function installStatusHandlers(run: LifecycleRun): void {
  const { connection, state, snapshot } = run;

  setHandler(refreshConnection, (request) =>
    run.serialized(async () => {
      refuse(refuseIfFinal(snapshot));
      // A refresh that completed after this request was made already answers it: concurrent requests
      // share one token request.
      const answered =
        request.requestedAt !== undefined &&
        state.lastRefreshAt !== undefined &&
        state.lastRefreshAt >= request.requestedAt;
      if (!answered) await refresh(run, request.actor, true);
      return { ...snapshot };
    }, 'by-deactivation'),
  );

  const mayDeactivate = () => refuse(refuseUnlessStatus(snapshot, 'active', 'deactivated'));
  setHandler(
    deactivateConnection,
    (request) => {
      run.preempt('deactivation');
      return run.serialized(async () => {
        mayDeactivate();
        await run.transition('inactive', request.reason ?? 'deactivated', request.actor);
        return { ...snapshot };
      }, 'never');
    },
    { validator: (_input) => mayDeactivate() },
  );

  const mayActivate = () => refuse(refuseUnlessStatus(snapshot, 'inactive', 'activated'));
  setHandler(
    activateConnection,
    (request) =>
      run.serialized(async () => {
        mayActivate();
        await run.transition('active', request.reason ?? 'activated', request.actor);
        // A token that came due while the connection was inactive is refreshed at once.
        if (isDue(snapshot.nextRefreshAt, Date.now())) await refresh(run, 'system', false);
        return { ...snapshot };
      }, 'by-disconnect'),
    { validator: (_input) => mayActivate() },
  );

  const removal: RemovalContext = {
    connection,
    state,
    // Read when used: the option sets follow the worker's settings, loaded after the handlers are set.
    get records() {
      return run.localActivities();
    },
    get credentials() {
      return run.disconnectActivities();
    },
    serialized: (work) => run.serialized(work, 'never'),
    preempt: () => run.preempt('disconnect'),
    metadata: (status) => recordMetadata(snapshot, status, run.settings),
    applyTransition: (to, reason) => run.applyTransition(to, reason),
  };
  setHandler(disconnectConnection, (request) => {
    if (patched(REMOVAL_PATCH)) return removeConnection(removal, request);
    run.preempt('disconnect');
    return run.serialized(async () => {
      const done = () => ({ disconnected: true as const, snapshot: { ...snapshot }, notified: [] });
      if (snapshot.status === 'disconnected') return done();
      state.authorization = undefined;
      snapshot.authorizationPending = false;
      await run.disconnectActivities().destroyCredentials({ connection, revoke: true });
      snapshot.tokenExpiresAt = undefined;
      snapshot.nextRefreshAt = undefined;
      await run.transition('disconnected', request.reason ?? 'disconnected', request.actor);
      return done();
    }, 'never');
  });

  setHandler(registerWaiter, (waiter) => {
    // Histories from before the bounded-waiters patch registered every waiter; the patch is asked only when a
    // waiter would be registered, as it always was.
    const waits = !endsReadinessWait(snapshot.status);
    const admission = admitWaiter(state, waiter, {
      bounded: waits && patched(BOUNDED_WAITERS_PATCH),
      maxWaiters: run.maxWaiters(),
    });
    if (admission === 'answer-now') void run.notify(waiter.workflowId);
    else if (admission === 'too-many') void run.notify(waiter.workflowId, 'too_many_waiters');
    else if (admission === 'registered') state.waiters.push(waiter);
  });

  setHandler(getConnection, () => ({ ...snapshot }));
}
