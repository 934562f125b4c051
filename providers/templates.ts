// Fills a provider URL template (`https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`,
// `{instance_url}/services/data`) with a connection's values. The schema (providers/provider-config.ts) has
// already checked which names a template may use; values here were checked against their parameter's
// pattern or their provider-data field's hosts. A value that stands for a host label or path segment is
// percent-encoded, so it cannot add a path, a query or another host; one that starts the template is an origin
// and is used as checked.
import { placeholdersOf } from './provider-parts.js';

export class TemplateError extends Error {
  constructor(readonly missing: string) {
    super(`the provider URL needs {${missing}}, which this connection does not have`);
    this.name = 'TemplateError';
  }
}

/** `keep`: placeholders left as they are, filled by a later call (revocation's `{token}` and `{clientId}`). */
export function fillTemplate(
  template: string,
  values: Readonly<Record<string, string | undefined>>,
  keep: ReadonlySet<string> = new Set(),
): string {
  if (!placeholdersOf(template).length) return template;
  return template.replace(/\{([A-Za-z][A-Za-z0-9_]{0,39})\}/g, (match, name: string, offset: number) => {
    if (keep.has(name)) return match;
    const value = values[name];
    if (value === undefined) throw new TemplateError(name);
    return offset === 0 && /^https?:\/\//.test(value) ? value.replace(/\/$/, '') : encodeURIComponent(value);
  });
}
