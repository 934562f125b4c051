// A connection's statuses and the sets of them that mean something, defined once for the workflow, the API's
// stores and the agents' routes. Plain data: deterministic, importable anywhere, never a side effect.
export const connectionStatuses = [
  'pending',
  'active',
  'inactive',
  'expired',
  'failed',
  'disconnected',
] as const;
export type ConnectionStatus = (typeof connectionStatuses)[number];

/** The status an agent can use a connection in. */
export const usableStatus = 'active' satisfies ConnectionStatus;

/** Statuses that end the connection's workflow: nothing can bring the connection back. */
export const finalStatuses: readonly ConnectionStatus[] = ['failed', 'disconnected'];

/** Statuses that end a readiness wait without the connection being ready. */
export const unavailableStatuses: readonly ConnectionStatus[] = ['expired', 'failed', 'disconnected'];

/** Statuses that end a readiness wait: ready, or unavailable. A wait goes on through the others. */
export const readinessEndingStatuses: readonly ConnectionStatus[] = [usableStatus, ...unavailableStatuses];

export const isFinalStatus = (status: ConnectionStatus): boolean => finalStatuses.includes(status);
export const isUnavailableStatus = (status: ConnectionStatus): boolean =>
  unavailableStatuses.includes(status);
export const endsReadinessWait = (status: ConnectionStatus): boolean =>
  readinessEndingStatuses.includes(status);
