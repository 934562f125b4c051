// connectionLifecycle: one workflow per connection, the only writer of its status. Every command (setup,
// callback, refresh, activation, disconnect) and every timer (refresh before expiry, setup deadline, key
// probe) runs through one queue, so two refreshes of one connection never race. A disconnect (or a
// deactivation) does not wait behind a command that is failing: it cancels the commands queued before it that
// it makes pointless, and every activity is bounded. Activities seal and store credentials themselves and
// return metadata only: no credential ever appears in this workflow's history.
import {
  ActivityCancellationType,
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  TimeoutFailure,
  log,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { INVALID_STATE, isTemporaryFailureType, permanentFailureTypes, SUPERSEDED } from './failure-types.js';
import {
  activateConnection,
  beginAuthorization,
  completeAuthorization,
  connectionReady,
  connectionUnavailable,
  deactivateConnection,
  disconnectConnection,
  getConnection,
  refreshConnection,
  registerWaiter,
  submitApiKey,
  type CarriedState,
  type ConnectionLifecycleInput,
  type ConnectionSnapshot,
  type ConnectionStatus,
  type KeyNotice,
  type LifecycleSettings,
} from './messages.js';
import {
  attemptFloorMs,
  DEFAULT_REFRESH_FLOOR_MS,
  scheduleRefresh as refreshSchedule,
} from './refresh-policy.js';
import { ConnectionStatus as ConnectionStatusKey } from './search-attributes.js';
import { removeConnection, REMOVAL_PATCH } from './connection-removal.js';

/**
 * A run continues as new once its history reaches this many events, or earlier when the server suggests it.
 * Well under Temporal's own suggestion (4,096 events by default), so that the events a run still adds while
 * its handlers finish never take it past 4,096, and a replay of any run stays short.
 */
export const HISTORY_EVENT_BUDGET = 2_000;

/** Transitions, schedules and key-usage reads run as local activities from this patch on. */
export const LOCAL_RECORDS_PATCH = 'local-activity-records';
/** Refreshes scheduled by refresh-policy.ts (margin bounded by the lifetime, floor, backoff) from this patch on. */
export const REFRESH_POLICY_PATCH = 'refresh-policy';
/** A disconnect or deactivation cancels the commands it makes pointless, from this patch on. */
export const PREEMPTION_PATCH = 'preemptive-stop';
/** Waiters are registered once each, at most MAX_WAITERS, from this patch on. */
export const BOUNDED_WAITERS_PATCH = 'bounded-waiters';

/** Workflows waiting for one connection to become ready (by default); one more is told to come back later. */
export const MAX_WAITERS = 1_000;

/** How long a non-local activity may go without a heartbeat (they beat every second) before it is retried. */
const HEARTBEAT_TIMEOUT_MS = 5_000;
/**
 * The most a setup step a person waits for (a key's verification, a code exchange) retries a provider
 * outage, well within the API's command deadline: then the setup fails, saying the provider was unavailable.
 */
const SETUP_BUDGET_MS = 30_000;
/** Before a background step that failed (its records could not be written) is tried again. */
const BACKGROUND_RETRY = '1 minute';

function timeToContinueAsNew(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= HISTORY_EVENT_BUDGET;
}

/**
 * The activity option sets, defined once. Every one is bounded: a maximum time for the whole command
 * (schedule-to-close) on top of each attempt's, so that nothing is retried for ever.
 */
function activityOptionSets(settings: LifecycleSettings) {
  const retry = {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: [...permanentFailureTypes],
  };
  const attempt = settings.activityTimeoutMs;
  const provider: ActivityOptions = {
    startToCloseTimeout: attempt,
    heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  };
  return {
    /** Setup steps a person waits for: a provider outage is retried briefly, then the setup fails. */
    setup: { ...provider, scheduleToCloseTimeout: Math.min(attempt * 4, SETUP_BUDGET_MS) },
    /** Background provider calls (key probes): a few minutes at most; the next probe comes anyway. */
    background: { ...provider, scheduleToCloseTimeout: Math.max(attempt * 10, 300_000) },
    /** A refresh is retried for as long as the access token still works (`tokenLeftMs`). */
    refresh: (tokenLeftMs: number): ActivityOptions => ({
      ...provider,
      scheduleToCloseTimeout: Math.max(tokenLeftMs, attempt * 2),
      retry: { ...retry, maximumInterval: '5 minutes' },
    }),
    /** Revocation retries a provider outage inside the activity, from memory, so it may run longer. */
    disconnect: { ...provider, startToCloseTimeout: '5 minutes', scheduleToCloseTimeout: '15 minutes' },
    /** The read model's own writes: Postgres only; retried through a database outage of some minutes. */
    records: {
      startToCloseTimeout: '10 seconds',
      scheduleToCloseTimeout: '10 minutes',
      localRetryThreshold: '10 seconds',
      retry: { ...retry, initialInterval: '200 milliseconds', maximumInterval: '1 minute' },
    },
  };
}

/** Which commands a disconnect or a deactivation cancels when they are queued or running before it. */
type Stoppable = 'never' | 'by-deactivation' | 'by-disconnect';

export async function connectionLifecycle(input: ConnectionLifecycleInput): Promise<ConnectionSnapshot> {
  const { connection, settings } = input;
  const options = activityOptionSets(settings);
  const acts = proxyActivities<Activities>(options.setup);
  const backgroundActs = proxyActivities<Activities>(options.background);
  const disconnectActs = proxyActivities<Activities>(options.disconnect);

  // The read model's own writes (a transition, a new schedule) and the key-usage read touch Postgres only:
  // they run as local activities, in the worker, without a round trip through the server for each, which
  // makes a setup or a refresh about one activity's worth of Temporal work instead of three. Histories
  // written before ran them as ordinary activities and still replay that way (the patch marker).
  const localRecords = proxyLocalActivities<Activities>(options.records);
  const records = () => (patched(LOCAL_RECORDS_PATCH) ? localRecords : acts);
  const refreshFloorMs = settings.refreshFloorMs ?? DEFAULT_REFRESH_FLOOR_MS;

  const state: CarriedState = input.carried ?? {
    snapshot: { id: connection.id, status: 'pending', authorizationPending: false },
    sequence: 0,
    waiters: [],
    keyNotices: [],
  };
  const snapshot = state.snapshot;
  /** Set whenever something changes what the main loop should wait for. */
  let wake = false;

  // One command at a time: handlers and timers queue here, in arrival order. Each runs in a cancellation
  // scope of its own, so that a disconnect or deactivation can stop the ones it makes pointless.
  let queue: Promise<unknown> = Promise.resolve();
  const commands = new Set<{ scope: CancellationScope; stoppable: Stoppable }>();
  function serialized<T>(work: () => Promise<T>, stoppable: Stoppable): Promise<T> {
    const command = { scope: new CancellationScope(), stoppable };
    commands.add(command);
    const run = queue
      .then(() => command.scope.run(work))
      .catch((error: unknown) => {
        throw isCancellation(error) ? superseded() : error;
      })
      .finally(() => commands.delete(command));
    queue = run.catch(() => undefined);
    return run;
  }

  /** Cancels what `by` makes pointless: a refresh or probe for a deactivation, anything for a disconnect. */
  function preempt(by: 'deactivation' | 'disconnect'): void {
    if (!patched(PREEMPTION_PATCH)) return;
    for (const command of commands) {
      if (command.stoppable === 'by-deactivation' || (by === 'disconnect' && command.stoppable !== 'never')) {
        command.scope.cancel();
      }
    }
  }

  /** The read model's writes are never cut short half-way by a cancellation. */
  const unstoppable = <T>(write: () => Promise<T>) => CancellationScope.nonCancellable(write);

  async function transition(to: ConnectionStatus, reason: string | undefined, actor: string): Promise<void> {
    const from = state.sequence === 0 ? null : snapshot.status;
    // Numbered before it is written: a record that may have been written is never numbered twice.
    const sequence = ++state.sequence;
    await unstoppable(() =>
      records().recordTransition({
        connection,
        sequence,
        from,
        to,
        reason: reason ?? null,
        actor,
        at: Date.now(),
        metadata: metadata(to),
      }),
    );
    await applyTransition(to, reason);
  }

  /** A transition once recorded: the snapshot, the search attribute, the waiters. */
  async function applyTransition(to: ConnectionStatus, reason: string | undefined): Promise<void> {
    snapshot.status = to;
    snapshot.reason = reason;
    upsertSearchAttributes([{ key: ConnectionStatusKey, value: to }]);
    wake = true;
    await notifyWaiters();
  }

  /** An event that is not a change of status (a key rotated, a key due for rotation or unused). */
  async function notice(reason: string, actor: string): Promise<void> {
    const sequence = ++state.sequence;
    await unstoppable(() =>
      records().recordTransition({
        connection,
        sequence,
        from: snapshot.status,
        to: snapshot.status,
        reason,
        actor,
        at: Date.now(),
        metadata: metadata(snapshot.status),
      }),
    );
    snapshot.reason = reason;
  }

  function metadata(status: ConnectionStatus) {
    return {
      tokenExpiresAt: snapshot.tokenExpiresAt ?? null,
      nextRefreshAt: status === 'active' ? (snapshot.nextRefreshAt ?? null) : null,
      keyCreatedAt: snapshot.keyCreatedAt ?? null,
      keyRotationDueAt:
        snapshot.keyCreatedAt !== undefined ? snapshot.keyCreatedAt + settings.keyRotationDueMs : null,
    };
  }

  async function notifyWaiters(): Promise<void> {
    const status = snapshot.status;
    if (status !== 'active' && status !== 'failed' && status !== 'expired' && status !== 'disconnected')
      return;
    const waiters = state.waiters.splice(0);
    await Promise.all(waiters.map((waiter) => notify(waiter.workflowId)));
  }

  async function notify(workflowId: string, reason?: string): Promise<void> {
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
  }

  /**
   * Records new token times and when to refresh next. Answers false when the provider's tokens live too
   * briefly to be refreshed before they expire without asking it more often than the floor allows.
   */
  function scheduleRefresh(token: { expiresAt?: number; obtainedAt?: number }): boolean {
    snapshot.tokenExpiresAt = token.expiresAt;
    state.tokenObtainedAt = token.obtainedAt;
    wake = true;
    if (token.expiresAt === undefined) {
      snapshot.nextRefreshAt = undefined;
      return true;
    }
    if (!patched(REFRESH_POLICY_PATCH)) {
      snapshot.nextRefreshAt = Math.max(
        Date.now(),
        token.expiresAt - settings.refreshMarginMs - Math.floor(Math.random() * settings.refreshJitterMs),
      );
      return true;
    }
    const schedule = refreshSchedule({
      token: { expiresAt: token.expiresAt, obtainedAt: token.obtainedAt },
      now: Date.now(),
      timing: {
        marginMs: settings.refreshMarginMs,
        jitterMs: settings.refreshJitterMs,
        floorMs: refreshFloorMs,
      },
      lastAttemptAt: state.lastRefreshAttemptAt,
      failuresInARow: state.refreshFailures ?? 0,
      random: Math.random(),
    });
    snapshot.nextRefreshAt = schedule.at;
    return schedule.keptAhead;
  }

  /** Says once, in the status reason, that the provider's tokens cannot be kept ahead of their expiry. */
  async function noteLifetime(keptAhead: boolean): Promise<void> {
    if (keptAhead) {
      state.lifetimeTooShort = false;
      return;
    }
    if (state.lifetimeTooShort) return;
    state.lifetimeTooShort = true;
    await notice('token_lifetime_too_short', 'system');
  }

  function isFinal(): boolean {
    return snapshot.status === 'failed' || snapshot.status === 'disconnected';
  }

  function refuse(message: string, type = INVALID_STATE): never {
    throw ApplicationFailure.create({ message, type, nonRetryable: true });
  }

  // The connection's first record is queued before any handler can queue work that refers to it.
  const recorded =
    state.sequence === 0
      ? serialized(() => transition('pending', 'setup_started', connection.createdBy), 'never')
      : undefined;

  // --- OAuth setup and re-authorization ---------------------------------------------------------------

  setHandler(
    beginAuthorization,
    (request) =>
      serialized(async () => {
        if (connection.authType !== 'oauth2') refuse('this connection does not use OAuth');
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
        const setupId = uuid4();
        const expiresAt = Date.now() + settings.setupTimeoutMs;
        let authorizationUrl: string;
        try {
          ({ authorizationUrl } = await acts.createAuthorizationRequest({
            connection,
            setupId,
            redirectUri: request.redirectUri,
            scopes: request.scopes,
            expiresAt,
          }));
        } catch (error) {
          if (isCancellation(error)) throw error;
          // A first setup that cannot even start must not leave a connection pending forever.
          if (snapshot.status === 'pending' && !state.authorization) {
            await transition('failed', 'setup_failed', request.actor);
          }
          throw unwrap(error) ?? error;
        }
        state.authorization = {
          setupId,
          expiresAt,
          initial: snapshot.status === 'pending',
          returnTo: request.returnTo ?? null,
        };
        snapshot.authorizationPending = true;
        wake = true;
        return { authorizationUrl, expiresAt };
      }, 'by-disconnect'),
    {
      validator: (_input) => {
        if (connection.authType !== 'oauth2') refuse('this connection does not use OAuth');
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
      },
    },
  );

  setHandler(
    completeAuthorization,
    (callback) =>
      serialized(async () => {
        const pending = state.authorization;
        if (!pending) refuse('no authorization is waiting for a callback', 'AuthorizationRefused');
        const outcome = () => ({ snapshot: { ...snapshot }, returnTo: pending.returnTo });
        if (callback.error) {
          // Only the current authorization's own state may end it, and only once.
          await acts.consumeAuthorizationState({
            connection,
            setupId: pending.setupId,
            state: callback.state,
          });
          await endAuthorization(
            callback.error === 'access_denied' ? 'access_denied' : 'provider_error',
            'provider',
          );
          return outcome();
        }
        let result;
        try {
          result = await acts.exchangeAuthorizationCode({
            connection,
            setupId: pending.setupId,
            state: callback.state,
            sealedCode: callback.sealedCode,
            iss: callback.iss,
          });
        } catch (error) {
          if (isCancellation(error)) throw error;
          const failure = unwrap(error);
          if (failure?.type === 'AuthorizationRefused') throw failure; // a bad callback changes nothing
          await endAuthorization(
            failure?.type === 'CredentialRejected' ? 'exchange_refused' : 'exchange_failed',
            'provider',
          );
          return outcome();
        }
        state.authorization = undefined;
        snapshot.authorizationPending = false;
        snapshot.hasRefreshToken = result.hasRefreshToken;
        snapshot.scopes = result.scopes;
        state.lastRefreshAt = Date.now();
        state.refreshFailures = 0;
        const keptAhead = scheduleRefresh(result);
        await transition('active', snapshot.status === 'pending' ? 'authorized' : 'reauthorized', 'provider');
        await noteLifetime(keptAhead);
        return outcome();
      }, 'by-disconnect'),
    {
      validator: (_input) => {
        if (!state.authorization)
          refuse('no authorization is waiting for a callback', 'AuthorizationRefused');
      },
    },
  );

  /** An authorization that ends without tokens: the first setup fails the connection, a re-authorization does not. */
  async function endAuthorization(reason: string, actor: string): Promise<void> {
    const pending = state.authorization;
    state.authorization = undefined;
    snapshot.authorizationPending = false;
    wake = true;
    if (pending?.initial && snapshot.status === 'pending') await transition('failed', reason, actor);
  }

  // --- API keys -------------------------------------------------------------------------------------

  setHandler(
    submitApiKey,
    (request) =>
      serialized(async () => {
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
        try {
          const stored = await acts.storeApiKey({ connection, sealedKey: request.sealedKey });
          snapshot.keyCreatedAt = stored.keyCreatedAt;
          state.keyNotices = [];
          state.lastProbeAt = Date.now();
        } catch (error) {
          if (isCancellation(error)) throw error;
          const failure = unwrap(error);
          const reason =
            failure?.type === 'CredentialRejected'
              ? 'provider_rejected'
              : isTemporary(error)
                ? 'provider_unavailable'
                : 'verification_failed';
          if (snapshot.status === 'pending') await transition('failed', reason, request.actor);
          // A rotation the provider refuses (or cannot answer) leaves the connection on its old key.
          else if (reason === 'provider_unavailable') {
            refuse('the provider could not be reached to verify the key', 'ProviderUnavailable');
          } else refuse(`the provider rejected the key (${reason})`, 'ProviderRejected');
          return { ...snapshot };
        }
        if (snapshot.status !== 'active') {
          await transition(
            'active',
            snapshot.status === 'pending' ? 'key_verified' : 'key_rotated',
            request.actor,
          );
        } else {
          await notice('key_rotated', request.actor);
        }
        return { ...snapshot };
      }, 'by-disconnect'),
    {
      validator: (_input) => {
        if (connection.authType !== 'api_key') refuse('this connection does not use an API key');
        if (isFinal()) refuse(`the connection is ${snapshot.status}`);
      },
    },
  );

  // --- refresh --------------------------------------------------------------------------------------

  async function refresh(actor: string, onDemand: boolean): Promise<void> {
    if (snapshot.status !== 'active' && !(onDemand && snapshot.status === 'expired')) return;
    if (connection.authType === 'api_key') {
      await probeKey(actor);
      return;
    }
    if (!snapshot.hasRefreshToken) {
      if (!onDemand && snapshot.tokenExpiresAt !== undefined && Date.now() >= snapshot.tokenExpiresAt) {
        await transition('expired', 'token_expired_without_refresh_token', 'system');
      }
      return;
    }
    if (patched(REFRESH_POLICY_PATCH)) {
      // However often a refresh is asked for, the provider is asked at most once per floor (doubled for each
      // failure in a row): a token that lives briefly, or a caller that insists, never makes a loop of it.
      const floor = attemptFloorMs(refreshFloorMs, state.refreshFailures ?? 0);
      const earliest = (state.lastRefreshAttemptAt ?? -Infinity) + floor;
      if (Date.now() < earliest) {
        // A timer due before the floor (the connection was inactive, say) waits for it rather than spinning.
        if (!onDemand) {
          snapshot.nextRefreshAt = earliest;
          wake = true;
        }
        return;
      }
      state.lastRefreshAttemptAt = Date.now();
    }
    // Retry temporary provider failures for as long as the current access token still works.
    const tokenLeftMs = (snapshot.tokenExpiresAt ?? Date.now()) - Date.now();
    const refreshActs = proxyActivities<Activities>(options.refresh(tokenLeftMs));
    try {
      const result = await refreshActs.refreshAccessToken({ connection });
      state.lastRefreshAt = Date.now();
      state.refreshFailures = 0;
      snapshot.hasRefreshToken = result.hasRefreshToken;
      if (result.scopes) snapshot.scopes = result.scopes;
      const keptAhead = scheduleRefresh(result);
      if (snapshot.status === 'expired') await transition('active', 'refreshed', actor);
      else {
        await unstoppable(() =>
          records().recordSchedule({ connection, metadata: metadata(snapshot.status) }),
        );
      }
      await noteLifetime(keptAhead);
    } catch (error) {
      if (isCancellation(error)) throw error;
      state.refreshFailures = (state.refreshFailures ?? 0) + 1;
      const failure = unwrap(error);
      if (failure?.type === 'CredentialRejected') await transition('expired', 'refresh_rejected', 'provider');
      else if (isTemporary(error)) await transition('expired', 'refresh_failed_until_expiry', 'system');
      else await transition('expired', 'refresh_failed', 'system');
    }
  }

  async function probeKey(actor: string): Promise<void> {
    state.lastProbeAt = Date.now();
    try {
      await backgroundActs.probeApiKey({ connection });
    } catch (error) {
      if (isCancellation(error)) throw error;
      const failure = unwrap(error);
      if (failure?.type === 'CredentialRejected') await transition('expired', 'key_rejected', actor);
      // Anything else (provider down) leaves the key as it is until the next probe.
      return;
    }
    await noteKeyAge();
  }

  async function noteKeyAge(): Promise<void> {
    const usage = await unstoppable(() => records().readKeyUsage({ connection }));
    const notices: KeyNotice[] = [];
    const now = Date.now();
    if (snapshot.keyCreatedAt !== undefined && now >= snapshot.keyCreatedAt + settings.keyRotationDueMs)
      notices.push('key_rotation_due');
    const lastUse = usage.lastUsedAt ?? snapshot.keyCreatedAt;
    if (lastUse !== undefined && now - lastUse >= settings.keyUnusedMs) notices.push('key_unused');
    for (const keyNotice of notices) {
      if (state.keyNotices.includes(keyNotice)) continue;
      state.keyNotices.push(keyNotice);
      await notice(keyNotice, 'system');
    }
  }

  setHandler(refreshConnection, (request) =>
    serialized(async () => {
      if (isFinal()) refuse(`the connection is ${snapshot.status}`);
      // A refresh that completed after this request was made already answers it: concurrent requests
      // share one token request.
      const answered =
        request.requestedAt !== undefined &&
        state.lastRefreshAt !== undefined &&
        state.lastRefreshAt >= request.requestedAt;
      if (!answered) await refresh(request.actor, true);
      return { ...snapshot };
    }, 'by-deactivation'),
  );

  // --- deactivate, activate, disconnect -------------------------------------------------------------

  function requireStatus(required: ConnectionStatus, action: string): void {
    if (snapshot.status !== required) {
      refuse(`only an ${required} connection can be ${action} (it is ${snapshot.status})`);
    }
  }

  setHandler(
    deactivateConnection,
    (request) => {
      preempt('deactivation');
      return serialized(async () => {
        requireStatus('active', 'deactivated');
        await transition('inactive', request.reason ?? 'deactivated', request.actor);
        return { ...snapshot };
      }, 'never');
    },
    { validator: (_input) => requireStatus('active', 'deactivated') },
  );

  setHandler(
    activateConnection,
    (request) =>
      serialized(async () => {
        requireStatus('inactive', 'activated');
        await transition('active', request.reason ?? 'activated', request.actor);
        // A token that came due while the connection was inactive is refreshed at once.
        if (snapshot.nextRefreshAt !== undefined && snapshot.nextRefreshAt <= Date.now())
          await refresh('system', false);
        return { ...snapshot };
      }, 'by-disconnect'),
    { validator: (_input) => requireStatus('inactive', 'activated') },
  );

  const removal = {
    connection,
    state,
    records: localRecords,
    credentials: disconnectActs,
    serialized: <T>(work: () => Promise<T>) => serialized(work, 'never'),
    preempt: () => preempt('disconnect'),
    metadata,
    applyTransition,
  };
  setHandler(disconnectConnection, (request) => {
    if (patched(REMOVAL_PATCH)) return removeConnection(removal, request);
    preempt('disconnect');
    return serialized(async () => {
      const done = () => ({ disconnected: true as const, snapshot: { ...snapshot }, notified: [] });
      if (snapshot.status === 'disconnected') return done();
      state.authorization = undefined;
      snapshot.authorizationPending = false;
      await disconnectActs.destroyCredentials({ connection, revoke: true });
      snapshot.tokenExpiresAt = undefined;
      snapshot.nextRefreshAt = undefined;
      await transition('disconnected', request.reason ?? 'disconnected', request.actor);
      return done();
    }, 'never');
  });

  // --- waiters and queries --------------------------------------------------------------------------

  setHandler(registerWaiter, (waiter) => {
    if (snapshot.status !== 'pending' && snapshot.status !== 'inactive') {
      void notify(waiter.workflowId);
      return;
    }
    if (patched(BOUNDED_WAITERS_PATCH)) {
      if (state.waiters.some((known) => known.workflowId === waiter.workflowId)) return;
      if (state.waiters.length >= (settings.maxWaiters ?? MAX_WAITERS)) {
        void notify(waiter.workflowId, 'too_many_waiters');
        return;
      }
    }
    state.waiters.push(waiter);
  });

  setHandler(getConnection, () => ({ ...snapshot }));

  // --- the main loop: timers --------------------------------------------------------------------------

  await recorded;

  while (!isFinal()) {
    const now = Date.now();
    const deadlines: number[] = [];
    if (state.authorization) deadlines.push(state.authorization.expiresAt);
    if (
      snapshot.status === 'active' &&
      connection.authType === 'oauth2' &&
      snapshot.nextRefreshAt !== undefined
    ) {
      deadlines.push(
        snapshot.hasRefreshToken
          ? snapshot.nextRefreshAt
          : (snapshot.tokenExpiresAt ?? snapshot.nextRefreshAt),
      );
    }
    if (snapshot.status === 'active' && connection.authType === 'api_key') {
      deadlines.push((state.lastProbeAt ?? now) + settings.apiKeyProbeIntervalMs);
    }
    const next = deadlines.length ? Math.min(...deadlines) : undefined;
    wake = false;
    const woken =
      next === undefined
        ? await condition(() => wake || isFinal() || timeToContinueAsNew())
        : await condition(() => wake || isFinal() || timeToContinueAsNew(), Math.max(next - now, 1));
    if (isFinal()) break;

    if (timeToContinueAsNew()) {
      await condition(allHandlersFinished);
      await queue;
      return continueAsNew<typeof connectionLifecycle>({ connection, settings, carried: state });
    }
    if (woken) continue;

    try {
      await serialized(async () => {
        const at = Date.now();
        if (state.authorization && at >= state.authorization.expiresAt)
          await endAuthorization('setup_timed_out', 'system');
        if (snapshot.status !== 'active') return;
        if (connection.authType === 'oauth2' && snapshot.nextRefreshAt !== undefined) {
          const due = snapshot.hasRefreshToken
            ? snapshot.nextRefreshAt
            : (snapshot.tokenExpiresAt ?? snapshot.nextRefreshAt);
          if (at >= due) await refresh('system', false);
        }
        if (
          connection.authType === 'api_key' &&
          at >= (state.lastProbeAt ?? at) + settings.apiKeyProbeIntervalMs
        ) {
          await probeKey('system');
        }
      }, 'by-deactivation');
    } catch (error) {
      if (unwrap(error)?.type === SUPERSEDED) continue;
      // A background step whose records could not be written (a long database outage): tried again later,
      // never failing the connection's workflow.
      log.warn('a scheduled step failed; trying again later', { error: (error as Error).message });
      await condition(() => wake || isFinal() || timeToContinueAsNew(), BACKGROUND_RETRY);
    }
  }

  await condition(allHandlersFinished);
  await queue;
  return { ...snapshot };
}

function superseded(): ApplicationFailure {
  return ApplicationFailure.create({
    message: 'the command was cancelled: a disconnect or deactivation of the connection took precedence',
    type: SUPERSEDED,
    nonRetryable: true,
  });
}

/** A provider outage that outlasted the token: the retries ran out of time, not of hope. */
function isTemporary(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  if (error.cause instanceof TimeoutFailure) return true;
  return isTemporaryFailureType(unwrap(error)?.type);
}

function unwrap(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
  return undefined;
}
