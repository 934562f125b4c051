// The baselines' workflows: what Temporal alone costs for the shapes the connection workflow takes.
import { proxyActivities, sleep } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

/** Started and completed: one no-op activity (the connect baseline). */
export async function noopWorkflow(): Promise<void> {
  await noop();
}

/** A timer due at `fireAt` (epoch ms), then one no-op activity (the refresh-storm baseline). */
export async function timerThenNoop(fireAt: number): Promise<void> {
  await sleep(Math.max(1, fireAt - Date.now()));
  await noop();
}

/** Asleep on a long timer (the idle-fleet baseline). */
export async function sleeper(): Promise<void> {
  await sleep('30 days');
}
