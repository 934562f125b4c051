// Credential grants gathered in the API process and written in batches, so that the credential read path
// does not write Postgres on every read. record() only counts the grant into its aggregate (one per distinct
// grant: workspace, connection, kind, caller, role, on-behalf-of, task, outcome and rule, method, path and
// channel). An aggregate is written, as one row, once it is GRANT_FLUSH_SECONDS old (a timer looks four
// times an interval); the next grants of the same key start a new one. So a key gets at most one row per interval, plus one when the process stops: over any
// window, no more than (window ÷ interval) + 1 rows. Everything pending is written at once when too many
// aggregates are pending, on stop and on flush(). A write that fails is logged (counts only) and its
// aggregates kept for the next one, up to a bound. The price: grants not written yet are lost if the
// process dies without stopping.
import { DEFAULT_GRANT_FLUSH_SECONDS } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { grantStore, type CredentialGrant, type GrantAggregate } from './grant-store.js';

const GRANT_FLUSH_MS = DEFAULT_GRANT_FLUSH_SECONDS * 1000;
/** Pending aggregates that have everything written before its time. */
export const MAX_PENDING_GRANTS = 10_000;

export interface GrantRecorderOptions {
  /** How old an aggregate is when it is written. */
  flushIntervalMs?: number;
  maxPending?: number;
  /** Aggregates kept while writes fail; new ones beyond it are dropped (and the loss logged). */
  maxRetained?: number;
  logger?: Logger;
}

const keyOf = (grant: CredentialGrant) =>
  JSON.stringify([
    grant.workspaceId,
    grant.connectionId,
    grant.kind,
    grant.caller,
    grant.role,
    grant.onBehalfOf ?? null,
    grant.taskId ?? null,
    grant.outcome,
    grant.refusedRule ?? null,
    grant.method ?? null,
    grant.path ?? null,
    grant.via,
  ]);

export class GrantRecorder {
  private pending = new Map<string, GrantAggregate>();
  private readonly timer: NodeJS.Timeout;
  private readonly intervalMs: number;
  private readonly maxPending: number;
  private readonly maxRetained: number;
  private readonly logger?: Logger;
  /** The last write in line: writes run one after another. */
  private writing: Promise<boolean> = Promise.resolve(true);
  private writesInLine = 0;
  private lastWriteFailed = false;
  private dropped = 0;
  private stopped = false;

  constructor(
    private readonly db: Db,
    options: GrantRecorderOptions = {},
  ) {
    this.intervalMs = options.flushIntervalMs ?? GRANT_FLUSH_MS;
    this.maxPending = options.maxPending ?? MAX_PENDING_GRANTS;
    this.maxRetained = Math.max(options.maxRetained ?? 10 * this.maxPending, this.maxPending);
    this.logger = options.logger;
    this.timer = setInterval(() => void this.writeDue(), Math.max(1, Math.round(this.intervalMs / 4)));
    this.timer.unref();
  }

  /** Counts one grant, made now. */
  record(grant: CredentialGrant, at: number = Date.now()): void {
    const key = keyOf(grant);
    const aggregate = this.pending.get(key);
    if (aggregate) {
      aggregate.count++;
      aggregate.firstAt = Math.min(aggregate.firstAt, at);
      aggregate.lastAt = Math.max(aggregate.lastAt, at);
    } else if (this.pending.size >= this.maxRetained) {
      this.dropped++;
    } else {
      this.pending.set(key, {
        ...grant,
        count: 1,
        firstAt: at,
        lastAt: at,
      });
    }
    // After a failed write only the timer tries again, so a database that refuses is not asked per read.
    const full = this.pending.size >= this.maxPending && !this.lastWriteFailed && this.writesInLine === 0;
    if (full || this.stopped) void this.flush();
  }

  /** Aggregates not written yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Writes every pending aggregate now, whatever its age (after any write already in line). Resolves true
   * when they were written, false when the write failed: they are then kept for the next one. Never rejects.
   */
  flush(): Promise<boolean> {
    return this.inLine(() => true);
  }

  /** Stops the timer and writes what is pending. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes the aggregates that are an interval old; after a failed write, everything pending. */
  private writeDue(): Promise<boolean> {
    const due = Date.now() - this.intervalMs;
    return this.inLine((aggregate) => this.lastWriteFailed || aggregate.firstAt <= due);
  }

  private inLine(select: (aggregate: GrantAggregate) => boolean): Promise<boolean> {
    this.writesInLine++;
    const next = this.writing.then(() => this.write(select));
    this.writing = next.finally(() => this.writesInLine--);
    return next;
  }

  private async write(select: (aggregate: GrantAggregate) => boolean): Promise<boolean> {
    this.reportDropped();
    const batch: GrantAggregate[] = [];
    for (const [key, aggregate] of this.pending) {
      if (!select(aggregate)) continue;
      batch.push(aggregate);
      this.pending.delete(key);
    }
    if (batch.length === 0) return true;
    try {
      await grantStore.insert(this.db, batch);
      this.lastWriteFailed = false;
      return true;
    } catch (error) {
      this.lastWriteFailed = true;
      this.putBack(batch);
      this.logger?.error(
        {
          err: error instanceof Error ? error.message : String(error),
          aggregates: batch.length,
          grants: batch.reduce((sum, a) => sum + a.count, 0),
        },
        'could not write credential grants; kept for the next flush',
      );
      return false;
    }
  }

  /** A failed batch goes back in, merged with what was recorded meanwhile. */
  private putBack(batch: GrantAggregate[]): void {
    for (const aggregate of batch) {
      const key = keyOf(aggregate);
      const newer = this.pending.get(key);
      if (newer) {
        newer.count += aggregate.count;
        newer.firstAt = Math.min(newer.firstAt, aggregate.firstAt);
        newer.lastAt = Math.max(newer.lastAt, aggregate.lastAt);
      } else if (this.pending.size < this.maxRetained) {
        this.pending.set(key, aggregate);
      } else {
        this.dropped += aggregate.count;
      }
    }
    this.reportDropped();
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.logger?.error(
      { grants: this.dropped, maxRetained: this.maxRetained },
      'dropped credential grants: too many pending while they could not be written',
    );
    this.dropped = 0;
  }
}
