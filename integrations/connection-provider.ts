// The provider of a connection, concrete: which configuration an integration speaks (the catalogue's
// current entry for a catalogue integration, so that its fixes reach workspaces configured before; a custom
// provider's stored one), the connection's parameters checked against it, and its URL templates filled with
// those parameters and the provider data it answered. The one place every provider call (authorization,
// code exchange, refresh, revocation, key verification, the proxy, the token route) gets its URLs from.
import { originOnHosts } from '../providers/url-hosts.js';
import { catalogueEntry, catalogueProvider } from '../catalogue/providers.js';
import { templateValues, type TemplateValues } from '../connections/template-values.js';
import type { Db } from '../db/database.js';
import type {
  CatalogueEntry,
  ConnectionParameter,
  ProviderConfig,
  ProviderDataField,
} from '../providers/provider-config.js';
import { fillTemplate, TemplateError } from '../providers/templates.js';
import { integrationStore, type Integration } from './integration-store.js';

/** The provider catalogue, looked up by key: catalogue/providers.ts by default, stand-ins in tests. */
export type Catalogue = (key: string) => CatalogueEntry | undefined;

export const defaultCatalogue: Catalogue = catalogueEntry;

/** How an integration is spoken to: its catalogue entry as it stands now, or its stored configuration. */
export function integrationProvider(integration: Integration, catalogue: Catalogue): ProviderConfig {
  const entry = catalogue(integration.key);
  // A custom provider can never take a catalogue key (registration refuses it): an entry means catalogue.
  if (entry && entry.authType === integration.provider.authType) {
    return catalogueProvider(entry) as ProviderConfig;
  }
  return integration.provider;
}

/** A parameter given at connect that is refused, named, with why. */
export interface ParameterProblem {
  name: string;
  message: string;
}

function matches(parameter: ConnectionParameter, value: string): boolean {
  return new RegExp(parameter.pattern, 'u').test(value);
}

/**
 * The connection's parameters: the given ones checked against the provider's (each known, each matching its
 * pattern), the absent ones from their defaults; every problem at once, or none.
 */
export function checkParameters(
  provider: ProviderConfig,
  given: Readonly<Record<string, string>>,
): { params: Record<string, string>; problems: ParameterProblem[] } {
  const declared = new Map(provider.parameters.map((parameter) => [parameter.name, parameter]));
  const problems: ParameterProblem[] = [];
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) problems.push({ name, message: 'not a parameter of this integration' });
  }
  const params: Record<string, string> = {};
  for (const parameter of provider.parameters) {
    const value = Object.hasOwn(given, parameter.name) ? given[parameter.name] : parameter.default;
    if (value === undefined) {
      problems.push({ name: parameter.name, message: `required: ${parameter.label}` });
    } else if (!matches(parameter, value)) {
      problems.push({
        name: parameter.name,
        message: `does not have the form of ${parameter.label} (for example ${parameter.example})`,
      });
    } else {
      params[parameter.name] = value;
    }
  }
  return { params, problems };
}

export interface ResolveOptions {
  /** http:// URLs in provider data are used too (development and tests only). */
  allowInsecure: boolean;
}

/** A provider-data value as the origin it may stand for in a template, or undefined when it may not. */
function urlData(field: ProviderDataField, value: unknown, options: ResolveOptions): string | undefined {
  if (!field.urlHosts || typeof value !== 'string') return undefined;
  return originOnHosts(value, field.urlHosts, { allowInsecure: options.allowInsecure });
}

/** The values templates are filled with: valid parameters (defaults for absent ones) and checked URL data. */
function fillValues(
  provider: ProviderConfig,
  values: TemplateValues,
  options: ResolveOptions,
): { params: Record<string, string>; afterConnect: Record<string, string> } {
  // Checked again against the provider as it is now: a value its current pattern refuses is not used.
  const params = checkParameters(
    provider,
    Object.fromEntries(
      Object.entries(values.params).filter(([name]) =>
        provider.parameters.some((parameter) => parameter.name === name),
      ),
    ),
  ).params;
  const data: Record<string, string> = {};
  if (provider.authType === 'oauth2') {
    for (const field of provider.providerData) {
      const origin = urlData(field, values.providerData[field.name], options);
      if (origin !== undefined) data[field.name] = origin;
    }
  }
  return { params, afterConnect: { ...data, ...params } };
}

/** A template that needs provider data the connection does not have (yet): absent rather than an error. */
function fillIfKnown(template: string | undefined, values: Record<string, string>): string | undefined {
  if (template === undefined) return undefined;
  try {
    return fillTemplate(template, values);
  } catch (error) {
    if (error instanceof TemplateError) return undefined;
    throw error;
  }
}

/** Filled when the revocation is sent (providers/revocation-client.ts). */
const revocationPlaceholders = new Set(['clientId', 'token']);

/**
 * The provider with every URL template filled for one connection. Throws TemplateError when a URL needs a
 * parameter the connection does not have; an API base URL that needs provider data not yet answered is
 * left out.
 */
export function resolveProvider<P extends ProviderConfig>(
  provider: P,
  values: TemplateValues,
  options: ResolveOptions,
): P {
  const { params, afterConnect } = fillValues(provider, values, options);
  const identity = provider.identity && {
    ...provider.identity,
    ...(provider.identity.request && {
      request: { ...provider.identity.request, url: fillTemplate(provider.identity.request.url, params) },
    }),
  };
  if (provider.authType === 'api_key') {
    return { ...provider, apiBaseUrl: fillTemplate(provider.apiBaseUrl, params), identity };
  }
  const fill = (template: string) => fillTemplate(template, params);
  return {
    ...provider,
    issuer: fill(provider.issuer),
    authorizationEndpoint: fill(provider.authorizationEndpoint),
    tokenEndpoint: fill(provider.tokenEndpoint),
    refreshEndpoint: provider.refreshEndpoint && fill(provider.refreshEndpoint),
    revocationEndpoint: provider.revocationEndpoint && fill(provider.revocationEndpoint),
    revocation: provider.revocation && {
      ...provider.revocation,
      url: fillTemplate(provider.revocation.url, afterConnect, revocationPlaceholders),
    },
    apiBaseUrl: fillIfKnown(provider.apiBaseUrl, afterConnect),
    identity,
    providerData: provider.providerData.map((field) =>
      field.request
        ? {
            ...field,
            request: { ...field.request, url: fillIfKnown(field.request.url, params) ?? field.request.url },
          }
        : field,
    ),
  };
}

/** A connection's integration and its provider, resolved for the connection; undefined when not configured. */
export async function connectionProvider(
  db: Db,
  catalogue: Catalogue,
  connection: {
    id: string;
    workspaceId: string;
    integration: string;
    params?: Record<string, string>;
    /** Its template values where the caller has read them with the connection (the read path), else read here. */
    values?: TemplateValues;
    /** The integration's version read with the connection (the read path): its cached configuration is used. */
    integrationVersion?: string;
  },
  options: ResolveOptions,
): Promise<{ integration: Integration; provider: ProviderConfig } | undefined> {
  const integration =
    connection.integrationVersion === undefined
      ? await integrationStore.get(db, connection.workspaceId, connection.integration)
      : await integrationStore.getAt(
          db,
          connection.workspaceId,
          connection.integration,
          connection.integrationVersion,
        );
  if (!integration) return undefined;
  const values = connection.values ?? (await templateValues(db, connection.id));
  // Before its row exists (the first activity of a setup may race it), the parameters it was created with.
  const params = Object.keys(values.params).length ? values.params : (connection.params ?? {});
  const provider = resolveProvider(
    integrationProvider(integration, catalogue),
    { ...values, params },
    options,
  );
  return { integration, provider };
}
