// A forced delete whose API process dies (SIGKILL) after the removal is recorded and before its dependents
// are notified: the API and the worker run as real processes (`serve.ts api|worker`, from source), and the
// platform's webhook receiver holds every notice unanswered (a deliberate fault) until the API is dead. Each
// dependent is still told, exactly once: the connection's workflow, not the HTTP handler, owns the notices.
import { Connection, Client } from '@temporalio/client';
import express, { type Response } from 'express';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, projectRoot } from '../../platform/process.js';
import { createTestDatabase, testEnv } from '../support/env.js';
import { eventually } from '../support/lifecycle.js';
import {
  connectApiKey,
  externalServiceEnv,
  registerStandIn,
  spawnService,
  startApiAndWorker,
  type ServiceProcess,
} from '../support/service-process.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

/** The platform's webhook receiver. While holding (the injected fault), it answers no notice. */
function holdingReceiver() {
  const received: Array<{ dependentId: string; connectionId: string }> = [];
  const held: Response[] = [];
  let holding = true;
  const app = express();
  app.post('/hooks', express.json({ type: '*/*' }), (req, res) => {
    received.push({ dependentId: req.body.dependent.id, connectionId: req.body.connectionId });
    if (holding) held.push(res);
    else res.status(204).end();
  });
  return {
    app,
    received,
    held: () => held.length,
    release() {
      holding = false;
      for (const res of held.splice(0)) res.status(204).end();
    },
  };
}

describe('a forced delete whose API process is killed before the notices are delivered', () => {
  let root: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let standIn: StandInApi;
  let server: Server;
  let temporal: Connection;
  const receiver = holdingReceiver();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'removal-crash-'));
    database = await createTestDatabase();
    standIn = await startStandInApi();
    server = await new Promise<Server>((resolve) => {
      const listening = receiver.app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    temporal = await Connection.connect({ address: testEnv.temporalAddress });
  });
  afterAll(async () => {
    receiver.release();
    await Promise.all(services.map((service) => service.stop('SIGKILL')));
    await temporal?.close();
    await new Promise((resolve) => server?.close(resolve));
    await standIn?.stop();
    await database?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('still tells every dependent, exactly once', async () => {
    const port = await freePort();
    const jwtSecret = randomBytes(32).toString('base64url');
    const env: NodeJS.ProcessEnv = {
      ...externalServiceEnv({
        port,
        dataDir: path.join(root, 'data'),
        databaseUrl: database.url,
        jwtSecret,
        taskQueuePrefix: 'removal-crash',
      }),
      // From source, through tsx, without the test runner's module flags.
      NODE_OPTIONS: '',
      WEBHOOK_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
      WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    };
    const { api, client } = await startApiAndWorker(
      (part) => {
        const service = spawnService(['--import', 'tsx', 'scripts/serve.ts', part], {
          cwd: projectRoot,
          env,
        });
        services.push(service);
        return service;
      },
      { port, jwtSecret, workspace: 'ws-crash' },
    );
    await registerStandIn(client, standIn);
    standIn.validKeys.add('key-crash-1');
    const id = await connectApiKey(client, 'key-crash-1');
    const dependents = [
      ['agent', 'agent-1'],
      ['task', 'task-2'],
      ['automation', 'nightly'],
    ] as const;
    for (const [kind, dependentId] of dependents) {
      expect(
        (await client.call('PUT', `/v1/connections/${id}/dependents/${kind}/${dependentId}`)).status,
      ).toBe(201);
    }

    // The delete's answer may come before the API dies or never: what the platform is told is the point.
    const deleting = client.call('DELETE', `/v1/connections/${id}?force=true`).catch((error: Error) => error);
    expect(
      await eventually(
        async () => receiver.held(),
        (held) => held === dependents.length,
        { attempts: 600 },
      ),
    ).toBe(dependents.length);
    // The removal is recorded, its notices are in the outbox, none has been answered yet.
    expect(await database.db('connections').where({ id }).first('status')).toEqual({
      status: 'disconnected',
    });
    expect(
      await database.db('dependent_notifications').where({ connection_id: id }).count({ n: '*' }),
    ).toEqual([{ n: String(dependents.length) }]);
    expect(await api.stop('SIGKILL')).toBe('SIGKILL');
    await deleting;
    receiver.release();

    const temporalClient = new Client({ connection: temporal });
    const closed = async (workflowId: string) =>
      (await temporalClient.workflow.getHandle(workflowId).describe()).status.name;
    for (const [kind, dependentId] of dependents) {
      const workflowId = `dependent-notice-${id}-${kind}-${dependentId}`;
      expect(
        await eventually(
          () => closed(workflowId),
          (status) => status !== 'RUNNING',
          { attempts: 600 },
        ),
      ).toBe('COMPLETED');
    }
    // The connection's workflow has finished too: nothing further can be sent on its behalf.
    expect(
      await eventually(
        () => closed(`connection-${id}`),
        (status) => status !== 'RUNNING',
        { attempts: 600 },
      ),
    ).toBe('COMPLETED');
    const told = receiver.received.filter((notice) => notice.connectionId === id).map((n) => n.dependentId);
    expect(told.sort()).toEqual(dependents.map(([, dependentId]) => dependentId).sort());
  }, 300_000);
});
