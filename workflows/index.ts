// Every workflow the `connections` worker runs. Deterministic code only: side effects belong to activities/.
export { connectionLifecycle } from './connection-lifecycle.js';
export { notifyDependent, tellDependents } from './dependent-notification.js';
