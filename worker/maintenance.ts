// The worker's housekeeping: purges expired rows (connections/expired-rows.ts, and the console's sessions and
// spent sign-ins, console/console-session-store.ts) at start and then every interval, in the background. A failed purge is logged and tried again at the next interval; it never stops the worker.
import type { Db } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { purgeExpiredRows } from '../connections/expired-rows.js';
import { consoleSessionStore } from '../console/console-session-store.js';

export const PURGE_INTERVAL_MS = 10 * 60_000;

export function startMaintenance(
  db: Db,
  logger: Logger,
  options: { idempotencyKeyTtlMs: number; intervalMs?: number },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const purge = () => {
    const purging = async () => ({
      ...(await purgeExpiredRows(db, options)),
      console: await consoleSessionStore.purgeExpired(db, new Date()),
    });
    running = purging().then(
      (purged) => {
        const { states, returnTargets, idempotencyKeys, console: signedIn } = purged;
        if (states + returnTargets + idempotencyKeys + signedIn.sessions + signedIn.signIns > 0) {
          logger.info({ purged }, 'purged expired rows');
        }
      },
      (error: unknown) => logger.warn({ err: error }, 'could not purge expired rows; trying again later'),
    );
  };
  purge();
  const timer = setInterval(purge, options.intervalMs ?? PURGE_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
