// The embedded default's Postgres starts from a private folder too (mktemp -d, /root): as root it runs as
// user `postgres`, and the service opens a path (search bit only) to its data and says so.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../platform/postgres.js';
import { freePort } from '../../platform/process.js';

describe('embedded Postgres', () => {
  it('starts with its data under a private folder, and serves queries', async () => {
    const privateFolder = await mkdtemp(path.join(tmpdir(), 'private-'));
    expect((await stat(privateFolder)).mode & 0o077).toBe(0);
    const warnings: string[] = [];
    const postgres = await startEmbeddedPostgres({
      dir: path.join(privateFolder, 'postgres'),
      port: await freePort(),
      onWarn: (message) => warnings.push(message),
    });
    try {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.end();
      if (process.getuid?.() === 0) {
        expect(warnings.join('\n')).toContain(privateFolder);
        expect((await stat(privateFolder)).mode & 0o007).toBe(0o001);
      }
    } finally {
      await postgres.stop();
      await rm(privateFolder, { recursive: true, force: true });
    }
  });
});
