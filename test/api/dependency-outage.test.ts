// While a dependency is down (or just after, when a pooled connection turns out dead), the API answers 503
// service_unavailable with Retry-After, never a 500: the caller is told to try again, and nothing of the
// database's error reaches it.
import { connectDatabase } from '../../db/database.js';
import { dependencyUnavailable } from '../../platform/dependency-errors.js';
import { freePort } from '../../platform/process.js';
import { KeyProviderError } from '../../vault/key-provider.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { listen } from '../support/http.js';

describe('an API whose database is down', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApiHarness();
  });
  afterAll(async () => api?.stop());

  it('answers 503 with Retry-After, naming no detail of the failure', async () => {
    const dead = connectDatabase(`postgres://postgres:pw-not-real@127.0.0.1:${await freePort()}/connections`);
    const server = await listen(api.appWith({ db: dead }));
    try {
      const admin = await api.token({ role: 'admin' });
      const response = await fetch(`${server.url}/v1/connections`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      const body = await response.json();
      expect(body).toEqual({
        error: { code: 'service_unavailable', message: 'the database is unavailable; try again shortly' },
      });
      expect(JSON.stringify(body)).not.toContain('pw-not-real');
    } finally {
      await server.close();
      await dead.destroy();
    }
  });

  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'database',
    ],
    [
      'a server shutting down',
      Object.assign(new Error('terminating connection'), { code: '57P01' }),
      'database',
    ],
    ['a connection that went away', new Error('Connection terminated unexpectedly'), 'database'],
    [
      'a pool that had none to give',
      Object.assign(new Error('Knex: Timeout'), { name: 'KnexTimeoutError' }),
      'database',
    ],
    ['the key service', new KeyProviderError('KMS returned no data key'), 'key service'],
    ['a constraint', Object.assign(new Error('duplicate key'), { code: '23505' }), undefined],
    ['a bug', new TypeError('x is not a function'), undefined],
  ])('tells %s apart', (_what, error, expected) => {
    expect(dependencyUnavailable(error)).toBe(expected);
  });
});
