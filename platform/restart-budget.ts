// How often something that failed may be tried again: exponential backoff, and a bound on the attempts within
// a window of time, past which the caller gives up (and the service stops with a clear message, so that
// whatever runs it sees a non-zero exit). Used by npm start's supervisor, the worker and the change listener.
// It never waits itself and never retries without a bound.

export interface RestartPolicy {
  /** Attempts allowed within `windowMs`; the next one gives up. */
  maxAttempts: number;
  windowMs: number;
  /** The delay before the first attempt of a window, doubled for each further one up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export class RestartBudget {
  private attempts: number[] = [];

  constructor(
    readonly policy: RestartPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one more attempt: the delay to wait before making it, or undefined when the budget is spent. */
  next(): number | undefined {
    const now = this.now();
    this.attempts = this.attempts.filter((at) => now - at < this.policy.windowMs);
    if (this.attempts.length >= this.policy.maxAttempts) return undefined;
    const delay = Math.min(this.policy.initialDelayMs * 2 ** this.attempts.length, this.policy.maxDelayMs);
    this.attempts.push(now);
    return delay;
  }

  /** The bound, for messages: "5 attempts within 120 s". */
  describe(): string {
    return `${this.policy.maxAttempts} attempts within ${Math.round(this.policy.windowMs / 1000)} s`;
  }
}
