// DNS rebinding against a custom provider, over the real stack with the outbound guard on (most tests turn
// it off: their providers are loopback stand-ins). The provider's host name resolves through a fake DNS, a
// deliberately injected resolver: it answers a public address while the provider is registered and the
// loopback stand-in's address afterwards. Key verification and proxied calls are then refused at connect
// time with a clear error, and the stand-in receives nothing. The guard-level tests show the same fake name
// does lead to the stand-in when addresses are not checked, so the refusal is the guard's doing.
import { request } from 'node:http';
import {
  AddressRefusedError,
  addressRefusal,
  createOutboundGuard,
  type Resolver,
} from '../../providers/outbound-guard.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { startStandInApi, type StandInApi } from '../support/stand-in-api.js';

const HOST = 'api.rebind.test';
const PUBLIC_ADDRESS = '93.184.215.14';

/** The fake DNS: `HOST` answers whatever the test set last; every other name does not resolve. */
function fakeDns(): { resolver: Resolver; answer(address: string): void } {
  let current = PUBLIC_ADDRESS;
  return {
    resolver: async (host) => {
      if (host !== HOST) throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
      return [{ address: current, family: current.includes(':') ? 6 : 4 }];
    },
    answer: (address) => {
      current = address;
    },
  };
}

function httpGet(url: URL, agent: ReturnType<ReturnType<typeof createOutboundGuard>['agentFor']>) {
  return new Promise<number>((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the outbound guard at connect time', () => {
  let standIn: StandInApi;
  let port: string;
  beforeAll(async () => {
    standIn = await startStandInApi();
    port = new URL(standIn.baseUrl).port;
  });
  afterAll(() => standIn.stop());

  it('reaches the stand-in through the fake name only while addresses are not checked', async () => {
    const dns = fakeDns();
    dns.answer('127.0.0.1');
    const unchecked = createOutboundGuard({ checkAddresses: false, resolver: dns.resolver });
    const checked = createOutboundGuard({ checkAddresses: true, resolver: dns.resolver });
    const url = new URL(`http://${HOST}:${port}/echo/through-the-name`);
    try {
      standIn.received.length = 0;
      expect((await unchecked.fetch(url)).status).toBe(200);
      expect(await httpGet(url, unchecked.agentFor(url))).toBe(200);
      expect(standIn.received.map((r) => r.url)).toEqual([
        '/echo/through-the-name',
        '/echo/through-the-name',
      ]);

      standIn.received.length = 0;
      const refused = await checked.fetch(url).catch((error: unknown) => error);
      expect(addressRefusal(refused)?.message).toBe(
        `the provider's host ${HOST} leads to a non-public address (loopback): refused`,
      );
      const viaHttp = await httpGet(url, checked.agentFor(url)).catch((error: unknown) => error);
      expect(viaHttp).toBeInstanceOf(AddressRefusedError);
      expect(standIn.received).toEqual([]);
    } finally {
      await unchecked.close();
      await checked.close();
    }
  });

  it('checks literal addresses in every notation, and a name whose answer changed after it was checked', async () => {
    const dns = fakeDns();
    const checked = createOutboundGuard({ checkAddresses: true, resolver: dns.resolver });
    try {
      standIn.received.length = 0;
      for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
        const url = new URL(`http://${host}:${port}/echo/literal`);
        expect(addressRefusal(await checked.fetch(url).catch((error: unknown) => error))).toBeDefined();
        expect(() => checked.agentFor(url)).toThrow(AddressRefusedError);
      }
      // The check a registration makes passes; the connection made afterwards is checked again.
      await expect(checked.checkHost(HOST)).resolves.toEqual([{ address: PUBLIC_ADDRESS, family: 4 }]);
      dns.answer('127.0.0.1');
      const url = new URL(`http://${HOST}:${port}/echo/rebound`);
      expect(addressRefusal(await checked.fetch(url).catch((error: unknown) => error))).toBeDefined();
      expect(standIn.received).toEqual([]);
    } finally {
      await checked.close();
    }
  });
});

describe('a custom provider whose name is rebound to loopback after registration', () => {
  const dns = fakeDns();
  const outbound = createOutboundGuard({ checkAddresses: true, resolver: dns.resolver });
  let api: ApiHarness;
  let standIn: StandInApi;
  let admin: string;
  let agent: string;

  beforeAll(async () => {
    api = await startApiHarness({ outbound });
    standIn = await startStandInApi();
    standIn.validKeys.add('key-good-1');
    admin = await api.token({ role: 'admin' });
    agent = await api.token({ role: 'agent', sub: 'agent-1', on_behalf_of: 'member-1' });
  });
  afterAll(async () => {
    await api?.stop();
    await standIn?.stop();
    await outbound.close();
  });

  const apiKeyProvider = (key: string, verification?: { method: 'GET'; path: string }) => ({
    key,
    displayName: 'Rebinding',
    authType: 'api_key',
    apiBaseUrl: `http://${HOST}:${new URL(standIn.baseUrl).port}`,
    injection: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
    ...(verification ? { verification } : {}),
  });

  it('registers while the name answers a public address, refuses it while it answers loopback', async () => {
    dns.answer('127.0.0.1');
    const refused = await api.call('POST', '/v1/integrations', {
      token: admin,
      body: apiKeyProvider('rebind-early'),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([
      { path: 'body.apiBaseUrl', message: `its host ${HOST} leads to a non-public address (loopback)` },
    ]);

    dns.answer(PUBLIC_ADDRESS);
    for (const body of [
      apiKeyProvider('rebind-verified', { method: 'GET', path: '/v1/me' }),
      apiKeyProvider('rebind-unverified'),
    ]) {
      expect((await api.call('POST', '/v1/integrations', { token: admin, body })).status).toBe(201);
    }
  });

  it('refuses the key verification at connect time: the connection fails and the stand-in hears nothing', async () => {
    dns.answer('127.0.0.1');
    standIn.received.length = 0;
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'rebind-verified', scope: 'workspace', apiKey: 'key-good-1' },
    });
    expect(created.status).toBe(422);
    expect(created.body.error).toMatchObject({
      code: 'provider_rejected',
      details: { status: 'failed', reason: 'verification_failed' },
    });
    expect(standIn.received).toEqual([]);
    const shown = await api.call('GET', `/v1/connections/${created.body.error.details.connectionId}`, {
      token: admin,
    });
    expect(shown.body.connection).toMatchObject({ status: 'failed', statusReason: 'verification_failed' });
  });

  it('refuses a proxied call at connect time with a clear error, and the stand-in hears nothing', async () => {
    // Made while the name answers publicly; there is no verification request, so nothing is sent yet.
    dns.answer(PUBLIC_ADDRESS);
    const created = await api.call('POST', '/v1/connections', {
      token: admin,
      body: { integration: 'rebind-unverified', scope: 'workspace', apiKey: 'key-good-1' },
    });
    expect(created.status).toBe(201);

    dns.answer('127.0.0.1');
    standIn.received.length = 0;
    const proxied = await api.call('GET', `/v1/connections/${created.body.connection.id}/proxy/echo/x`, {
      token: agent,
    });
    expect(proxied.status).toBe(502);
    expect(proxied.body.error).toEqual({
      code: 'provider_unavailable',
      message: `the provider's host ${HOST} leads to a non-public address (loopback): refused`,
    });
    dns.answer('::ffff:127.0.0.1');
    const mapped = await api.call('GET', `/v1/connections/${created.body.connection.id}/proxy/echo/x`, {
      token: agent,
    });
    expect(mapped.status).toBe(502);
    expect(standIn.received).toEqual([]);
  });
});
