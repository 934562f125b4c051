import type { Scenario } from '../scenario.js';

export const refreshStorm: Scenario = async () => {
  throw new Error('not written yet');
};
