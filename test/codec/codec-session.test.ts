// The codec server as Temporal UI reaches it from an operator's browser: no token, the browser's cookies
// (`includeCredentials`), and the UI's Origin. An operator's console session (signed in through the sign-in
// pages) decodes from the UI's origin, and only from there; a workspace's console session, its owner's and
// admin's included, never does; a token that is there decides alone. Over the API harness (real sessions in
// Postgres, the console's sign-in), without a browser: test/console/temporal-ui.browser.test.ts does it in one.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { freePort } from '../../platform/process.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { startApiHarness, type ApiHarness } from '../support/api.js';
import { CookieJar, operatorSignInUrl, signedInConsole, signInWith } from '../support/console.js';

const toJson = ({ metadata, data }: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

describe('the codec server with an operator console session', () => {
  let api: ApiHarness;
  let uiOrigin: string;
  let body: { payloads: ReturnType<typeof toJson>[] };
  const value = { connection: { id: 'con_session_probe', integration: 'github' } };
  let operatorCookie: string;

  beforeAll(async () => {
    uiOrigin = `http://127.0.0.1:${await freePort()}`;
    api = await startApiHarness({ worker: false, temporalUiOrigin: uiOrigin });
    const codec = new AesGcmPayloadCodec({ id: 'test', key: api.codecKey });
    body = { payloads: (await codec.encode([defaultPayloadConverter.toPayload(value)])).map(toJson) };
    const jar = new CookieJar();
    await signInWith(jar, await operatorSignInUrl(api));
    const session = jar.cookies.get('connections_operator');
    if (!session) throw new Error('the operator sign-in set no cookie');
    api.addSecret(session);
    operatorCookie = `connections_operator=${session}`;
  });
  afterAll(() => api?.stop());

  const decode = (headers: Record<string, string>) =>
    fetch(`${api.url}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: JSON.stringify(body),
    });

  it("decodes for an operator's session from the UI's origin, with CORS for credentials", async () => {
    const response = await decode({ cookie: operatorCookie, origin: uiOrigin });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    const { payloads } = (await response.json()) as { payloads: ReturnType<typeof toJson>[] };
    const decoded = payloads.map((payload) =>
      defaultPayloadConverter.fromPayload({
        metadata: Object.fromEntries(
          Object.entries(payload.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
        ),
        data: Buffer.from(payload.data, 'base64'),
      }),
    );
    expect(decoded).toEqual([value]);
  });

  it("refuses the operator's session from any other origin, or with no origin at all", async () => {
    for (const origin of [undefined, 'http://127.0.0.1:9', api.url, 'null']) {
      const response = await decode({ cookie: operatorCookie, ...(origin && { origin }) });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
  });

  it("refuses a workspace's console session from the UI's origin, an owner's and an admin's included", async () => {
    for (const role of ['owner', 'admin', 'member'] as const) {
      const person = await signedInConsole(api, { sub: `${role}-1`, role });
      const response = await decode({ cookie: person.cookie, origin: uiOrigin });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
      // The UI can read the refusal (and shows its banner), rather than meeting a CORS error.
      expect(response.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    }
  });

  it('lets a bearer token that is there decide alone: a bad one is refused despite the session', async () => {
    const response = await decode({ cookie: operatorCookie, origin: uiOrigin, authorization: 'Bearer nope' });
    expect(response.status).toBe(401);
  });

  it('refuses a cookie that names no session, and answers the preflight without one', async () => {
    const forged = await decode({ cookie: `connections_operator=${'A'.repeat(43)}`, origin: uiOrigin });
    expect(forged.status).toBe(401);
    const preflight = await fetch(`${api.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: uiOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
  });
});
