// An agent page's forms as the policy API's body: each integration has a form of its own (allowed, the
// methods, path prefixes one a line, the raw token), which replaces that integration's rule in the agent's
// policy; the whole policy is then checked by the API's schema (policyInput), so a form is refused exactly
// where a JSON body would be, and each problem is named by the field it was typed into. The form's own schema
// only says which fields it has: what a value may be is policyInput's to say.
import { z } from 'zod';
import { lines, text } from '../api/validation.js';
import {
  readOnlyMethods,
  type EffectivePolicy,
  type IntegrationRule,
  type PolicyInput,
} from '../agent-policies/access-policy.js';
import { integrationKeySchema } from '../providers/provider-config.js';

const methodField = text(16, { min: 0 });

export const ruleFields = z.strictObject({
  integration: integrationKeySchema,
  allowed: z.literal('yes').optional(),
  methods: z.enum(['any', 'read_only', 'chosen']),
  /** The chosen methods' checkboxes: absent, one, or a list. */
  method: z.union([methodField, z.array(methodField).max(20)]).optional(),
  // Longer than policyInput accepts (50 prefixes of 512), so that policyInput is the one to refuse.
  paths: lines(32768, { min: 0 }).optional(),
  token: z.literal('yes').optional(),
});
export type RuleFields = z.infer<typeof ruleFields>;

/** One integration's form as shown: what is stored, or what was typed when the form was refused. */
export interface RuleForm {
  allowed: boolean;
  methods: RuleFields['methods'];
  chosen: string[];
  paths: string;
  token: boolean;
}

/** The form of a stored rule (undefined: the integration is not in the policy). */
export function ruleFormOf(rule: IntegrationRule | undefined, fallback: RuleForm): RuleForm {
  if (!rule) return { ...fallback, allowed: false };
  const readOnly =
    rule.methods?.length === readOnlyMethods.length &&
    readOnlyMethods.every((m) => rule.methods!.includes(m));
  return {
    allowed: true,
    methods: rule.methods === null ? 'any' : readOnly ? 'read_only' : 'chosen',
    chosen: rule.methods ?? [],
    paths: (rule.paths ?? []).join('\n'),
    token: rule.token,
  };
}

/**
 * What an integration's form shows while the agent has no policy of its own: what applies to it then
 * (every integration, any method and path, through the proxy only), which saving a form makes its own.
 */
export const unsetRuleForm: RuleForm = { allowed: true, methods: 'any', chosen: [], paths: '', token: false };

export function typedRuleForm(fields: RuleFields): RuleForm {
  return {
    allowed: fields.allowed === 'yes',
    methods: fields.methods,
    chosen: [fields.method ?? []].flat(),
    paths: fields.paths ?? '',
    token: fields.token === 'yes',
  };
}

type RuleInput = PolicyInput['integrations'][string];

/** A stored rule as the body would say it (null methods or paths: absent). */
function inputOf(rule: IntegrationRule): RuleInput {
  return {
    ...(rule.methods && { methods: rule.methods }),
    ...(rule.paths && { paths: rule.paths }),
    token: rule.token,
  };
}

/** A form's rule as the body says it: methods any, read_only or the chosen list; one path prefix a line. */
function ruleInputOf(fields: RuleFields): unknown {
  const paths = (fields.paths ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  return {
    methods: fields.methods === 'chosen' ? [fields.method ?? []].flat() : fields.methods,
    ...(paths.length && { paths }),
    token: fields.token === 'yes',
  };
}

/**
 * The body of the agent's policy once the form is saved: its current rules (or, without a policy of its own,
 * every configured integration as the default lets it use them), the form's integration replaced, or left out
 * when "Allowed" is cleared.
 */
export function policyBodyOf(
  current: Record<string, IntegrationRule> | undefined,
  configured: readonly string[],
  fields: RuleFields,
): unknown {
  const base: Record<string, unknown> = current
    ? Object.fromEntries(Object.entries(current).map(([key, rule]) => [key, inputOf(rule)]))
    : Object.fromEntries(configured.map((key) => [key, { methods: 'any', token: false }]));
  delete base[fields.integration];
  return {
    integrations: {
      ...base,
      ...(fields.allowed === 'yes' && { [fields.integration]: ruleInputOf(fields) }),
    },
  };
}

/** Where a problem of the policy's body (`body.integrations.<key>.<field>…`) was typed in the form. */
export function ruleFieldOf(integration: string, fields: RuleFields) {
  return (path: readonly string[]): string => {
    const [first, key, name] = path;
    if (first !== 'integrations' || key !== integration) return '';
    if (name === 'methods') return fields.methods === 'chosen' ? 'method' : 'methods';
    return name === 'paths' || name === 'token' ? name : '';
  };
}

/** The effective policy in words, as the agents list says it. */
export function effectiveWords(effective: EffectivePolicy): string {
  if (effective.source === 'none') return "No policy: today's behaviour";
  if (effective.source === 'default') return 'Default: proxy only, every integration';
  const count = Object.keys(effective.policy.integrations).length;
  return `Own policy: ${count} ${count === 1 ? 'integration' : 'integrations'}`;
}
