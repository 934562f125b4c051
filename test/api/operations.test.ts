// What stays cheap however often it is called: /readyz answers from a cached probe (one in flight at
// most), /metrics runs no query (its connections gauge is moved by transition notices), and ready long-polls
// are bounded per caller (429) and per process (503). Probes and queries are counted with instrumented
// dependencies: a key provider that counts its checks, knex's query event.
import { Client, Connection } from '@temporalio/client';
import { READINESS_CACHE_MS } from '../../api/health.js';
import { createLogger } from '../../logging/logger.js';
import type { KeyProvider } from '../../vault/key-provider.js';
import { connectThroughApi, operationsApp, startApiHarness, type ApiHarness } from '../support/api.js';
import { createTestDatabase, testEnv, testKeyProvider } from '../support/env.js';
import { listen } from '../support/http.js';
import { waitersOf } from '../../agent-access/ready.js';

const logger = createLogger('silent');

/** Polls until `ready()` holds, failing after `ms`. */
async function until(ready: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('/readyz', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temporal: Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    temporal = new Client({ connection: await Connection.connect({ address: testEnv.temporalAddress }) });
  });
  afterAll(async () => {
    await database.drop();
    await temporal.connection.close();
  });

  /** The test KMS, its checks counted, each held until `release()` when `gated`. */
  function countingKeys(gated = false) {
    const keys = testKeyProvider();
    let checks = 0;
    let open: () => void = () => undefined;
    let gate = gated ? new Promise<void>((resolve) => (open = resolve)) : Promise.resolve();
    const counted: KeyProvider = Object.assign(Object.create(keys), {
      async check() {
        checks++;
        await gate;
        return keys.check();
      },
    });
    return {
      keys: counted,
      checks: () => checks,
      release() {
        open();
        gate = Promise.resolve();
      },
    };
  }

  it('answers a thousand hits from at most one probe per cache period', async () => {
    const counting = countingKeys();
    // The cache period is measured by this clock, which only the test moves.
    let clock = 1_000_000;
    const server = await listen(
      operationsApp({ db: database.db, temporal, keys: counting.keys, logger, now: () => clock }),
    );
    const hits = async (count: number) =>
      Promise.all(
        Array.from({ length: count }, () =>
          fetch(`${server.url}/readyz`).then((response) => response.status),
        ),
      );
    try {
      const statuses: number[] = [];
      for (let batch = 0; batch < 20; batch++) statuses.push(...(await hits(50)));
      expect(statuses).toEqual(Array(1000).fill(200));
      expect(counting.checks()).toBe(1);
      // Within the period still the cached answer; once it has passed, one probe more.
      clock += READINESS_CACHE_MS - 1;
      expect(await hits(50)).toEqual(Array(50).fill(200));
      expect(counting.checks()).toBe(1);
      clock += 1;
      expect(await hits(50)).toEqual(Array(50).fill(200));
      expect(counting.checks()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('has one probe in flight at most, shared by every hit that comes meanwhile', async () => {
    const counting = countingKeys(true);
    const server = await listen(operationsApp({ db: database.db, temporal, keys: counting.keys, logger }));
    try {
      const answers = Array.from({ length: 50 }, () =>
        fetch(`${server.url}/readyz`).then((response) => response.status),
      );
      await until(() => counting.checks() > 0, 'the first probe started');
      // Every other hit arrives while that probe is held: none starts another.
      await until(async () => {
        const one = await Promise.race([
          answers[0],
          new Promise((resolve) => setImmediate(() => resolve('open'))),
        ]);
        return one === 'open';
      }, 'the hits are waiting');
      expect(counting.checks()).toBe(1);
      counting.release();
      expect(await Promise.all(answers)).toEqual(Array(50).fill(200));
      expect(counting.checks()).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('/metrics and ready long-polls', () => {
  let api: ApiHarness;
  let admin: string;
  beforeAll(async () => {
    api = await startApiHarness({ readyWaits: { perCaller: 2, perProcess: 3 } });
    admin = await api.token({ role: 'admin' });
  });
  afterAll(async () => api?.stop());

  const gauge = async (status: string): Promise<number> => {
    const { body } = await api.call('GET', '/metrics');
    const line = (body as string).split('\n').find((l) => l.startsWith(`connections{status="${status}"}`));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  it('keeps the connections gauge current from transition notices, with no query per scrape', async () => {
    const activeBefore = await gauge('active');
    const id = await connectThroughApi(api, admin, 'workspace');
    await until(
      async () => (await gauge('active')) === activeBefore + 1,
      'the gauge counted the new connection',
    );

    let queries = 0;
    const count = () => queries++;
    api.db.on('query', count);
    try {
      for (let i = 0; i < 10; i++) await api.call('GET', '/metrics');
      expect(queries).toBe(0);
      expect(await api.call('POST', `/v1/connections/${id}/deactivate`, { token: admin })).toMatchObject({
        status: 200,
      });
      await until(async () => (await gauge('inactive')) >= 1, 'the gauge moved to inactive');
      expect(await gauge('active')).toBe(activeBefore);
    } finally {
      api.db.off('query', count);
    }
    // The worker's notice carries where the connection came from.
    const rows: Array<{ status: string; n: string }> = await api
      .db('connections')
      .select('status')
      .count({ n: '*' })
      .groupBy('status');
    for (const row of rows)
      expect([row.status, await gauge(String(row.status))]).toEqual([row.status, Number(row.n)]);
  });

  it('bounds ready long-polls per caller (429) and per process (503)', async () => {
    const id = await connectThroughApi(api, admin, 'workspace');
    await api.call('POST', `/v1/connections/${id}/deactivate`, { token: admin });
    const agent = (sub: string) => api.token({ role: 'agent', sub, on_behalf_of: 'member-1' });
    const [one, two, three] = await Promise.all([agent('agent-1'), agent('agent-2'), agent('agent-3')]);
    const poll = (token: string) => api.call('GET', `/v1/connections/${id}/ready?timeout=60`, { token });
    const waiting = () => waitersOf(api.changes, id);

    const held = [poll(one), poll(one)];
    await until(() => waiting() === 2, 'two long-polls of agent-1 waiting');
    const perCaller = await poll(one);
    expect(perCaller.status).toBe(429);
    expect(perCaller.body.error.code).toBe('rate_limited');
    expect(Number(perCaller.headers.get('retry-after'))).toBeGreaterThan(0);

    held.push(poll(two));
    await until(() => waiting() === 3, 'a long-poll of agent-2 waiting');
    const perProcess = await poll(three);
    expect(perProcess.status).toBe(503);
    expect(perProcess.body.error.code).toBe('service_unavailable');
    expect(Number(perProcess.headers.get('retry-after'))).toBeGreaterThan(0);

    await api.call('POST', `/v1/connections/${id}/activate`, { token: admin });
    expect((await Promise.all(held)).map((answer) => [answer.status, answer.body.ready])).toEqual(
      Array(3).fill([200, true]),
    );
    // The places were given back.
    expect((await poll(three)).status).toBe(200);
  });
});
