import type { Scenario } from '../scenario.js';

export const idleFleet: Scenario = async () => {
  throw new Error('not written yet');
};
