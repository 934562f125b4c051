// The README's catalogue table is what the catalogue's data gives, and prettier leaves it as generated.
import { readFile } from 'node:fs/promises';
import * as prettier from 'prettier';
import { catalogueEntry, providerCatalogue } from '../../catalogue/providers.js';
import {
  catalogueTable,
  readmePath,
  tableEnd,
  tableStart,
  withCatalogueTable,
} from '../../scripts/catalogue-table.js';
import type { CatalogueEntry } from '../../providers/provider-config.js';

const stale = 'the README catalogue table is not what the data gives: run `npm run catalogue-table`';

describe("the README's catalogue table", () => {
  it('is what the data generates', async () => {
    const readme = await readFile(readmePath, 'utf8');
    const generated = withCatalogueTable(readme);
    if (generated !== readme) throw new Error(stale);
  });

  it('has one row per entry and is printed as prettier prints Markdown', async () => {
    const table = catalogueTable();
    const rows = table.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toHaveLength(providerCatalogue.length);
    const document = `# Catalogue\n\n${tableStart}\n\n${table}\n\n${tableEnd}\n`;
    const options = (await prettier.resolveConfig(readmePath)) ?? {};
    expect(await prettier.format(document, { ...options, parser: 'markdown' })).toBe(document);
  });

  it("shows an entry's behaviour: PKCE, refresh, revocation, identity, parameters and its docs", () => {
    const google = catalogueEntry('google') as Extract<CatalogueEntry, { authType: 'oauth2' }>;
    const edited = {
      ...google,
      displayName: 'Google | Workspace',
      docs: ['https://example.com/a (b)'],
      refreshTokens: 'rotating',
      refreshTokenLifetime: { seconds: 90 * 86_400, kind: 'idle' },
      revocation: { style: 'rfc7009', url: 'https://oauth2.googleapis.com/revoke', token: 'refresh' },
      identity: { request: { url: '/oauth2/v3/userinfo' }, id: 'sub', displayName: ['email'] },
      parameters: [
        { name: 'tenant', label: 'Tenant', pattern: '^.+$', default: 'common', example: 'contoso' },
        { name: 'region', label: 'Region', pattern: '^.+$', example: 'eu' },
      ],
    } as typeof google;
    const row = catalogueTable([edited]).split('\n').at(-1)!;
    const cells = row.split(/(?<!\\)\|/).map((text) => text.trim());
    expect(cells.slice(1, -1)).toEqual([
      '`google`',
      'Google \\| Workspace',
      'mail',
      'OAuth 2.0',
      'yes',
      'rotating, lapses 90 days after last use',
      'RFC 7009',
      'request',
      '`tenant` (default `common`), `region`',
      '[docs](https://example.com/a%20%28b%29)',
    ]);
  });

  it('refuses a README without the markers', () => {
    expect(() => withCatalogueTable('# README\n')).toThrow(/catalogue:start/);
  });
});
