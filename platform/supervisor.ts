// Keeps one part of the service running: the embedded Temporal dev server and Postgres of `npm start`, and
// the worker. A part that ends without being asked to (killed, crashed, failed) is started again the same way
// (same ports, same data) under a restart budget; once the budget is spent the supervisor gives up, and the
// service stops with the reason and a non-zero exit. It never restarts a part that is being stopped.
import type { Logger } from '../logging/logger.js';
import { RestartBudget, type RestartPolicy } from './restart-budget.js';

export interface SupervisedPart {
  /** Settles once the part has ended, with how (an exit code, a signal, an error's message). */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export interface Supervisor {
  /** Stops the current part (and any restart under way) for good. */
  stop(): Promise<void>;
}

/** How long one restart may take: one still starting then has failed (and is stopped if it ever starts). */
const RESTART_TIMEOUT_MS = 90_000;

/** Restarts after 0.5 s, 1 s, 2 s, 4 s and 8 s; a sixth failure within two minutes gives up. */
export const partRestartPolicy: RestartPolicy = {
  maxAttempts: 5,
  windowMs: 120_000,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
};

export function supervise(options: {
  /** For messages: "the Temporal dev server". */
  name: string;
  /** The part as first started (its start-up failing is the caller's failure, not a restart). */
  first: SupervisedPart;
  /** Starts the part again; rejects when it could not. */
  restart: () => Promise<SupervisedPart>;
  logger: Logger;
  /** Called once, when the budget is spent: the service must stop. */
  onGiveUp: (error: Error) => void;
  policy?: RestartPolicy;
}): Supervisor {
  const budget = new RestartBudget(options.policy ?? partRestartPolicy);
  let current: SupervisedPart | undefined = options.first;
  let stopping = false;
  let wakeFromDelay: (() => void) | undefined;
  let restarting: Promise<void> | undefined;

  const watch = (part: SupervisedPart) => {
    void part.exited.then((how) => {
      if (stopping || part !== current) return;
      current = undefined;
      // What the ended part still holds (a log file, a connection) is released before it starts again.
      restarting = part
        .stop()
        .catch(() => undefined)
        .then(() => restartAfter(how));
    });
  };

  async function restartAfter(how: string): Promise<void> {
    let failure: string | undefined;
    for (;;) {
      const delay = budget.next();
      if (delay === undefined) {
        options.onGiveUp(
          new Error(
            `${options.name} ended (${how}) and could not be kept running: ${budget.describe()} spent` +
              (failure ? `; the last restart failed: ${failure}` : ''),
          ),
        );
        return;
      }
      options.logger.warn(
        { part: options.name, delayMs: delay },
        failure === undefined
          ? `${options.name} ended (${how}): restarting it`
          : `${options.name} could not be restarted (${failure}): trying again`,
      );
      await new Promise<void>((resolve) => {
        wakeFromDelay = resolve;
        setTimeout(resolve, delay).unref();
      });
      wakeFromDelay = undefined;
      if (stopping) return;
      try {
        const part = await withinDeadline(options.restart());
        if (stopping) {
          await part.stop();
          return;
        }
        current = part;
        options.logger.warn({ part: options.name }, `${options.name} restarted`);
        watch(part);
        return;
      } catch (error) {
        failure = (error as Error).message;
      }
    }
  }

  watch(options.first);
  return {
    async stop() {
      stopping = true;
      wakeFromDelay?.();
      await restarting;
      await current?.stop();
      current = undefined;
    },
  };
}

async function withinDeadline(starting: Promise<SupervisedPart>): Promise<SupervisedPart> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  try {
    return await Promise.race([
      starting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new Error(`not started within ${RESTART_TIMEOUT_MS / 1000} s`));
        }, RESTART_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (late) void starting.then((part) => part.stop()).catch(() => undefined);
  }
}
