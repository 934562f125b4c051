// The audit of a connection's use, for the workspace's owners and admins: every grant recorded (a token
// handed out, a call proxied) and every refusal by an agent's access policy, with the rule, and for a
// proxied call its method and path. Grants reach Postgres in batches (agent-access/grant-recorder.ts), so
// the latest ones show up to GRANT_FLUSH_SECONDS late. Never holds a credential: a grant records its use.
import { z } from 'zod';
import type { Role } from '../api/auth.js';
import { idSchema, type RouteList } from '../api/routes.js';
import { queryInteger } from '../api/validation.js';
import { visibleConnection } from '../connections/access.js';
import type { Db } from '../db/database.js';
import { policyRules } from '../agent-policies/access-policy.js';
import { grantStore } from './grant-store.js';

const managers: Role[] = ['owner', 'admin'];

const grantSchema = z.strictObject({
  kind: z.enum(['token', 'proxy']),
  /** The caller's `sub`. */
  caller: z.string(),
  role: z.string(),
  onBehalfOf: z.string().nullable(),
  taskId: z.string().nullable(),
  outcome: z.enum(['allowed', 'refused']),
  /** The rule of the agent's access policy that refused it. */
  refusedRule: z.enum(policyRules).nullable(),
  /** A proxied call's method and path (below the API base URL, without the query). */
  method: z.string().nullable(),
  path: z.string().nullable(),
  via: z.enum(['api', 'mcp']),
  /** How many grants alike (every field above) this entry stands for, between its first and last time. */
  count: z.number().int().min(1),
  firstGrantedAt: z.iso.datetime(),
  lastGrantedAt: z.iso.datetime(),
});

export function registerGrantRoutes(registry: RouteList, { db }: { db: Db }): void {
  registry.add({
    method: 'get',
    path: '/v1/connections/:id/grants',
    summary:
      'Who used this connection (tokens and proxied calls) and what agents were refused by their access ' +
      'policy, the newest `limit` entries, oldest first',
    tags: ['agents'],
    roles: managers,
    params: z.strictObject({ id: idSchema }),
    query: z.strictObject({ limit: queryInteger({ min: 1, max: 1000, default: 100 }) }),
    response: z.strictObject({ grants: z.array(grantSchema) }),
    errors: [404],
    async handler({ params, query, caller }) {
      await visibleConnection(db, caller, params.id);
      const grants = await grantStore.list(db, caller.workspace, params.id, { latest: query.limit });
      return {
        grants: grants.map((grant) => ({
          kind: grant.kind,
          caller: grant.caller,
          role: grant.role,
          onBehalfOf: grant.onBehalfOf,
          taskId: grant.taskId,
          outcome: grant.outcome,
          refusedRule: grant.refusedRule as (typeof policyRules)[number] | null,
          method: grant.method,
          path: grant.path,
          via: grant.via,
          count: grant.count,
          firstGrantedAt: grant.firstGrantedAt,
          lastGrantedAt: grant.lastGrantedAt,
        })),
      };
    },
  });
}
