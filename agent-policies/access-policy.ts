// What an agent may do with the connections of its workspace: the access policy an owner or admin sets per
// agent (the token's `sub`), per integration, and the one decision function that the proxy, the token route
// and MCP all apply. Pure: no database, no HTTP; the policy that applies is looked up by AgentPolicies
// (agent-policies/agent-policies.ts). Only agents are governed: owners and admins use connections as before.
import { z } from 'zod';
import { integrationKeySchema } from '../providers/provider-config.js';
import { platformId } from '../api/validation.js';

/** An agent's id: its tokens' `sub` and its `agent` dependent's id. */
export const agentIdSchema = platformId();

/** The methods the proxy carries (agent-access/proxy.ts), the only ones a policy can name. */
export const policyMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type PolicyMethod = (typeof policyMethods)[number];

/** The `read_only` preset. */
export const readOnlyMethods: readonly PolicyMethod[] = ['GET', 'HEAD'];

/** What an agent may do with one integration's connections. */
export interface IntegrationRule {
  /** The methods it may send through the proxy; null: every method the proxy carries. */
  methods: PolicyMethod[] | null;
  /** The path prefixes (below the integration's API base URL) it may call; null: any path. */
  paths: string[] | null;
  /** Whether it may take the raw short-lived token (`POST …/token`) rather than only use the proxy. */
  token: boolean;
}

/** An agent's policy: the integrations it may use, each with its rule; any other integration is refused. */
export interface AccessPolicy {
  agentId: string;
  integrations: Record<string, IntegrationRule>;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * The policy that applies to a caller: `none` in a workspace without any policy (and for every caller that
 * is not an agent): today's behaviour, everything allowed; `default` for an agent without a policy of its
 * own in a workspace that has policies: every integration, any method and path, through the proxy only;
 * `agent`: its own.
 */
export type EffectivePolicy =
  | { source: 'none' }
  | { source: 'default' }
  | { source: 'agent'; policy: Pick<AccessPolicy, 'integrations'> };

/** A use of a connection, as the decision needs it. */
export type AccessUse =
  | { kind: 'token' }
  | {
      kind: 'proxy';
      method: string;
      /** The path below the API base URL, as sent (percent-encoded), without the query. */
      path: string;
    };

/** The rule a refusal names. */
export const policyRules = ['integration', 'method', 'path', 'token'] as const;
export type PolicyRule = (typeof policyRules)[number];

export type Decision = { allowed: true } | { allowed: false; rule: PolicyRule; message: string };

const allowed: Decision = { allowed: true };

/** The one decision: may a caller under `policy` make this use of a connection of `integration`? */
export function decide(policy: EffectivePolicy, integration: string, use: AccessUse): Decision {
  if (policy.source === 'none') return allowed;
  if (policy.source === 'default') {
    return use.kind === 'token'
      ? refuse('token', 'an agent without a policy of its own may use connections through the proxy only')
      : allowed;
  }
  const rule = policy.policy.integrations[integration];
  if (!rule) return refuse('integration', `the agent's policy does not allow integration ${integration}`);
  if (use.kind === 'token') {
    return rule.token
      ? allowed
      : refuse('token', `the agent's policy allows ${integration} through the proxy only, not a raw token`);
  }
  if (rule.methods && !rule.methods.includes(use.method.toUpperCase() as PolicyMethod)) {
    return refuse(
      'method',
      `the agent's policy allows ${rule.methods.join(', ')} to ${integration}, not ${use.method.toUpperCase()}`,
    );
  }
  if (rule.paths && !rule.paths.some((prefix) => underPrefix(decodedPath(use.path), prefix))) {
    return refuse('path', `the agent's policy does not allow this path of ${integration}`);
  }
  return allowed;
}

function refuse(rule: PolicyRule, message: string): Decision {
  return { allowed: false, rule, message };
}

/**
 * A path is under a prefix when it is the prefix or continues it at a segment boundary: `/repos/acme`
 * covers `/repos/acme` and `/repos/acme/issues`, not `/repos/acme-corp`; a prefix ending in `/` covers what
 * is below it.
 */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  return path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

/**
 * The path with each segment percent-decoded (the proxy refuses encoded slashes and dot segments before a
 * policy is asked, so segments stay segments), so that `/repos/%61cme` is judged as `/repos/acme`. A segment
 * that is not valid percent-encoding is kept as sent (and then matches no decoded prefix).
 */
function decodedPath(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
}

/** A segment's characters in a prefix: RFC 3986's pchar, unencoded (a prefix is matched decoded). */
const prefixSegment = String.raw`[A-Za-z0-9._~!$&'()*+,;=:@-]+`;
/**
 * A path prefix as an owner writes it: `/` then segments, none empty (but a last, for a trailing slash) or a
 * dot segment; no query or fragment. One pattern, so that /openapi.json says exactly what is accepted.
 */
const pathPrefix = z
  .string()
  .max(512)
  .regex(
    new RegExp(String.raw`^/(?:(?!\.\.?(?:/|$))${prefixSegment}/)*(?:(?!\.\.?$)${prefixSegment})?$`),
    "a path prefix is / and segments of letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ (none empty, . or ..)",
  );

const ruleInput = z
  .strictObject({
    /** `read_only` (GET and HEAD), `any` (the default), or a list. */
    methods: z
      .union([z.enum(['read_only', 'any']), z.array(z.enum(policyMethods)).min(1).max(policyMethods.length)])
      .optional(),
    /** Path prefixes; absent: any path. */
    paths: z.array(pathPrefix).min(1).max(50).optional(),
    /** Whether the raw token may be taken (default false: proxy only). */
    token: z.boolean().optional(),
  })
  .refine((rule) => !rule.token || ((rule.methods === undefined || rule.methods === 'any') && !rule.paths), {
    message:
      'a raw token reaches every method and path of the API: a rule that allows it cannot limit methods or paths',
    path: ['token'],
  })
  // The same rule in /openapi.json (a refinement is not part of the JSON Schema zod writes).
  .meta({
    if: { properties: { token: { const: true } }, required: ['token'] },
    then: { properties: { methods: { const: 'any' } }, not: { required: ['paths'] } },
  });

/** The body of `PUT /v1/agents/{agentId}/policy`, as owners and admins send it. */
export const policyInput = z.strictObject({
  integrations: z
    .record(integrationKeySchema, ruleInput)
    .refine((integrations) => Object.keys(integrations).length <= 200, 'at most 200 integrations')
    .meta({ maxProperties: 200 }),
});
export type PolicyInput = z.infer<typeof policyInput>;

/** The stored form of an input: presets expanded, defaults filled, methods de-duplicated in the proxy's order. */
export function normalisePolicy(input: PolicyInput): Record<string, IntegrationRule> {
  return Object.fromEntries(
    Object.entries(input.integrations).map(([key, rule]) => {
      const listed =
        rule.methods === 'read_only' ? readOnlyMethods : rule.methods === 'any' ? undefined : rule.methods;
      const methods = listed ? policyMethods.filter((method) => listed.includes(method)) : null;
      const paths = rule.paths ? [...new Set(rule.paths)] : null;
      return [key, { methods, paths, token: rule.token ?? false }];
    }),
  );
}

/** The answer's form of a policy (and the stored one's check when read back). */
export const integrationRuleSchema = z.strictObject({
  methods: z.array(z.enum(policyMethods)).nullable(),
  paths: z.array(z.string()).nullable(),
  token: z.boolean(),
});
export const accessPolicySchema = z.strictObject({
  agentId: z.string(),
  integrations: z.record(z.string(), integrationRuleSchema),
  updatedBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/**
 * Where the read path finds the policy that applies to a caller (agent-policies/agent-policies.ts, cached
 * per process and dropped on every change).
 */
export interface PolicyLookup {
  effectiveFor(caller: { workspace: string; sub: string; role: string }): Promise<EffectivePolicy>;
}
