import type { Scenario } from '../scenario.js';

export const readyFanOut: Scenario = async () => {
  throw new Error('not written yet');
};
