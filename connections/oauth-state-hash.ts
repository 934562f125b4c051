// How an OAuth `state` is known in oauth_states: by its SHA-256 (hex), never in clear. One definition for
// the activities that write the row and the service code that finds it again from the callback's `state`.
import { createHash } from 'node:crypto';

export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}
