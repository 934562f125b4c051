// The operator credential: minted by `npm run token -- --operator` from a secret of its own (created once,
// mode 0600), verified only as an operator token; no workspace token passes for one, whatever its role or
// secret, and no malformed, unending or over-long operator token passes either.
import { execFile } from 'node:child_process';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT, type JWTPayload } from 'jose';
import express from 'express';
import { z } from 'zod';
import { createTokenVerifier, loadJwtSecret, mintToken, roles } from '../../api/auth.js';
import { errorHandler } from '../../api/errors.js';
import { RouteRegistry } from '../../api/routes.js';
import { createLogger } from '../../logging/logger.js';
import { listen } from '../support/http.js';
import { createOperatorVerifier, loadOperatorSecret, mintOperatorToken } from '../../api/operator-auth.js';
import { loadConfig } from '../../config/config.js';
import { projectRoot } from '../../platform/process.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function dataDir() {
  return mkdtemp(path.join(tmpdir(), 'operator-auth-'));
}

function signed(
  secret: Uint8Array,
  claims: JWTPayload,
  header: Record<string, string> = { typ: 'operator+jwt' },
) {
  return new SignJWT({
    sub: 'ops',
    role: 'operator',
    aud: 'connections-operator',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256', ...header })
    .sign(secret);
}

describe('operator tokens', () => {
  it('mints and verifies, from a secret file of its own created with mode 0600', async () => {
    const config = loadConfig({ DATA_DIR: await dataDir() });
    const secret = await loadOperatorSecret(config.operator);
    expect((await stat(config.operator.secretFile)).mode & 0o777).toBe(0o600);
    expect(Buffer.from(secret).equals(Buffer.from(await loadJwtSecret(config.auth)))).toBe(false);
    const verify = createOperatorVerifier(secret);
    await expect(verify(await mintOperatorToken(secret, 'alice'))).resolves.toEqual({
      sub: 'alice',
      role: 'operator',
    });
  });

  it('refuses every workspace token: any role, signed with the workspace secret or the operator secret', async () => {
    const config = loadConfig({ DATA_DIR: await dataDir() });
    const operatorSecret = await loadOperatorSecret(config.operator);
    const workspaceSecret = await loadJwtSecret(config.auth);
    const verify = createOperatorVerifier(operatorSecret);
    for (const role of roles) {
      for (const secret of [workspaceSecret, operatorSecret]) {
        const token = await mintToken(secret, { sub: 'u', workspace: 'w', role });
        await expect(verify(token)).rejects.toThrow();
      }
    }
    // An operator token signed with the workspace secret is no operator token either.
    await expect(verify(await mintOperatorToken(workspaceSecret, 'ops'))).rejects.toThrow();
  });

  it('refuses a token without expiry, past the maximum lifetime, expired, or not shaped as an operator token', async () => {
    const secret = await loadOperatorSecret(loadConfig({ DATA_DIR: await dataDir() }).operator);
    let clock = Date.now();
    const verify = createOperatorVerifier(secret, { maxLifetimeSeconds: 3600, now: () => clock });
    await expect(verify(await signed(secret, {}))).resolves.toMatchObject({ sub: 'ops' });
    const refused: Array<[JWTPayload, Record<string, string>?]> = [
      [{ exp: undefined }],
      [{ exp: nowSeconds() + 7200 }],
      [{ aud: 'connections' }],
      [{ aud: undefined }],
      [{ role: 'admin' }],
      [{ sub: undefined }],
      [{}, {}],
      [{}, { typ: 'JWT' }],
    ];
    for (const [claims, header] of refused)
      await expect(verify(await signed(secret, claims, header))).rejects.toThrow();
    const token = await signed(secret, {});
    clock += 601_000;
    await expect(verify(token)).rejects.toThrow(/exp/);
    await expect(
      mintOperatorToken(secret, 'ops', { expiresIn: '2h', maxLifetimeSeconds: 3600 }),
    ).rejects.toThrow(/longer than the maximum/);
  });
});

describe('an operator token on the workspace API', () => {
  it('is refused with 401 by a /v1 route that every workspace role may call', async () => {
    const config = loadConfig({ DATA_DIR: await dataDir() });
    const registry = new RouteRegistry(await createTokenVerifier(config.auth), undefined, {
      checkResponses: true,
    });
    registry.add({
      method: 'get',
      path: '/v1/probe',
      summary: 'probe',
      roles,
      response: z.object({ ok: z.boolean() }),
      handler: () => ({ ok: true }),
    });
    const app = express();
    app.use(registry.router());
    app.use(errorHandler(createLogger('silent')));
    const server = await listen(app);
    try {
      const call = async (token: string) => {
        const response = await fetch(`${server.url}/v1/probe`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: response.status, body: await response.json() };
      };
      const operator = await mintOperatorToken(await loadOperatorSecret(config.operator), 'ops');
      await expect(call(operator)).resolves.toEqual({
        status: 401,
        body: { error: { code: 'unauthorized', message: 'the bearer token is invalid or expired' } },
      });
      const member = await mintToken(await loadJwtSecret(config.auth), {
        sub: 'u',
        workspace: 'w',
        role: 'member',
      });
      await expect(call(member)).resolves.toEqual({ status: 200, body: { ok: true } });
    } finally {
      await server.close();
    }
  });
});

describe('npm run token', () => {
  const run = (args: string[], env: Record<string, string>) =>
    promisify(execFile)('npm', ['run', '-s', 'token', '--', ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });

  it('mints an operator token with --operator that the operator verifier of the same data folder accepts', async () => {
    const DATA_DIR = await dataDir();
    const { stdout } = await run(['--operator', '--sub', 'alice', '--expires', '30m'], { DATA_DIR });
    const token = stdout.trim();
    const verify = createOperatorVerifier(await loadOperatorSecret(loadConfig({ DATA_DIR }).operator));
    await expect(verify(token)).resolves.toEqual({ sub: 'alice', role: 'operator' });
  });

  it('refuses to mint beyond AUTH_JWT_MAX_LIFETIME_SECONDS, and an operator token with a workspace role', async () => {
    const DATA_DIR = await dataDir();
    const failure = (args: string[], env: Record<string, string> = {}) =>
      run(args, { DATA_DIR, ...env }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
    const tooLong = await failure(['--role', 'owner', '--expires', '48h']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('longer than the maximum of 86400 s');
    const tooLongOperator = await failure(['--operator', '--expires', '2h'], {
      AUTH_JWT_MAX_LIFETIME_SECONDS: '3600',
    });
    expect(tooLongOperator.code).toBe(2);
    expect(tooLongOperator.stderr).toContain('longer than the maximum of 3600 s');
    const mixed = await failure(['--operator', '--role', 'admin']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('an operator token belongs to no workspace');
  });
});
