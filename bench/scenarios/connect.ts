import type { Scenario } from '../scenario.js';

export const connect: Scenario = async () => {
  throw new Error('not written yet');
};
