// The access policies through the API, for the workspace's owners and admins: list them, read, set or remove
// an agent's. Every read and write goes through AgentPolicies, so that what the read path cached is dropped.
// A policy may name only integrations configured in the workspace: a misspelt key is a 400 naming it, not a
// rule that silently refuses every call.
import { z } from 'zod';
import type { Role } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { RouteList, type Route } from '../api/routes.js';
import type { Db } from '../db/database.js';
import { integrationStore } from '../integrations/integration-store.js';
import { accessPolicySchema, agentIdSchema, policyInput } from './access-policy.js';
import type { AgentPolicies } from './agent-policies.js';

const managers: Role[] = ['owner', 'admin'];
const tags = ['agents'];
const agentParams = z.strictObject({ agentId: agentIdSchema });

export interface AgentPolicyDependencies {
  policies: AgentPolicies;
  db: Db;
}

export function agentPolicyRoutes({ policies, db }: AgentPolicyDependencies): Route[] {
  const registry = new RouteList();

  registry.add({
    method: 'get',
    path: '/v1/agent-policies',
    summary:
      "The workspace's agent access policies; `governed`: whether it has any (then agents without one may " +
      'use every integration through the proxy only)',
    tags,
    roles: managers,
    response: z.strictObject({ policies: z.array(accessPolicySchema), governed: z.boolean() }),
    async handler({ caller }) {
      const list = await policies.list(caller.workspace);
      return { policies: list, governed: list.length > 0 };
    },
  });

  registry.add({
    method: 'get',
    path: '/v1/agents/:agentId/policy',
    summary:
      "An agent's own access policy (null without one) and which applies to it: `none` (the workspace has " +
      'no policy: everything allowed), `default` (every integration, proxy only) or `agent` (its own)',
    tags,
    roles: managers,
    params: agentParams,
    response: z.strictObject({
      policy: accessPolicySchema.nullable(),
      effective: z.enum(['none', 'default', 'agent']),
    }),
    async handler({ params, caller }) {
      const [policy, effective] = await Promise.all([
        policies.get(caller.workspace, params.agentId),
        policies.effectiveFor({ workspace: caller.workspace, sub: params.agentId, role: 'agent' }),
      ]);
      return { policy: policy ?? null, effective: policy ? 'agent' : effective.source };
    },
  });

  registry.add({
    method: 'put',
    path: '/v1/agents/:agentId/policy',
    summary:
      "Set an agent's access policy (replacing the one it had): per integration of the workspace, the " +
      'methods (`read_only`, `any` or a list), path prefixes and whether it may take a raw token; any ' +
      'integration not listed is refused to it',
    tags,
    roles: managers,
    params: agentParams,
    body: policyInput,
    response: z.strictObject({ policy: accessPolicySchema }),
    status: [201, 200],
    async handler({ params, body, caller, res }) {
      const configured = new Set(
        (await integrationStore.list(db, caller.workspace)).map((integration) => integration.key),
      );
      const unknown = Object.keys(body.integrations).filter((key) => !configured.has(key));
      if (unknown.length > 0) {
        throw new ApiError(
          'invalid_request',
          'the policy names integrations that are not configured in this workspace',
          unknown.map((key) => ({
            path: `body.integrations.${key}`,
            message: `no integration ${key} is configured in this workspace`,
          })),
        );
      }
      const { policy, created } = await policies.put(caller.workspace, params.agentId, body, caller.sub);
      res.status(created ? 201 : 200);
      res.json({ policy });
    },
  });

  registry.add({
    method: 'delete',
    path: '/v1/agents/:agentId/policy',
    summary:
      "Remove an agent's access policy: it then gets the workspace's default (proxy only), or, when it was " +
      "the workspace's last, everything is allowed again",
    tags,
    roles: managers,
    params: agentParams,
    errors: [404],
    async handler({ params, caller }) {
      if (!(await policies.remove(caller.workspace, params.agentId))) {
        throw new ApiError('not_found', `agent ${params.agentId} has no policy`);
      }
    },
  });

  return registry.routes;
}
