// No transaction is held across a provider call. A token endpoint that stalls (injected deliberately) while
// more callbacks arrive than the worker's database pool has connections used to hold one connection each, in
// a transaction, until the pool was exhausted for every workspace; now the stalled exchanges hold none, other
// work goes on, and every exchange completes once the provider answers.
import { connectDatabase } from '../../db/database.js';
import { authorizeInBrowser } from '../support/oidc-provider.js';
import {
  callbackParams,
  eventually,
  startLifecycleHarness,
  type LifecycleHarness,
} from '../support/lifecycle.js';
import { configureStandInIntegration, startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const POOL = 4;
const STALLED = POOL + 2;

describe('a token endpoint that stalls', () => {
  let harness: LifecycleHarness;
  let api: StandInApi;
  const workerDb = () => connectDatabase(harness.databaseUrl, { pool: { min: 0, max: POOL } });
  let db: ReturnType<typeof workerDb>;
  beforeAll(async () => {
    harness = await startLifecycleHarness({ worker: false });
    db = workerDb();
    await harness.startWorker({ db });
    api = await startStandInApi();
    await configureStandInIntegration(harness, api);
  });
  afterAll(async () => {
    await harness?.stop();
    await db?.destroy();
    await api?.stop();
  });

  it('holds no database connection while the provider stalls, so other connections are still made', async () => {
    const setups = [];
    for (let i = 0; i < STALLED; i++) {
      const created = await harness.commands.createOAuth({
        workspaceId: harness.workspaceId,
        integration: harness.integration,
        scope: 'workspace',
        actor: 'admin-1',
      });
      setups.push({ created, callback: await authorizeInBrowser(created.authorizationUrl) });
    }
    let release!: () => void;
    harness.oidc.injectFault({
      endpoint: 'token',
      times: STALLED,
      holdUntil: new Promise<void>((resolve) => (release = resolve)),
    });
    const completing = setups.map(({ callback }) =>
      harness.commands.completeCallback(callbackParams(callback)),
    );
    try {
      await eventually(
        async () => harness.oidc.heldRequests(),
        (held) => held === STALLED,
      );
      const openTransactions = await harness.db.raw(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state like 'idle in transaction%'`,
      );
      expect(openTransactions.rows[0].n).toBe(0);

      // Meanwhile a key connection needs the worker's pool for its records, and gets it.
      api.validKeys.add('sk-meanwhile');
      const other = await harness.commands.createApiKey({
        workspaceId: harness.workspaceId,
        integration: 'stand-in',
        scope: 'workspace',
        actor: 'admin-1',
        apiKey: 'sk-meanwhile',
      });
      expect(other.status).toBe('active');
      expect(harness.oidc.heldRequests()).toBe(STALLED);
    } finally {
      release();
    }
    const done = await Promise.all(completing);
    expect(done.map(({ snapshot }) => snapshot.status)).toEqual(Array(STALLED).fill('active'));
  });
});
