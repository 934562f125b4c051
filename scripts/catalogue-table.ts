// `npm run catalogue-table [-- --check]`: writes the README's catalogue table, between its
// `<!-- catalogue:start -->` and `<!-- catalogue:end -->` markers, from the catalogue's data and the one
// derivation of what each provider does (integrations/catalogue-behaviour.ts). `--check` changes nothing and
// fails when the README's table is not what the data gives; test/integrations/catalogue-table.test.ts does the
// same in `npm test`. The table is printed as prettier prints Markdown tables (aligned columns), so a
// regenerated README passes `npm run lint` unchanged.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { providerCatalogue } from '../catalogue/providers.js';
import { behaviourOf, type ParameterView } from '../integrations/catalogue-behaviour.js';
import { projectRoot } from '../platform/process.js';
import { catalogueCategories, type CatalogueEntry } from '../providers/provider-config.js';

export const tableStart = '<!-- catalogue:start -->';
export const tableEnd = '<!-- catalogue:end -->';
export const readmePath = path.join(projectRoot, 'README.md');

const columns = [
  'key',
  'name',
  'category',
  'auth',
  'PKCE',
  'refresh',
  'revocation',
  'identity',
  'parameters',
  'docs',
];

/** `-` where a column does not apply (an API key has no PKCE, refresh or revocation). */
const notApplicable = '-';

function days(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} days`;
  return `${Math.round(seconds / 3600)} hours`;
}

function parameterCell(parameters: ParameterView[]): string {
  if (!parameters.length) return notApplicable;
  return parameters
    .map((parameter) =>
      parameter.required
        ? `\`${parameter.name}\``
        : `\`${parameter.name}\` (default \`${parameter.default}\`)`,
    )
    .join(', ');
}

function docsCell(docs: readonly string[]): string {
  // Characters that would end a Markdown link or a table cell are percent-encoded; the URL is the same.
  const safe = (url: string) =>
    url.replace(/[()|\s]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return docs.map((url, index) => `[${index === 0 ? 'docs' : index + 1}](${safe(url)})`).join(' ');
}

/** One row of the table: what the catalogue says of this entry. */
function row(entry: CatalogueEntry): string[] {
  const behaviour = behaviourOf(entry);
  const common = [`\`${entry.key}\``, entry.displayName, entry.category];
  const parameters = parameterCell(behaviour.parameters);
  const docs = docsCell(entry.docs);
  if ('verification' in behaviour) {
    const identity = behaviour.identity ?? 'none';
    const auth = behaviour.verification ? 'API key, verified' : 'API key';
    return [...common, auth, notApplicable, notApplicable, notApplicable, identity, parameters, docs];
  }
  const lifetime = behaviour.refreshTokenLifetime;
  const refresh = lifetime
    ? `${behaviour.refreshTokens}, lapses ${days(lifetime.seconds)} after ${lifetime.kind === 'idle' ? 'last use' : 'issue'}`
    : behaviour.refreshTokens;
  const revocation = !behaviour.revocation
    ? 'none'
    : behaviour.revocation.style === 'rfc7009'
      ? 'RFC 7009'
      : `own ${behaviour.revocation.method} call`;
  const identity = behaviour.identity?.replace('_', ' ') ?? 'none';
  return [
    ...common,
    'OAuth 2.0',
    behaviour.pkce ? 'yes' : 'no',
    refresh,
    revocation,
    identity,
    parameters,
    docs,
  ];
}

function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
}

/** The cell's width as prettier measures it: one per character (the catalogue's text is Latin script). */
function width(text: string): number {
  return [...text].length;
}

/** The generated Markdown between the markers: a count, then the table, grouped by category. */
export function catalogueTable(entries: readonly CatalogueEntry[] = providerCatalogue): string {
  const order = (entry: CatalogueEntry) => catalogueCategories.indexOf(entry.category);
  const sorted = [...entries].sort(
    (a, b) => order(a) - order(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  const rows = [columns, ...sorted.map(row)].map((cells) => cells.map(cell));
  const widths = columns.map((_, index) => Math.max(3, ...rows.map((cells) => width(cells[index]!))));
  const line = (cells: string[]) =>
    `| ${cells.map((text, index) => text + ' '.repeat(widths[index]! - width(text))).join(' | ')} |`;
  const [header, ...body] = rows;
  const oauthCount = entries.filter((entry) => entry.authType === 'oauth2').length;
  return [
    `${entries.length} providers: ${oauthCount} by OAuth 2.0, ${entries.length - oauthCount} by API key.`,
    '',
    line(header!),
    `| ${widths.map((size) => '-'.repeat(size)).join(' | ')} |`,
    ...body.map(line),
  ].join('\n');
}

/** The README with its catalogue table replaced by `table`; throws when the markers are missing. */
export function withCatalogueTable(readme: string, table: string = catalogueTable()): string {
  const start = readme.indexOf(tableStart);
  const end = readme.indexOf(tableEnd);
  if (start < 0 || end < start) {
    throw new Error(`README.md has no ${tableStart} … ${tableEnd} section for the catalogue table`);
  }
  return `${readme.slice(0, start + tableStart.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const readme = await readFile(readmePath, 'utf8');
  const generated = withCatalogueTable(readme);
  if (generated === readme) return;
  if (values.check) {
    console.error('README.md: the catalogue table is not what the data gives; run `npm run catalogue-table`');
    process.exit(1);
  }
  await writeFile(readmePath, generated);
  console.error(`README.md: catalogue table rewritten (${providerCatalogue.length} providers)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
