// The worker's housekeeping: purges expired rows (connections/expired-rows.ts) at start and then every interval,
// in the background. A failed purge is logged and tried again at the next interval; it never stops the worker.
import type { Db } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { purgeExpiredRows } from '../connections/expired-rows.js';

export const PURGE_INTERVAL_MS = 10 * 60_000;

export function startMaintenance(
  db: Db,
  logger: Logger,
  options: { idempotencyKeyTtlMs: number; intervalMs?: number },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const purge = () => {
    running = purgeExpiredRows(db, options).then(
      (purged) => {
        if (purged.states + purged.returnTargets + purged.idempotencyKeys > 0) {
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
