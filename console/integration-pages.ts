// The console's integrations pages: the catalogue and the workspace's custom providers with their state
// (everyone signed in), a provider's settings and the registration of a custom one (owners and admins). Each
// form becomes the body the API's route takes and goes through the same function (integration-settings.ts),
// so a form is refused exactly where a JSON body would be; a refused form is shown again with each field's
// problem, its other values kept, and nothing stored. A client secret is write-only: no page ever carries
// one, not even the form that was refused.
import { z } from 'zod';
import { text } from '../api/validation.js';
import {
  agentScopeSettingOf,
  configureBody,
  configureIntegration,
  customBody,
  integrationOf,
  integrationSettingsOf,
  listIntegrations,
  registerCustomProvider,
  setAgentScope,
  type AgentScopeState,
  type IntegrationView,
} from '../integrations/integration-settings.js';
import type { AgentScope } from '../integrations/integration-store.js';
import { integrationKeySchema } from '../providers/provider-config.js';
import { html, type HtmlValue, type SafeHtml } from '../pages/html.js';
import { csrfInput, dataTable, sendConsolePage } from './console-layout.js';
import type { ConsolePages, ConsoleSession } from './console-page.js';
import {
  agentScopeOfField,
  configureBodyOf,
  customBodyOf,
  customProviderFieldOf,
  customProviderFields,
  fieldProblemsOf,
  parseBody,
  refuseCustomClientFields,
  settingsFieldOf,
  settingsFields,
  type CustomProviderFields,
  type FieldProblems,
  type SettingsFields,
} from './integration-forms.js';
import type { ConsoleDependencies } from './routes.js';

const isManager = (session: ConsoleSession) =>
  session.caller.role === 'owner' || session.caller.role === 'admin';

const settingsPath = (key: string) => `/console/integrations/${encodeURIComponent(key)}/settings`;

const authenticationWords = { oauth2: 'OAuth 2.0', api_key: 'API key' } as const;

const agentScopeWords: Record<AgentScope, string> = {
  workspace: "The workspace's connection",
  user: "Each user's own connection",
};

const notices = { saved: 'Saved.', registered: 'Registered.' } as const;
const noticeQuery = z.strictObject({ notice: z.enum(['saved', 'registered']).optional() });

function stateOf(integration: IntegrationView): string {
  if (!integration.configured) return 'Not configured';
  return integration.enabled ? 'Enabled' : 'Disabled';
}

function categoryOf(integration: IntegrationView): string {
  if (!integration.category) return 'Custom';
  const words = integration.category.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

interface FieldOptions {
  /** The form's own prefix for ids, where a page has two forms with the same fields. */
  form?: string;
  name: string;
  label: string;
  type?: 'text' | 'url' | 'password';
  value?: string;
  hint?: HtmlValue;
  problems: FieldProblems;
  required?: boolean;
  autocomplete?: string;
}

/** A labelled input with its hint and its problems, which the input names (aria-describedby). */
function inputField(options: FieldOptions): SafeHtml {
  const id = options.form ? `${options.form}-${options.name}` : options.name;
  const problems = options.problems[options.name];
  const described = [options.hint ? `${id}-hint` : '', problems ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  // A secret is never put back in a page: the password field is always empty.
  const value = options.type === 'password' ? undefined : options.value;
  return html`<label for="${id}">${options.label}</label>
    ${options.hint ? html`<p id="${id}-hint" class="muted">${options.hint}</p>` : ''}
    ${problems ? html`<p id="${id}-error" class="field-error">${problems.join(' ')}</p>` : ''}
    <input
      type="${options.type ?? 'text'}"
      id="${id}"
      name="${options.name}"
      ${value !== undefined ? html`value="${value}"` : ''}
      ${described ? html`aria-describedby="${described}"` : ''}
      ${problems ? html`aria-invalid="true"` : ''}
      ${options.required ? html`required` : ''}
      autocomplete="${options.autocomplete ?? 'off'}"
    />`;
}

/** The refusal's problems above the form, each named by its field's label. */
function problemsAlert(problems: FieldProblems, labels: Record<string, string>): HtmlValue {
  // In the order of the form's fields; problems of no field last.
  const order = (name: string) => (name in labels ? Object.keys(labels).indexOf(name) : Infinity);
  const entries = Object.entries(problems).sort(([a], [b]) => order(a) - order(b));
  if (entries.length === 0) return '';
  return html`<div role="alert">
    <p>Nothing was saved. Correct these and send the form again:</p>
    <ul>
      ${entries.map(
        ([name, messages]) => html`<li>${labels[name] ? `${labels[name]}: ` : ''}${messages.join(' ')}</li>`,
      )}
    </ul>
  </div>`;
}

const listQuery = z.strictObject({
  q: text(100, { min: 0 }).optional(),
  configured: z.literal('yes').optional(),
});

function matches(integration: IntegrationView, query: z.infer<typeof listQuery>): boolean {
  if (query.configured && !integration.configured) return false;
  const search = query.q?.trim().toLowerCase();
  if (!search) return true;
  return (
    integration.displayName.toLowerCase().includes(search) || integration.key.toLowerCase().includes(search)
  );
}

function listBody(
  session: ConsoleSession,
  all: IntegrationView[],
  query: z.infer<typeof listQuery>,
): SafeHtml {
  const manager = isManager(session);
  const shown = all.filter((integration) => matches(integration, query));
  const rows = shown.map(
    (integration) =>
      html`<tr>
        <td>
          <a href="/console/integrations/${encodeURIComponent(integration.key)}"
            >${integration.displayName}</a
          >
        </td>
        <td>${authenticationWords[integration.authType]}</td>
        <td>${categoryOf(integration)}</td>
        <td>${stateOf(integration)}</td>
        ${
          manager
            ? html`<td>
                <a href="${settingsPath(integration.key)}">Configure ${integration.displayName}</a>
              </td>`
            : ''
        }
      </tr>`,
  );
  return html`<p>
      The provider catalogue and this workspace's custom providers. Open one to see its connections and to
      connect.${manager ? '' : ' Owners and admins configure them.'}
    </p>
    ${manager ? html`<p><a href="/console/integrations/new">Register a custom provider</a></p>` : ''}
    <form method="get" action="/console/integrations" role="search" aria-label="Filter the integrations">
      <label for="q">Search</label>
      <input type="text" id="q" name="q" value="${query.q ?? ''}" />
      <p>
        <input
          type="checkbox"
          id="configured"
          name="configured"
          value="yes"
          ${query.configured ? html`checked` : ''}
        />
        <label class="inline" for="configured">Configured only</label>
      </p>
      <button type="submit">Filter</button>
    </form>
    <p>${shown.length} of ${all.length} integrations shown.</p>
    ${dataTable({
      caption: 'Integrations',
      columns: ['Integration', 'Authentication', 'Category', 'State', manager && 'Settings'],
      rows,
      empty: 'No integration matches these filters.',
    })}`;
}

const settingsLabels: Record<string, string> = {
  clientId: 'Client ID',
  clientSecret: 'Client secret',
  scopes: 'Scopes',
  enabled: 'Enabled',
  agentScope: 'Agents use',
};

interface SettingsForm {
  integration: IntegrationView;
  agentScope: AgentScopeState;
  /** What the form shows: the stored values, or those of the refused form. */
  values: {
    clientId?: string;
    scopes: string;
    enabled: boolean;
    agentScope: SettingsFields['agentScope'];
    /** A refused form had a client secret typed (not shown: it has to be typed again). */
    secretTyped?: boolean;
  };
  problems: FieldProblems;
}

function agentScopeSelect(form: SettingsForm): SafeHtml {
  const option = (value: SettingsFields['agentScope'], words: string) =>
    html`<option value="${value}" ${form.values.agentScope === value ? html`selected` : ''}>
      ${words}
    </option>`;
  const problems = form.problems.agentScope;
  return html`<label for="agentScope">Agents use</label>
    <p id="agentScope-hint" class="muted">
      Which connection a shared agent uses when it acts for someone: the workspace's shared one, or the acting
      user's own.
    </p>
    ${problems ? html`<p id="agentScope-error" class="field-error">${problems.join(' ')}</p>` : ''}
    <select
      id="agentScope"
      name="agentScope"
      aria-describedby="agentScope-hint${problems ? ' agentScope-error' : ''}"
      ${problems ? html`aria-invalid="true"` : ''}
    >
      ${option('default', `The default (${agentScopeWords[form.agentScope.defaultScope].toLowerCase()})`)}
      ${option('workspace', agentScopeWords.workspace)} ${option('user', agentScopeWords.user)}
    </select>`;
}

function settingsBody(deps: ConsoleDependencies, session: ConsoleSession, form: SettingsForm): SafeHtml {
  const { integration, values, problems } = form;
  const action = settingsPath(integration.key);
  const oauth = integration.authType === 'oauth2';
  const custom = integration.source === 'custom';
  const secretHint = [
    integration.clientSecretPresent
      ? 'A client secret is stored. It is never shown; leave this empty to keep it, or type a new one to replace it.'
      : 'No client secret is stored.',
    values.secretTyped ? ' The one you typed was not saved: type it again.' : '',
  ].join('');
  const clientFields = html`${inputField({
    name: 'clientId',
    label: 'Client ID',
    value: values.clientId,
    problems,
  })}
  ${inputField({
    name: 'clientSecret',
    label: 'Client secret',
    type: 'password',
    hint: secretHint,
    problems,
    autocomplete: 'new-password',
  })}
  ${inputField({
    name: 'scopes',
    label: 'Scopes',
    value: values.scopes,
    hint: `Space-separated. Empty: the provider's defaults (${integration.defaultScopes.join(' ') || 'none'}).`,
    problems,
  })}`;
  const facts = html`<dl>
    <dt>Authentication</dt>
    <dd>${authenticationWords[integration.authType]}</dd>
    <dt>Source</dt>
    <dd>${custom ? 'A custom provider of this workspace' : 'The catalogue'}</dd>
    <dt>State</dt>
    <dd>${stateOf(integration)}</dd>
    ${
      oauth
        ? html`<dt>Redirect URI to register at the provider</dt>
            <dd><code>${deps.publicUrl}/v1/oauth/callback</code></dd>`
        : ''
    }
    ${
      custom && oauth
        ? html`<dt>Client ID</dt>
            <dd>${values.clientId ?? 'None'}</dd>
            <dt>Client secret</dt>
            <dd>${integration.clientSecretPresent ? 'Stored (never shown)' : 'None'}</dd>
            <dt>Scopes</dt>
            <dd>${integration.scopes.join(' ') || 'None'}</dd>`
        : ''
    }
  </dl>`;
  return html`${facts}
    ${
      custom
        ? html`<p>
            A custom provider's endpoints, client and scopes are fixed when it is registered (register it
            again under another key to change them); here you choose which connection agents use.
          </p>`
        : ''
    }
    <form method="post" action="${action}" novalidate>
      ${csrfInput(session)} ${problemsAlert(problems, settingsLabels)} ${!custom && oauth ? clientFields : ''}
      ${
        custom
          ? ''
          : html`<p>
                <input
                  type="checkbox"
                  id="enabled"
                  name="enabled"
                  value="yes"
                  ${values.enabled ? html`checked` : ''}
                />
                <label class="inline" for="enabled">Enabled</label>
              </p>
              <p class="muted">A disabled integration keeps its settings; nobody can connect to it.</p>`
      }
      ${agentScopeSelect(form)}
      <button type="submit">Save</button>
    </form>
    <p>
      <a href="/console/integrations/${encodeURIComponent(integration.key)}"
        >${integration.displayName}: its connections</a
      >
      · <a href="/console/integrations">All integrations</a>
    </p>`;
}

function sendSettings(
  res: Parameters<typeof sendConsolePage>[0],
  status: number,
  deps: ConsoleDependencies,
  session: ConsoleSession,
  form: SettingsForm,
  notice?: string,
): void {
  sendConsolePage(res, status, session, {
    title: `Configure ${form.integration.displayName}`,
    notice,
    body: settingsBody(deps, session, form),
  });
}

const customLabels: Record<string, string> = {
  key: 'Key',
  displayName: 'Display name',
  authorizationEndpoint: 'Authorization URL',
  tokenEndpoint: 'Token URL',
  revocationEndpoint: 'Revocation URL',
  apiBaseUrl: 'API base URL',
  scopes: 'Scopes',
  clientId: 'Client ID',
  clientSecret: 'Client secret',
  tokenEndpointAuthMethod: 'Client authentication',
  headerName: 'Header name',
  valuePrefix: 'Value prefix',
  verificationPath: 'Verification path',
};

const clientAuthentications = [
  ['client_secret_basic', 'Client secret in the Authorization header (client_secret_basic)'],
  ['client_secret_post', 'Client secret in the request body (client_secret_post)'],
  ['none', 'None: a public client (PKCE only)'],
] as const;

interface RegistrationForms {
  /** The refused form, with its values (never its secret) and its problems. */
  refused?: { fields: CustomProviderFields; problems: FieldProblems };
}

function registrationBody(session: ConsoleSession, forms: RegistrationForms): SafeHtml {
  const of = (authType: CustomProviderFields['authType']) =>
    forms.refused?.fields.authType === authType ? forms.refused : undefined;
  const oauth = of('oauth2');
  const apiKey = of('api_key');
  const oauthField = (name: keyof CustomProviderFields, options: Partial<FieldOptions> = {}) =>
    inputField({
      form: 'oauth',
      name,
      label: customLabels[name]!,
      value: oauth?.fields[name],
      problems: oauth?.problems ?? {},
      ...options,
    });
  const apiKeyField = (name: keyof CustomProviderFields, options: Partial<FieldOptions> = {}) =>
    inputField({
      form: 'apikey',
      name,
      label: customLabels[name]!,
      value: apiKey?.fields[name],
      problems: apiKey?.problems ?? {},
      ...options,
    });
  const keyHint =
    'Lowercase letters, digits and hyphens; how the API and connections name it. It cannot be changed later.';
  const authMethod = oauth?.fields.tokenEndpointAuthMethod ?? 'client_secret_basic';
  const authMethodProblems = oauth?.problems.tokenEndpointAuthMethod;
  return html`<p>
      A provider that is not in the catalogue. Its URLs must be https and on public addresses (the service
      checks them before storing anything).
    </p>
    <form method="post" action="/console/integrations/new" novalidate>
      ${csrfInput(session)}
      <input type="hidden" name="authType" value="oauth2" />
      <fieldset>
        <legend>OAuth 2.0 provider</legend>
        ${problemsAlert(oauth?.problems ?? {}, customLabels)}
        ${oauthField('key', { hint: keyHint, required: true })}
        ${oauthField('displayName', { required: true })}
        ${oauthField('authorizationEndpoint', { type: 'url', required: true })}
        ${oauthField('tokenEndpoint', { type: 'url', required: true })}
        ${oauthField('revocationEndpoint', { type: 'url', hint: 'Optional (RFC 7009).' })}
        ${oauthField('apiBaseUrl', {
          type: 'url',
          hint: 'Optional: where the proxy sends agents’ calls.',
        })}
        ${oauthField('scopes', { hint: 'Space-separated.' })} ${oauthField('clientId', { required: true })}
        ${oauthField('clientSecret', {
          type: 'password',
          autocomplete: 'new-password',
          hint: oauth?.fields.clientSecret
            ? 'Write-only: the one you typed was not saved and is never shown: type it again.'
            : 'Write-only: stored sealed and never shown again.',
        })}
        <label for="oauth-tokenEndpointAuthMethod">Client authentication</label>
        ${
          authMethodProblems
            ? html`<p id="oauth-tokenEndpointAuthMethod-error" class="field-error">
                ${authMethodProblems.join(' ')}
              </p>`
            : ''
        }
        <select
          id="oauth-tokenEndpointAuthMethod"
          name="tokenEndpointAuthMethod"
          ${
            authMethodProblems
              ? html`aria-invalid="true" aria-describedby="oauth-tokenEndpointAuthMethod-error"`
              : ''
          }
        >
          ${clientAuthentications.map(
            ([value, words]) =>
              html`<option value="${value}" ${authMethod === value ? html`selected` : ''}>${words}</option>`,
          )}
        </select>
        <button type="submit">Register OAuth provider</button>
      </fieldset>
    </form>
    <form method="post" action="/console/integrations/new" novalidate>
      ${csrfInput(session)}
      <input type="hidden" name="authType" value="api_key" />
      <fieldset>
        <legend>API-key provider</legend>
        ${problemsAlert(apiKey?.problems ?? {}, customLabels)}
        ${apiKeyField('key', { hint: keyHint, required: true })}
        ${apiKeyField('displayName', { required: true })}
        ${apiKeyField('apiBaseUrl', { type: 'url', required: true })}
        ${apiKeyField('headerName', {
          hint: 'The request header that carries the key, for example X-Api-Key or Authorization.',
          required: true,
        })}
        ${apiKeyField('valuePrefix', { hint: 'Optional: put before the key, for example "Bearer ".' })}
        ${apiKeyField('verificationPath', {
          hint: 'Optional: a path under the API base URL that answers 2xx for a valid key (GET), for example /me.',
        })}
        <button type="submit">Register API-key provider</button>
      </fieldset>
    </form>
    <p><a href="/console/integrations">All integrations</a></p>`;
}

function sendRegistration(
  res: Parameters<typeof sendConsolePage>[0],
  status: number,
  session: ConsoleSession,
  forms: RegistrationForms,
): void {
  sendConsolePage(res, status, session, {
    title: 'Register a custom provider',
    body: registrationBody(session, forms),
  });
}

export function integrationPages(pages: ConsolePages, deps: ConsoleDependencies): void {
  const keyParams = z.strictObject({ key: integrationKeySchema });

  pages.add({
    method: 'get',
    path: '/console/integrations',
    summary: "The console's integrations: the catalogue and custom providers with their state, filterable",
    query: listQuery,
    async handler({ query, session, res }) {
      const all = await listIntegrations(deps.db, session.caller.workspace);
      sendConsolePage(res, 200, session, { title: 'Integrations', body: listBody(session, all, query) });
    },
  });

  // Before the connection pages' `/console/integrations/:key` (routes.ts adds these pages first), which
  // would take "new" for a key.
  pages.add({
    method: 'get',
    path: '/console/integrations/new',
    summary: 'The forms registering a custom OAuth 2.0 or API-key provider (owners and admins)',
    who: 'managers',
    handler({ session, res }) {
      sendRegistration(res, 200, session, {});
    },
  });

  pages.add({
    method: 'post',
    path: '/console/integrations/new',
    summary: 'Registers a custom provider from one of the forms, as POST /v1/integrations does',
    who: 'managers',
    body: customProviderFields,
    rateLimit: 'change',
    redirect: 303,
    async handler({ body: fields, session, caller, res }) {
      try {
        const registered = await registerCustomProvider(
          deps,
          caller.workspace,
          parseBody(customBody, customBodyOf(fields)),
        );
        res.redirect(303, `${settingsPath(registered.key)}?notice=registered`);
      } catch (error) {
        const refused = fieldProblemsOf(error, customProviderFieldOf, 'key');
        if (!refused) throw error;
        sendRegistration(res, refused.status, session, { refused: { fields, problems: refused.problems } });
      }
    },
  });

  pages.add({
    method: 'get',
    path: '/console/integrations/:key/settings',
    summary: "A provider's settings: client, write-only client secret, scopes, enabled, the agent scope",
    who: 'managers',
    params: keyParams,
    query: noticeQuery,
    async handler({ params, query, session, res }) {
      const { integration, clientId, agentScope } = await integrationSettingsOf(
        deps.db,
        session.caller.workspace,
        params.key,
      );
      const form: SettingsForm = {
        integration,
        agentScope,
        values: {
          clientId,
          scopes: integration.scopes.join(' '),
          // A first configuration enables the integration unless the box is cleared.
          enabled: integration.configured ? integration.enabled : true,
          agentScope: agentScope.scope ?? 'default',
        },
        problems: {},
      };
      sendSettings(res, 200, deps, session, form, query.notice && notices[query.notice]);
    },
  });

  pages.add({
    method: 'post',
    path: '/console/integrations/:key/settings',
    summary: "Saves a provider's settings, as PUT /v1/integrations/{key} and its agent-scope route do",
    who: 'managers',
    params: keyParams,
    body: settingsFields,
    redirect: 303,
    async handler({ params, body: fields, session, caller, res }) {
      const workspace = caller.workspace;
      const integration = await integrationOf(deps.db, workspace, params.key);
      try {
        // A custom provider's form only sets its agent scope (the API configures catalogue providers only).
        if (integration.source === 'catalogue') {
          const body = parseBody(configureBody, configureBodyOf(fields, integration));
          await configureIntegration(deps, workspace, params.key, body);
        } else {
          refuseCustomClientFields(fields);
        }
        await setAgentScope(deps.db, workspace, params.key, agentScopeOfField(fields.agentScope));
        res.redirect(303, `${settingsPath(params.key)}?notice=saved`);
      } catch (error) {
        const refused = fieldProblemsOf(error, settingsFieldOf);
        if (!refused) throw error;
        sendSettings(res, refused.status, deps, session, {
          integration,
          agentScope: await agentScopeSettingOf(deps.db, workspace, params.key),
          values: {
            clientId: fields.clientId,
            scopes: fields.scopes ?? '',
            enabled: fields.enabled === 'yes',
            agentScope: fields.agentScope,
            secretTyped: Boolean(fields.clientSecret),
          },
          problems: refused.problems,
        });
      }
    },
  });
}
