// The codec server routes as Temporal UI calls them: proto3 JSON payloads, a bearer token, CORS from the UI's
// origin. Operators decode and encode; nobody else does, a workspace's owners and admins included (issue 10:
// they used to, for every workspace's payloads); a refused request's body is not read; nothing of a payload
// reaches the log.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import express from 'express';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadJwtSecret, mintToken, roles, type Role } from '../../api/auth.js';
import { codecServerRoutes } from '../../api/codec-server.js';
import { createOperatorVerifier, loadOperatorSecret, mintOperatorToken } from '../../api/operator-auth.js';
import { errorHandler, notFound } from '../../api/errors.js';
import { createLogger } from '../../logging/logger.js';
import { codecKeyId } from '../../temporal/codec-key.js';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec.js';
import { listen } from '../support/http.js';

const uiOrigin = 'http://127.0.0.1:8233';
const toJson = ({ metadata, data }: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});
const fromJson = ({ metadata, data }: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data, 'base64'),
});

describe('codec server routes', () => {
  const secretValue = { accessToken: `ya29.${randomBytes(12).toString('hex')}` };
  const logLines: string[] = [];
  let codec: AesGcmPayloadCodec;
  let server: Awaited<ReturnType<typeof listen>>;
  let tokenFor: (role: Role) => Promise<string>;
  let operatorToken: () => Promise<string>;

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'codec-auth-'));
    const secret = await loadJwtSecret({ jwtSecretFile: path.join(dir, 'jwt-secret') });
    tokenFor = (role) => mintToken(secret, { sub: `u-${role}`, workspace: 'ws_1', role });
    const operatorSecret = await loadOperatorSecret({ secretFile: path.join(dir, 'operator-secret') });
    operatorToken = () => mintOperatorToken(operatorSecret, 'ops');
    const key = randomBytes(32);
    codec = new AesGcmPayloadCodec({ id: codecKeyId(key), key });
    const logger = createLogger(
      'debug',
      new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    );
    const app = express();
    app.use(
      codecServerRoutes({
        codec,
        verifyOperator: createOperatorVerifier(operatorSecret),
        allowedOrigins: [uiOrigin],
      }),
    );
    app.use(notFound);
    app.use(errorHandler(logger));
    server = await listen(app);
  });
  afterAll(async () => {
    await server.close();
    expect(logLines.join('')).not.toContain(secretValue.accessToken);
  });

  async function post(route: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.url}/codec/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: uiOrigin, ...headers },
      body: JSON.stringify(body),
    });
    return { response, body: (await response.json()) as Record<string, unknown> };
  }
  const bearer = async (role: Role) => ({ authorization: `Bearer ${await tokenFor(role)}` });
  const operator = async () => ({ authorization: `Bearer ${await operatorToken()}` });

  it('decodes an encrypted payload for an operator, with CORS headers for the UI', async () => {
    const encoded = await codec.encode([defaultPayloadConverter.toPayload(secretValue)]);
    const { response, body } = await post('decode', { payloads: encoded.map(toJson) }, await operator());

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    const payloads = (body.payloads as Array<{ metadata: Record<string, string>; data: string }>).map(
      fromJson,
    );
    expect(payloads.map((payload) => defaultPayloadConverter.fromPayload(payload))).toEqual([secretValue]);
  });

  it('encodes for an operator what the codec then decodes', async () => {
    const plain = defaultPayloadConverter.toPayload(secretValue);
    const { response, body } = await post('encode', { payloads: [toJson(plain)] }, await operator());

    expect(response.status).toBe(200);
    const [encoded] = (body.payloads as Array<{ metadata: Record<string, string>; data: string }>).map(
      fromJson,
    );
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secretValue);
  });

  it('answers 401 without a token, with a bad one, and to every workspace role: owners and admins included', async () => {
    const encoded = await codec.encode([defaultPayloadConverter.toPayload(secretValue)]);
    const body = { payloads: encoded.map(toJson) };
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-a-jwt' },
      { authorization: 'Basic YTpi' },
      ...(await Promise.all(roles.map(bearer))),
    ];
    for (const headers of refused) {
      for (const route of ['decode', 'encode']) {
        const { response, body: answer } = await post(route, body, headers);
        expect(response.status).toBe(401);
        expect(answer).toMatchObject({ error: { code: 'unauthorized' } });
        expect(JSON.stringify(answer)).not.toContain(secretValue.accessToken);
        // The UI must be able to read the refusal, not see a CORS error.
        expect(response.headers.get('access-control-allow-origin')).toBe(uiOrigin);
      }
    }
  });

  it('refuses an unauthenticated 4 MB body before reading it', async () => {
    // Headers promise 4 MB; only the first 64 KB are sent, and no more until an answer comes. The old
    // server parsed (so waited for) the whole body before checking the token: it never answered.
    const declared = 4 * 1024 * 1024 - 1024;
    const { authorization: owner } = await bearer('owner');
    const url = new URL(`${server.url}/codec/decode`);
    const answer = await new Promise<{ status: number; connection?: string; body: string }>(
      (resolve, reject) => {
        const deadline = setTimeout(() => {
          req.destroy();
          reject(new Error('no answer within 10 s while the body was still unsent'));
        }, 10_000);
        const req = request(
          url,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'content-length': String(declared),
              // A workspace owner's token: valid, and no operator token.
              authorization: owner,
            },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => {
              clearTimeout(deadline);
              resolve({ status: res.statusCode!, connection: res.headers.connection, body: text });
              req.destroy();
            });
          },
        );
        req.on('error', (error) => {
          clearTimeout(deadline);
          reject(error);
        });
        req.write('{"payloads":[{"data":"' + 'A'.repeat(64 * 1024));
      },
    );
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'unauthorized' } });
    // The rest of the body is not drained either: the connection is closed.
    expect(answer.connection).toBe('close');
  });

  it('answers an empty list to a body without payloads, as the CLI sends for an event that has none', async () => {
    const { response, body } = await post('decode', {}, await operator());
    expect(response.status).toBe(200);
    expect(body).toEqual({ payloads: [] });
  });

  it('answers 400 invalid_request to a body that is not codec JSON, or a payload it cannot decrypt', async () => {
    const headers = await operator();
    for (const bad of [[], { payloads: 'x' }, { payloads: [{ data: 'not base64!' }] }]) {
      const { response, body } = await post('decode', bad, headers);
      expect(response.status).toBe(400);
      expect(body).toMatchObject({ error: { code: 'invalid_request' } });
    }
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(secretValue)]);
    const tampered = toJson(encoded!);
    tampered.data = Buffer.from(randomBytes(60)).toString('base64');
    const { response, body } = await post('decode', { payloads: [tampered] }, headers);
    expect(response.status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'invalid_request', message: /failed authentication/ } });
  });

  it('answers the preflight without a token for an allowed origin, and without CORS headers for others', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });

    const allowed = await preflight(uiOrigin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toBe(
      'authorization, content-type, x-namespace',
    );
    expect(allowed.headers.get('vary')).toContain('Origin');

    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
