// The restart budget every supervised part shares: delays that double up to a cap, a bound on attempts
// within a window, and attempts that age out of the window giving their place back.
import { RestartBudget } from '../../platform/restart-budget.js';

describe('RestartBudget', () => {
  it('doubles the delay up to its cap, refuses once the window holds its maximum, and forgets old attempts', () => {
    let now = 0;
    const budget = new RestartBudget(
      { maxAttempts: 4, windowMs: 60_000, initialDelayMs: 500, maxDelayMs: 1_500 },
      () => now,
    );
    expect([budget.next(), budget.next(), budget.next(), budget.next()]).toEqual([500, 1_000, 1_500, 1_500]);
    expect(budget.next()).toBeUndefined();
    now = 59_999;
    expect(budget.next()).toBeUndefined();
    now = 60_000;
    expect(budget.next()).toBe(500);
    expect(budget.describe()).toBe('4 attempts within 60 s');
  });
});
