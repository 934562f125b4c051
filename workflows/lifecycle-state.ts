// The connection lifecycle's state and its rules, as pure functions of plain data: which status may follow
// which, which command a status allows, what a refresh or a key probe does to the state, and when the next
// timer is due. No Temporal import, no clock and no randomness of its own (the driver hands in `now` and
// `random`), so every rule is tested without a server and the driver (connection-lifecycle.ts) stays thin.
import { endsReadinessWait, isFinalStatus, type ConnectionStatus } from './connection-status.js';
import { INVALID_STATE, type CommandFailureType } from './failure-types.js';
import type {
  CarriedState,
  ConnectionRef,
  ConnectionSnapshot,
  KeyNotice,
  LifecycleSettings,
  Waiter,
} from './messages.js';
import { attemptFloorMs, DEFAULT_REFRESH_FLOOR_MS, scheduleRefresh } from './refresh-policy.js';

/** Workflows waiting for one connection to become ready (by default); one more is told to come back later. */
export const MAX_WAITERS = 1_000;

/** The state of a connection whose workflow has just started. */
export function initialState(connectionId: string): CarriedState {
  return {
    snapshot: { id: connectionId, status: 'pending', authorizationPending: false },
    sequence: 0,
    waiters: [],
    keyNotices: [],
  };
}

/**
 * Which status may follow which. `pending` follows nothing but the first record; `failed` ends a first setup
 * only; every status but `disconnected` may be disconnected; a status may be recorded again with a new reason
 * (a re-authorization of an active connection, a refresh of an expired one that fails again).
 */
export const transitions: Readonly<Record<ConnectionStatus, readonly ConnectionStatus[]>> = {
  pending: ['pending', 'active', 'failed', 'disconnected'],
  active: ['active', 'inactive', 'expired', 'disconnected'],
  inactive: ['active', 'disconnected'],
  expired: ['active', 'expired', 'disconnected'],
  failed: ['disconnected'],
  disconnected: [],
};

/** Whether `to` may be recorded after `from` (`null`: the connection's first record). */
export function transitionAllowed(from: ConnectionStatus | null, to: ConnectionStatus): boolean {
  return from === null ? to === 'pending' : transitions[from].includes(to);
}

/** Why a command is refused: a safe message and the failure type the API translates. */
export interface Refusal {
  message: string;
  type: CommandFailureType;
}

const refusal = (message: string, type: CommandFailureType = INVALID_STATE): Refusal => ({ message, type });

/** A status the transitions table does not allow after the current one. */
export function refuseTransition(from: ConnectionStatus | null, to: ConnectionStatus): Refusal | undefined {
  return transitionAllowed(from, to)
    ? undefined
    : refusal(`a ${from ?? 'new'} connection cannot become ${to}`);
}

/** Nothing but a disconnect reaches a failed or disconnected connection. */
export function refuseIfFinal(snapshot: ConnectionSnapshot): Refusal | undefined {
  return isFinalStatus(snapshot.status) ? refusal(`the connection is ${snapshot.status}`) : undefined;
}

/** A command for one way of authenticating, sent to a connection that uses the other. */
export function refuseIfNotAuthType(
  connection: ConnectionRef,
  authType: ConnectionRef['authType'],
): Refusal | undefined {
  if (connection.authType === authType) return undefined;
  return refusal(`this connection does not use ${authType === 'oauth2' ? 'OAuth' : 'an API key'}`);
}

/** A callback with no authorization waiting for it changes nothing. */
export function refuseIfNoAuthorization(state: CarriedState): Refusal | undefined {
  return state.authorization
    ? undefined
    : refusal('no authorization is waiting for a callback', 'AuthorizationRefused');
}

/** Deactivation needs an active connection, activation an inactive one. */
export function refuseUnlessStatus(
  snapshot: ConnectionSnapshot,
  required: ConnectionStatus,
  action: string,
): Refusal | undefined {
  if (snapshot.status === required) return undefined;
  return refusal(`only an ${required} connection can be ${action} (it is ${snapshot.status})`);
}

/** What the read model records beside a transition: the token's and the key's times. */
export function recordMetadata(
  snapshot: ConnectionSnapshot,
  status: ConnectionStatus,
  settings: LifecycleSettings,
) {
  return {
    tokenExpiresAt: snapshot.tokenExpiresAt ?? null,
    nextRefreshAt: status === 'active' ? (snapshot.nextRefreshAt ?? null) : null,
    keyCreatedAt: snapshot.keyCreatedAt ?? null,
    keyRotationDueAt:
      snapshot.keyCreatedAt !== undefined ? snapshot.keyCreatedAt + settings.keyRotationDueMs : null,
  };
}

/** The least time between two refresh attempts: REFRESH_MIN_INTERVAL_SECONDS, or the default of old runs. */
export const refreshFloorOf = (settings: LifecycleSettings): number =>
  settings.refreshFloorMs ?? DEFAULT_REFRESH_FLOOR_MS;

/**
 * Records new token times and when to refresh next (by refresh-policy.ts, or by margin and jitter alone for
 * runs that started before it; `refreshPolicy` is asked only when the token expires). Answers false when the provider's tokens live too briefly to be refreshed
 * before they expire without asking it more often than the floor allows. `random` is called at most once.
 */
export function applyTokenTimes(
  state: CarriedState,
  token: { expiresAt?: number; obtainedAt?: number },
  settings: LifecycleSettings,
  clock: { now: number; random: () => number; refreshPolicy: () => boolean },
): boolean {
  const snapshot = state.snapshot;
  snapshot.tokenExpiresAt = token.expiresAt;
  state.tokenObtainedAt = token.obtainedAt;
  if (token.expiresAt === undefined) {
    snapshot.nextRefreshAt = undefined;
    return true;
  }
  if (!clock.refreshPolicy()) {
    snapshot.nextRefreshAt = Math.max(
      clock.now,
      token.expiresAt - settings.refreshMarginMs - Math.floor(clock.random() * settings.refreshJitterMs),
    );
    return true;
  }
  const schedule = scheduleRefresh({
    token: { expiresAt: token.expiresAt, obtainedAt: token.obtainedAt },
    now: clock.now,
    timing: {
      marginMs: settings.refreshMarginMs,
      jitterMs: settings.refreshJitterMs,
      floorMs: refreshFloorOf(settings),
    },
    lastAttemptAt: state.lastRefreshAttemptAt,
    failuresInARow: state.refreshFailures ?? 0,
    random: clock.random(),
  });
  snapshot.nextRefreshAt = schedule.at;
  return schedule.keptAhead;
}

/** When the provider may next be asked for a refresh: the floor after the last attempt, doubled per failure. */
export function earliestRefreshAttempt(state: CarriedState, settings: LifecycleSettings): number {
  const floor = attemptFloorMs(refreshFloorOf(settings), state.refreshFailures ?? 0);
  return (state.lastRefreshAttemptAt ?? -Infinity) + floor;
}

/** When the timers of the connection are due (epoch ms); absent ones are not running. */
export interface Deadlines {
  /** The pending authorization's deadline: then it ends with `setup_timed_out`. */
  setup?: number;
  /** An active OAuth connection's refresh (or, without a refresh token, its expiry). */
  refresh?: number;
  /** An active API-key connection's next probe. */
  probe?: number;
}

export function deadlines(
  state: CarriedState,
  connection: ConnectionRef,
  settings: LifecycleSettings,
  now: number,
): Deadlines {
  const snapshot = state.snapshot;
  const due: Deadlines = {};
  if (state.authorization) due.setup = state.authorization.expiresAt;
  if (snapshot.status !== 'active') return due;
  if (connection.authType === 'oauth2' && snapshot.nextRefreshAt !== undefined) {
    due.refresh = snapshot.hasRefreshToken
      ? snapshot.nextRefreshAt
      : (snapshot.tokenExpiresAt ?? snapshot.nextRefreshAt);
  }
  if (connection.authType === 'api_key')
    due.probe = (state.lastProbeAt ?? now) + settings.apiKeyProbeIntervalMs;
  return due;
}

/** The earliest of the deadlines, or undefined when no timer runs. */
export function nextDeadline(due: Deadlines): number | undefined {
  const times = [due.setup, due.refresh, due.probe].filter((at): at is number => at !== undefined);
  return times.length ? Math.min(...times) : undefined;
}

/** Whether a deadline has come. */
export const isDue = (at: number | undefined, now: number): boolean => at !== undefined && now >= at;

/** The key notices due now and not yet given since the key was stored, in the order they are recorded. */
export function keyNoticesDue(
  state: CarriedState,
  settings: LifecycleSettings,
  usage: { lastUsedAt?: number },
  now: number,
): KeyNotice[] {
  const keyCreatedAt = state.snapshot.keyCreatedAt;
  const notices: KeyNotice[] = [];
  if (keyCreatedAt !== undefined && now >= keyCreatedAt + settings.keyRotationDueMs)
    notices.push('key_rotation_due');
  const lastUse = usage.lastUsedAt ?? keyCreatedAt;
  if (lastUse !== undefined && now - lastUse >= settings.keyUnusedMs) notices.push('key_unused');
  return notices.filter((notice) => !state.keyNotices.includes(notice));
}

/** What a waiter's registration comes to: told now, ignored (known already), refused (too many), or kept. */
export type WaiterAdmission = 'answer-now' | 'known' | 'too-many' | 'registered';

export function admitWaiter(
  state: CarriedState,
  waiter: Waiter,
  options: { bounded: boolean; maxWaiters?: number },
): WaiterAdmission {
  if (endsReadinessWait(state.snapshot.status)) return 'answer-now';
  if (options.bounded) {
    if (state.waiters.some((known) => known.workflowId === waiter.workflowId)) return 'known';
    if (state.waiters.length >= (options.maxWaiters ?? MAX_WAITERS)) return 'too-many';
  }
  return 'registered';
}
