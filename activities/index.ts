// Activities are built by injection (STYLE.md): createActivities(deps) returns the functions the worker
// registers, so tests hand in real or fake dependencies without module mocking.
import { createConnectionActivities, type ConnectionActivityDependencies } from './connection-activities.js';

export type ActivityDependencies = ConnectionActivityDependencies;

export function createActivities(deps: ActivityDependencies) {
  return { ...createConnectionActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
