// API-key connections against a loopback stand-in for the provider's API: verification at setup, rejection,
// rotation (the old key destroyed), the scheduled probe, and the key-age notices.
import { eventually, startLifecycleHarness, type LifecycleHarness } from '../support/lifecycle.js';
import { startStandInApi, type StandInApi, configureStandInIntegration } from '../support/stand-in-api.js';

describe('API-key connections', () => {
  let harness: LifecycleHarness;
  let api: StandInApi;
  beforeAll(async () => {
    harness = await startLifecycleHarness();
    api = await startStandInApi();
    await configureStandInIntegration(harness, api);
  });
  afterAll(async () => {
    await harness?.stop();
    await api?.stop();
  });

  const create = (apiKey: string, commands = harness.commands) =>
    commands.createApiKey({
      workspaceId: harness.workspaceId,
      integration: 'stand-in',
      scope: 'user',
      ownerUserId: 'member-1',
      actor: 'member-1',
      apiKey,
    });

  const storedKey = async (connectionId: string) => {
    const rows = await harness.db('credentials').where({ connection_id: connectionId });
    return Promise.all(
      rows.map((row) =>
        harness.vault.openText(
          { workspace: harness.workspaceId, connection: connectionId, purpose: row.purpose },
          row.envelope,
        ),
      ),
    );
  };

  it('verifies a key with the provider and stores it encrypted', async () => {
    api.validKeys.add('sk-live-good-1');
    const snapshot = await create('sk-live-good-1');
    expect(snapshot).toMatchObject({ status: 'active', reason: 'key_verified' });
    expect(api.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/v1/me',
      authorization: 'Bearer sk-live-good-1',
    });
    expect(await storedKey(snapshot.id)).toEqual(['sk-live-good-1']);
    const row = await harness.db('connections').where({ id: snapshot.id }).first();
    expect(row.key_rotation_due_at.getTime() - row.key_created_at.getTime()).toBe(90 * 86_400_000);
  });

  it('fails a key the provider rejects, storing nothing', async () => {
    const snapshot = await create('sk-live-wrong');
    expect(snapshot).toMatchObject({ status: 'failed', reason: 'provider_rejected' });
    expect(await harness.db('credentials').where({ connection_id: snapshot.id })).toEqual([]);
  });

  it('fails a setup whose provider stays down (503s injected) once its short retry budget is spent, storing nothing', async () => {
    api.injectFault(503, 1_000);
    try {
      const snapshot = await create('sk-live-while-down');
      expect(snapshot).toMatchObject({ status: 'failed', reason: 'provider_unavailable' });
      expect(await harness.db('credentials').where({ connection_id: snapshot.id })).toEqual([]);
    } finally {
      api.clearFaults();
    }
  });

  it('rotates a key, destroying the old one; a rejected rotation keeps the old key', async () => {
    api.validKeys.add('sk-live-old');
    api.validKeys.add('sk-live-new');
    const { id } = await create('sk-live-old');
    const rotated = await harness.commands.rotateApiKey(
      { id, workspaceId: harness.workspaceId },
      { actor: 'member-1', apiKey: 'sk-live-new' },
    );
    expect(rotated.status).toBe('active');
    expect(await storedKey(id)).toEqual(['sk-live-new']);
    const events = await harness.db('connection_events').where({ connection_id: id }).orderBy('sequence');
    expect(events.map((e) => [e.from_status, e.to_status, e.reason])).toEqual([
      [null, 'pending', 'setup_started'],
      ['pending', 'active', 'key_verified'],
      ['active', 'active', 'key_rotated'],
    ]);

    await expect(
      harness.commands.rotateApiKey(
        { id, workspaceId: harness.workspaceId },
        { actor: 'member-1', apiKey: 'sk-bad' },
      ),
    ).rejects.toMatchObject({ code: 'provider_rejected' });
    expect(await storedKey(id)).toEqual(['sk-live-new']);
    expect((await harness.snapshot(id)).status).toBe('active');
  });

  it('probes the key on a schedule, notes its age and disuse once, and expires it when the provider rejects it', async () => {
    const commands = await harness.commandsWith({
      apiKeyProbeIntervalMs: 1_000,
      keyRotationDueMs: 1_500,
      keyUnusedMs: 1_500,
    });
    api.validKeys.add('sk-live-aging');
    const { id } = await create('sk-live-aging', commands);
    const reasons = async () =>
      (await harness.db('connection_events').where({ connection_id: id }).orderBy('sequence')).map(
        (e) => e.reason,
      );
    expect(
      await eventually(reasons, (r) => r.includes('key_rotation_due') && r.includes('key_unused')),
    ).toEqual(['setup_started', 'key_verified', 'key_rotation_due', 'key_unused']);
    // The notices are not repeated on the next probes.
    const probes = api.requests.length;
    await eventually(
      async () => api.requests.length,
      (n) => n >= probes + 2,
    );
    expect((await reasons()).filter((r) => r === 'key_unused')).toHaveLength(1);

    api.validKeys.delete('sk-live-aging');
    const expired = await eventually(
      () => harness.snapshot(id),
      (s) => s.status !== 'active',
    );
    expect(expired).toMatchObject({ status: 'expired', reason: 'key_rejected' });
  });
});
