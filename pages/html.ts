// The HTML kit's template: `html\`…\`` escapes every interpolation (escape-html) unless it is markup made by
// the kit itself (another html`` fragment, or trustedHtml for a constant). Pages are built only with it, so
// nothing a browser, a provider or a caller sent can become markup.
import escapeHtml from 'escape-html';

/** Markup the kit vouches for: what html`` returns, and what trustedHtml wraps. */
export class SafeHtml {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** What may be interpolated: text (escaped), markup, a list of either, or nothing (absent, false). */
export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value as string | number));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let markup = strings[0]!;
  values.forEach((value, index) => {
    markup += render(value) + strings[index + 1]!;
  });
  return new SafeHtml(markup);
}

/** A constant of the service's own code taken as markup: never anything that came from outside. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
