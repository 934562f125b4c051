// The console's agents pages (owners and admins only): the workspace's agents (those with a policy, those
// registered as `agent` dependents of its connections, those that used a connection) with the policy that
// applies to each in words; and one agent's policy, a form per integration of the workspace (allowed, the
// methods, path prefixes, the raw token), saved as PUT /v1/agents/{agentId}/policy saves it, and removed.
// Policies are read and written only through AgentPolicies (agent-policies/agent-policies.ts), so that what
// the read path caches is dropped on every change. A refused form is shown again with each field's problem,
// what was typed kept, and nothing stored.
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import {
  agentIdSchema,
  policyInput,
  policyMethods,
  type AccessPolicy,
  type EffectivePolicy,
} from '../agent-policies/access-policy.js';
import { dependentStore } from '../dependents/dependent-store.js';
import { grantStore } from '../agent-access/grant-store.js';
import { listIntegrations } from '../integrations/integration-settings.js';
import { html, type HtmlValue, type SafeHtml } from '../pages/html.js';
import {
  effectiveWords,
  policyBodyOf,
  ruleFieldOf,
  ruleFields,
  ruleFormOf,
  typedRuleForm,
  unsetRuleForm,
  type RuleForm,
} from './agent-forms.js';
import { csrfInput, dataTable, sendConsolePage } from './console-layout.js';
import type { ConsolePages, ConsoleSession } from './console-page.js';
import { fieldProblemsOf, parseBody, type FieldProblems } from './integration-forms.js';
import type { ConsoleDependencies } from './routes.js';

const agentPath = (agentId: string) => `/console/agents/${encodeURIComponent(agentId)}`;
const agentParams = z.strictObject({ agentId: agentIdSchema });

const notices = {
  saved: 'Saved. The policy below is what the agent may do now.',
  removed: 'The policy is removed.',
} as const;
const noticeQuery = z.strictObject({ notice: z.enum(['saved', 'removed']).optional() });

/** What the agents list knows of an agent. */
interface KnownAgent {
  id: string;
  policy?: AccessPolicy;
  /** Connections it is registered on as an `agent` dependent. */
  dependentOf: number;
  /** Whether it has used (or been refused) a connection of the workspace. */
  seen: boolean;
}

/** The workspace's agents: with a policy, registered as dependents, or seen in the grants. */
async function knownAgents(deps: ConsoleDependencies, workspaceId: string): Promise<KnownAgent[]> {
  const [policies, dependents, seen] = await Promise.all([
    deps.policies.list(workspaceId),
    dependentStore.idsOfKind(deps.db, workspaceId, 'agent'),
    grantStore.agentCallers(deps.db, workspaceId),
  ]);
  const agents = new Map<string, KnownAgent>();
  const agent = (id: string) => {
    const known = agents.get(id) ?? { id, dependentOf: 0, seen: false };
    agents.set(id, known);
    return known;
  };
  for (const policy of policies) agent(policy.agentId).policy = policy;
  for (const dependent of dependents) agent(dependent.id).dependentOf = dependent.connections;
  for (const caller of seen) agent(caller).seen = true;
  return [...agents.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function effectiveOf(policy: AccessPolicy | undefined, governed: boolean): EffectivePolicy {
  if (policy) return { source: 'agent', policy };
  return governed ? { source: 'default' } : { source: 'none' };
}

function knownFrom(agent: KnownAgent): string {
  return [
    agent.policy ? 'Its policy' : '',
    agent.dependentOf
      ? `Dependent of ${agent.dependentOf} ${agent.dependentOf === 1 ? 'connection' : 'connections'}`
      : '',
    agent.seen ? 'Used connections' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

const semantics = html`<ul>
  <li>
    While no agent of the workspace has a policy, every agent may use every connection as before: any method
    and path, and the raw token.
  </li>
  <li>
    Once one agent has a policy, every agent without one gets the default: every integration, any method and
    path, through the proxy only (no raw token).
  </li>
  <li>An agent with its own policy may use only the integrations it allows, as each rule says.</li>
</ul>`;

function listBody(agents: KnownAgent[], governed: boolean): SafeHtml {
  return html`<p>
      Which integrations each agent may use through the proxy, MCP and the token route. Owners, admins and
      members are not governed by these policies.
    </p>
    ${semantics}
    <p>
      This workspace ${governed ? 'has policies: agents without one get the default.' : 'has no policy yet.'}
    </p>
    ${dataTable({
      caption: 'Agents',
      columns: ['Agent', 'Policy', 'Known from'],
      rows: agents.map(
        (agent) =>
          html`<tr>
            <td><a href="${agentPath(agent.id)}">${agent.id}</a></td>
            <td>${effectiveWords(effectiveOf(agent.policy, governed))}</td>
            <td>${knownFrom(agent)}</td>
          </tr>`,
      ),
      empty:
        'No agent is known yet: none has a policy, is registered as a dependent, or has used a connection.',
    })}
    <form method="get" action="/console/agents">
      <label for="agent">Another agent's ID</label>
      <p id="agent-hint" class="muted">The agent's token's subject (sub), as its agent dependents name it.</p>
      <input type="text" id="agent" name="agent" aria-describedby="agent-hint" autocomplete="off" required />
      <button type="submit">Open</button>
    </form>`;
}

interface IntegrationChoice {
  key: string;
  displayName: string;
  configured: boolean;
}

/** An agent's page: the policy that applies, and a form per integration. */
interface AgentView {
  agentId: string;
  policy: AccessPolicy | undefined;
  governed: boolean;
  /** Whether agents other than this one have policies (then removing its own leaves it the default). */
  othersGoverned: boolean;
  integrations: IntegrationChoice[];
  /** The refused form: its integration, what was typed and the problems. */
  refused?: { integration: string; form: RuleForm; problems: FieldProblems };
}

const methodWords = { any: 'Any method', read_only: 'Read only (GET, HEAD)', chosen: 'These methods:' };

const ruleLabels: Record<string, string> = {
  allowed: 'Allowed',
  methods: 'Methods',
  method: 'Methods',
  paths: 'Path prefixes',
  token: 'Raw token allowed',
};

function fieldError(id: string, problems: string[] | undefined): HtmlValue {
  return problems ? html`<p id="${id}-error" class="field-error">${problems.join(' ')}</p>` : '';
}

function ruleFormBody(
  session: ConsoleSession,
  view: AgentView,
  integration: IntegrationChoice,
  form: RuleForm,
  problems: FieldProblems,
): SafeHtml {
  const id = (name: string) => `${integration.key}-${name}`;
  const checked = (on: boolean) => (on ? html`checked` : '');
  const invalid = (name: string) =>
    problems[name] ? html`aria-invalid="true" aria-describedby="${id(name)}-error"` : '';
  const listed = Object.entries(problems).sort(
    ([a], [b]) => Object.keys(ruleLabels).indexOf(a) - Object.keys(ruleLabels).indexOf(b),
  );
  const methodProblems = [...(problems.methods ?? []), ...(problems.method ?? [])];
  const name = !integration.configured
    ? `${integration.key} (not configured)`
    : integration.displayName === integration.key
      ? integration.key
      : `${integration.displayName} (${integration.key})`;
  return html`<form method="post" action="${agentPath(view.agentId)}" novalidate>
    ${csrfInput(session)}
    <input type="hidden" name="integration" value="${integration.key}" />
    <fieldset>
      <legend>${name}</legend>
      ${
        listed.length
          ? html`<div role="alert">
              <p>Nothing was saved. Correct these and save again:</p>
              <ul>
                ${listed.map(
                  ([field, messages]) =>
                    html`<li>${ruleLabels[field] ? `${ruleLabels[field]}: ` : ''}${messages.join(' ')}</li>`,
                )}
              </ul>
            </div>`
          : ''
      }
      <p>
        <input type="checkbox" id="${id('allowed')}" name="allowed" value="yes" ${checked(form.allowed)} />
        <label class="inline" for="${id('allowed')}">Allowed</label>
      </p>
      <fieldset ${methodProblems.length ? html`aria-describedby="${id('methods')}-error"` : ''}>
        <legend>Methods</legend>
        ${fieldError(id('methods'), methodProblems.length ? methodProblems : undefined)}
        ${(['any', 'read_only', 'chosen'] as const).map(
          (choice) =>
            html`<p>
              <input
                type="radio"
                id="${id(`methods-${choice}`)}"
                name="methods"
                value="${choice}"
                ${checked(form.methods === choice)}
              />
              <label class="inline" for="${id(`methods-${choice}`)}">${methodWords[choice]}</label>
            </p>`,
        )}
        <p>
          ${policyMethods.map(
            (method) =>
              html`<input
                  type="checkbox"
                  id="${id(`method-${method}`)}"
                  name="method"
                  value="${method}"
                  ${checked(form.methods === 'chosen' && form.chosen.includes(method))}
                />
                <label class="inline" for="${id(`method-${method}`)}">${method}</label> `,
          )}
        </p>
      </fieldset>
      <label for="${id('paths')}">Path prefixes</label>
      <p id="${id('paths')}-hint" class="muted">
        One a line, below the integration's API base URL, for example /repos/acme (which covers
        /repos/acme/issues, not /repos/acme-corp). Empty: any path.
      </p>
      ${fieldError(id('paths'), problems.paths)}
      <textarea
        id="${id('paths')}"
        name="paths"
        rows="3"
        aria-describedby="${id('paths')}-hint${problems.paths ? html` ${id('paths')}-error` : ''}"
        ${problems.paths ? html`aria-invalid="true"` : ''}
      >
${form.paths}</textarea>
      ${fieldError(id('token'), problems.token)}
      <p>
        <input
          type="checkbox"
          id="${id('token')}"
          name="token"
          value="yes"
          ${checked(form.token)}
          ${invalid('token')}
        />
        <label class="inline" for="${id('token')}">Raw token allowed</label>
      </p>
      <p class="muted">
        Otherwise the agent uses the connection through the proxy only. A raw token reaches every method and
        path: a rule that allows it cannot limit them.
      </p>
      <button type="submit">Save ${integration.displayName}</button>
    </fieldset>
  </form>`;
}

function agentBody(session: ConsoleSession, view: AgentView): SafeHtml {
  const effective = effectiveOf(view.policy, view.governed);
  const forms = view.integrations.map((integration) => {
    const refused = view.refused?.integration === integration.key ? view.refused : undefined;
    const form =
      refused?.form ??
      (view.policy ? ruleFormOf(view.policy.integrations[integration.key], unsetRuleForm) : unsetRuleForm);
    return ruleFormBody(session, view, integration, form, refused?.problems ?? {});
  });
  return html`<dl>
      <dt>Policy that applies</dt>
      <dd>${effectiveWords(effective)}</dd>
      ${
        view.policy
          ? html`<dt>Last changed</dt>
              <dd>
                ${view.policy.updatedAt.slice(0, 16).replace('T', ' ')} UTC by ${view.policy.updatedBy}
              </dd>`
          : ''
      }
    </dl>
    ${semantics}
    ${
      view.policy
        ? html`<p>Integrations not allowed below are refused to this agent.</p>`
        : html`<p>
            This agent has no policy of its own: the forms show what applies to it by default. Saving one
            gives it its own policy, with every other integration as shown (allowed, any method and path,
            through the proxy only); an integration configured later is then refused until it is allowed.
          </p>`
    }
    ${view.integrations.length ? forms : html`<p>No integration is configured in this workspace.</p>`}
    ${
      view.policy
        ? html`<h2>Remove the policy</h2>
            <p>
              ${
                view.othersGoverned
                  ? 'The agent then gets the default (other agents have policies): every integration, any method and path, through the proxy only.'
                  : 'No agent of the workspace has a policy then: every agent may use every connection as before.'
              }
            </p>
            <form method="post" action="${agentPath(view.agentId)}/remove">
              ${csrfInput(session)}
              <button type="submit" class="danger">Remove policy</button>
            </form>`
        : ''
    }
    <p><a href="/console/agents">All agents</a></p>`;
}

export function agentPages(pages: ConsolePages, deps: ConsoleDependencies): void {
  const { policies } = deps;

  async function viewOf(workspaceId: string, agentId: string): Promise<AgentView> {
    const [policy, all, integrations] = await Promise.all([
      policies.get(workspaceId, agentId),
      policies.list(workspaceId),
      listIntegrations(deps.db, workspaceId),
    ]);
    const configured: IntegrationChoice[] = integrations
      .filter((integration) => integration.configured)
      .map(({ key, displayName }) => ({ key, displayName, configured: true }));
    // A rule of an integration no longer configured stays in the policy: it is shown, to be cleared.
    const stale = Object.keys(policy?.integrations ?? {})
      .filter((key) => !configured.some((integration) => integration.key === key))
      .map((key) => ({ key, displayName: key, configured: false }));
    return {
      agentId,
      policy,
      governed: all.length > 0,
      othersGoverned: all.some((other) => other.agentId !== agentId),
      integrations: [...configured, ...stale],
    };
  }

  function sendAgent(
    res: Parameters<typeof sendConsolePage>[0],
    status: number,
    session: ConsoleSession,
    view: AgentView,
    notice?: string,
  ): void {
    sendConsolePage(res, status, session, {
      title: `Agent ${view.agentId}`,
      notice,
      body: agentBody(session, view),
    });
  }

  pages.add({
    method: 'get',
    path: '/console/agents',
    summary: "The workspace's agents, each with the access policy that applies to it (owners and admins)",
    who: 'managers',
    // `agent`: the form opening another agent's page (a redirect to it).
    query: z.strictObject({ agent: agentIdSchema.optional() }),
    redirect: 303,
    async handler({ query, session, caller, res }) {
      if (query.agent !== undefined) return res.redirect(303, agentPath(query.agent));
      const agents = await knownAgents(deps, caller.workspace);
      const governed = agents.some((agent) => agent.policy);
      sendConsolePage(res, 200, session, { title: 'Agents', body: listBody(agents, governed) });
    },
  });

  pages.add({
    method: 'get',
    path: '/console/agents/:agentId',
    summary: "An agent's access policy, a form per integration of the workspace (owners and admins)",
    who: 'managers',
    params: agentParams,
    query: noticeQuery,
    async handler({ params, query, session, caller, res }) {
      const view = await viewOf(caller.workspace, params.agentId);
      sendAgent(res, 200, session, view, query.notice && notices[query.notice]);
    },
  });

  pages.add({
    method: 'post',
    path: '/console/agents/:agentId',
    summary: "Saves one integration's rule of an agent's policy, as PUT /v1/agents/{agentId}/policy does",
    who: 'managers',
    params: agentParams,
    body: ruleFields,
    rateLimit: 'change',
    redirect: 303,
    async handler({ params, body: fields, session, caller, res }) {
      const { workspace } = caller;
      const view = await viewOf(workspace, params.agentId);
      try {
        const configured = view.integrations.filter((i) => i.configured).map((i) => i.key);
        const input = parseBody(policyInput, policyBodyOf(view.policy?.integrations, configured, fields));
        await policies.put(workspace, params.agentId, input, caller.sub);
        res.redirect(303, `${agentPath(params.agentId)}?notice=saved`);
      } catch (error) {
        const refused = fieldProblemsOf(error, ruleFieldOf(fields.integration, fields));
        if (!refused) throw error;
        const integration = view.integrations.some((i) => i.key === fields.integration)
          ? view
          : {
              ...view,
              integrations: [
                ...view.integrations,
                { key: fields.integration, displayName: fields.integration, configured: false },
              ],
            };
        sendAgent(res, refused.status, session, {
          ...integration,
          refused: {
            integration: fields.integration,
            form: typedRuleForm(fields),
            problems: refused.problems,
          },
        });
      }
    },
  });

  pages.add({
    method: 'post',
    path: '/console/agents/:agentId/remove',
    summary: "Removes an agent's access policy, as DELETE /v1/agents/{agentId}/policy does",
    who: 'managers',
    params: agentParams,
    rateLimit: 'change',
    redirect: 303,
    async handler({ params, caller, res }) {
      if (!(await policies.remove(caller.workspace, params.agentId))) {
        throw new ApiError('not_found', `agent ${params.agentId} has no policy`);
      }
      res.redirect(303, `${agentPath(params.agentId)}?notice=removed`);
    },
  });
}
