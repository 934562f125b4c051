import type { Scenario } from '../scenario.js';

export const longLife: Scenario = async () => {
  throw new Error('not written yet');
};
