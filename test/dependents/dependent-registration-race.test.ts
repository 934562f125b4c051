// A dependent registered while the connection is being removed without force is never left behind: either
// the removal lists it (409 has_dependents, nothing removed) or the registration is refused (the connection
// is disconnected). The removal and the registration take the connection's row lock (recordRemoval, the
// dependents PUT), so one of them always sees the other.
import { connectionStore } from '../../connections/connection-store.js';
import { dependentStore } from '../../dependents/dependent-store.js';
import { eventually } from '../support/lifecycle.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';

describe('registering a dependent while the connection is removed', () => {
  let api: ApiHarness;
  let admin: string;

  beforeAll(async () => {
    api = await startApiHarness();
    admin = await api.token({ role: 'admin' });
  });
  afterAll(async () => api?.stop());

  async function pendingConnection(): Promise<string> {
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: api.integration, scope: 'workspace' },
    });
    expect(created.status).toBe(201);
    return created.body.connection.id;
  }

  const registered = (id: string) => api.db('connection_dependents').where({ connection_id: id });

  it('lists a registration that was in progress when the delete checked (held open: injected)', async () => {
    const id = await pendingConnection();
    const ref = { workspaceId: api.workspaceId, connectionId: id };
    // A registration in progress, held open between its lock and its commit: the route's own steps, in a
    // transaction of the test's (a deliberate fault: no request stays open this long by itself).
    const registration = await api.db.transaction();
    expect(await connectionStore.lockStatus(registration, id, 'share')).toMatchObject({ status: 'pending' });
    await dependentStore.put(registration, ref, { kind: 'agent', id: 'agent-late', actor: 'admin-1' });
    const deleting = api.call('DELETE', `/v1/connections/${id}`, { token: admin });
    // The removal reaches the row lock and waits there for the registration.
    const waiting = await eventually(
      async () =>
        (
          await api
            .db('pg_stat_activity')
            .whereRaw("datname = current_database() and wait_event_type = 'Lock'")
        ).length,
      (count) => count > 0,
      { attempts: 300 },
    );
    expect(waiting).toBeGreaterThan(0);
    await registration.commit();
    const refused = await deleting;
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('has_dependents');
    expect(refused.body.error.details.dependents).toMatchObject([{ kind: 'agent', id: 'agent-late' }]);
    expect((await api.call('GET', `/v1/connections/${id}`, { token: admin })).body.connection.status).toBe(
      'pending',
    );
    expect(await registered(id)).toHaveLength(1);
  });

  it('never accepts a registration for a connection the delete removed, however the two interleave', async () => {
    for (let round = 0; round < 8; round++) {
      const id = await pendingConnection();
      const [removal, registration] = await Promise.all([
        api.call('DELETE', `/v1/connections/${id}`, { token: admin }),
        api.call('PUT', `/v1/connections/${id}/dependents/task/task-${round}`, { token: admin, body: {} }),
      ]);
      const outcome = [removal.status, registration.status];
      if (removal.status === 409) {
        expect(outcome).toEqual([409, 201]);
        expect(removal.body.error.details.dependents).toMatchObject([{ kind: 'task', id: `task-${round}` }]);
        expect(await registered(id)).toHaveLength(1);
      } else {
        expect(outcome).toEqual([200, 409]);
        expect(removal.body.notified).toEqual([]);
        expect(await registered(id)).toEqual([]);
      }
    }
  });
});
