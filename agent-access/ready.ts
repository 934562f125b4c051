// The readiness long-poll: answers as soon as a connection is active or can no longer become so (failed,
// expired, disconnected), or with its status when the time is up. Woken by the change listener's notice of
// a transition, which carries the new status (committed with it), so a thousand waiters on one connection
// answer without a thousand reads; only a resync (the listener reconnected) re-reads the row. It never
// polls the database in a loop.
import type { Db } from '../db/database.js';
import { DEFAULT_READY_WAITS } from '../config/config.js';
import type { ConnectionMetadata } from '../connections/connection-store.js';
import type { ConnectionChangeListener, ConnectionChange } from '../connections/connection-changes.js';
import type { ConnectionStatus } from '../workflows/messages.js';
import { isUnavailableStatus, usableStatus } from '../workflows/connection-status.js';
import type { Claims } from '../api/auth.js';
import { visibleConnection } from '../connections/access.js';
import { ApiError } from '../api/errors.js';

export interface Readiness {
  ready: boolean;
  status: ConnectionStatus;
  reason?: string;
  /** Set when the answer is the status at the deadline rather than a final one. */
  timedOut?: true;
}

/**
 * The answer every waiter woken by one transition notice gives is one object, serialised once for all of
 * them: a thousand long-polls on one connection cost one JSON.stringify, then one write each.
 */
const answerByNotice = new WeakMap<ConnectionChange, Readiness | null>();
const bodyOfShared = new WeakMap<Readiness, Buffer>();

/** The final answer a transition notice gives, made once per notice (null: the notice settles nothing). */
function answerOfNotice(notice: ConnectionChange): Readiness | null {
  let answer = answerByNotice.get(notice);
  if (answer === undefined) {
    answer =
      settled({ status: notice.status as ConnectionStatus, statusReason: notice.reason ?? null }) ?? null;
    if (answer) bodyOfShared.set(answer, Buffer.from(JSON.stringify(answer)));
    answerByNotice.set(notice, answer);
  }
  return answer;
}

/** The JSON body of an answer shared by every waiter of one notice, serialised once; undefined for others. */
export function sharedBody(answer: Readiness): Buffer | undefined {
  return bodyOfShared.get(answer);
}

type Wake = (change?: ConnectionChange) => void;

/**
 * The waiters of each connection, in this process: one listener per connection with waiters (and one for
 * resyncs) on the change listener, whatever their number, so a waiter comes and goes in constant time and
 * a transition reaches a thousand of them in one pass (an emitter's own list is searched on every removal).
 */
class WaitingRoom {
  /** Each connection's waiters, and the one listener that wakes them. */
  private readonly byConnection = new Map<
    string,
    { waiters: Set<Wake>; listener: (change: ConnectionChange) => void }
  >();

  constructor(private readonly changes: ConnectionChangeListener) {
    changes.on('resync', () => {
      for (const { waiters } of this.byConnection.values()) for (const wake of [...waiters]) wake();
    });
  }

  enter(id: string, wake: Wake): () => void {
    let room = this.byConnection.get(id);
    if (!room) {
      const waiters = new Set<Wake>();
      room = { waiters, listener: (change) => [...waiters].forEach((each) => each(change)) };
      this.byConnection.set(id, room);
      this.changes.on(`change:${id}`, room.listener);
    }
    const entered = room;
    entered.waiters.add(wake);
    return () => {
      entered.waiters.delete(wake);
      if (entered.waiters.size > 0 || this.byConnection.get(id) !== entered) return;
      this.byConnection.delete(id);
      this.changes.off(`change:${id}`, entered.listener);
    };
  }

  /** Waiters of the connection now. */
  count(id: string): number {
    return this.byConnection.get(id)?.waiters.size ?? 0;
  }
}

const rooms = new WeakMap<ConnectionChangeListener, WaitingRoom>();

/** How many long-polls of this process wait for the connection now (each from before its first read). */
export function waitersOf(changes: ConnectionChangeListener, connectionId: string): number {
  return rooms.get(changes)?.count(connectionId) ?? 0;
}

function roomOf(changes: ConnectionChangeListener): WaitingRoom {
  let room = rooms.get(changes);
  if (!room) rooms.set(changes, (room = new WaitingRoom(changes)));
  return room;
}

/** How many long-polls may wait at once: per caller (workspace and sub) and in this process. */
export interface ReadyWaitLimits {
  perCaller: number;
  perProcess: number;
}

export const defaultReadyWaitLimits: ReadyWaitLimits = DEFAULT_READY_WAITS;

/** Seconds a caller refused a wait is told to come back after. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Admission of long-polls: each holds a socket, listeners and a timer for up to a minute, so their number is
 * bounded per caller (429) and per process (503), and a wait that ends always gives its place back.
 */
export class ReadyWaits {
  private readonly byCaller = new Map<string, number>();
  private total = 0;

  constructor(readonly limits: ReadyWaitLimits = defaultReadyWaitLimits) {}

  /** Takes a place for the caller, or throws; the function returned gives it back (once). */
  admit(callerKey: string): () => void {
    const held = this.byCaller.get(callerKey) ?? 0;
    const headers = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
    if (held >= this.limits.perCaller) {
      throw new ApiError(
        'rate_limited',
        `at most ${this.limits.perCaller} ready long-polls at once per caller`,
        undefined,
        headers,
      );
    }
    if (this.total >= this.limits.perProcess) {
      throw new ApiError('service_unavailable', 'too many ready long-polls are waiting', undefined, headers);
    }
    this.byCaller.set(callerKey, held + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byCaller.get(callerKey) ?? 1) - 1;
      if (left > 0) this.byCaller.set(callerKey, left);
      else this.byCaller.delete(callerKey);
    };
  }

  get waiting(): number {
    return this.total;
  }
}

function settled(connection: Pick<ConnectionMetadata, 'status' | 'statusReason'>): Readiness | undefined {
  if (connection.status === usableStatus) return { ready: true, status: usableStatus };
  if (isUnavailableStatus(connection.status)) {
    return {
      ready: false,
      status: connection.status,
      ...(connection.statusReason ? { reason: connection.statusReason } : {}),
    };
  }
  return undefined;
}

/**
 * Waits up to `timeoutMs` for the connection the caller may see (404 otherwise). Resolves undefined when
 * `signal` aborted first (the client went away, or cancelled); every listener and timer is removed before it
 * returns.
 */
export async function awaitReadiness(
  deps: { db: Db; changes: ConnectionChangeListener },
  caller: Claims,
  id: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Readiness | undefined> {
  const deadline = Date.now() + timeoutMs;
  let woken = false;
  let closed = signal.aborted;
  /** The newest status notice since the last look; undefined after a resync, which needs a read. */
  let noticed: ConnectionChange | undefined;
  let wake: (() => void) | undefined;
  const onChange = (change?: ConnectionChange) => {
    if (change && change.kind !== 'status') return;
    woken = true;
    noticed = change?.status ? change : undefined;
    wake?.();
  };
  const onClose = () => {
    closed = true;
    wake?.();
  };
  // Subscribed before the first read, so a transition between the read and the wait is not missed.
  const leave = roomOf(deps.changes).enter(id, onChange);
  signal.addEventListener('abort', onClose, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    let connection = await visibleConnection(deps.db, caller, id);
    for (;;) {
      const answer = settled(connection);
      if (answer) return answer;
      const remaining = deadline - Date.now();
      if (closed) return undefined;
      if (remaining <= 0) {
        return {
          ready: false,
          status: connection.status,
          ...(connection.statusReason ? { reason: connection.statusReason } : {}),
          timedOut: true,
        };
      }
      if (!woken) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, remaining);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      if (closed) return undefined;
      if (woken) {
        woken = false;
        // The caller's right to see the connection was checked by the first read and a transition does
        // not change it (scope and owner are fixed), so the notice's status is all that is needed.
        const notice = noticed;
        noticed = undefined;
        const shared = notice && answerOfNotice(notice);
        if (shared) return shared;
        connection = notice
          ? {
              ...connection,
              status: notice.status as ConnectionStatus,
              statusReason: notice.reason ?? null,
            }
          : await visibleConnection(deps.db, caller, id);
      }
    }
  } finally {
    clearTimeout(timer);
    leave();
    signal.removeEventListener('abort', onClose);
  }
}
