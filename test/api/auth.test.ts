// Workspace bearer tokens: what verifies (the claims, from a secret created once with mode 0600, or a JWKS
// with its issuer and audience), and what does not (another secret, no expiry, a lifetime past the maximum,
// another application's audience or issuer, an operator token). Time is the verifier's injected clock.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createTokenVerifier, loadJwtSecret, mintToken, VERIFIED_TOKEN_TTL_MS } from '../../api/auth.js';
import { mintOperatorToken } from '../../api/operator-auth.js';
import { ConfigError, loadConfig } from '../../config/config.js';

async function authConfig() {
  const dir = await mkdtemp(path.join(tmpdir(), 'auth-'));
  return { jwtSecretFile: path.join(dir, 'jwt-secret') };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const invalid = 'the bearer token is invalid or expired';

/** A token with exactly the claims given (no defaults), signed HS256. */
function signed(secret: Uint8Array, claims: JWTPayload) {
  return new SignJWT({ workspace: 'w', role: 'admin', sub: 'a', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(secret);
}

describe('bearer tokens', () => {
  it('mints tokens that verify with the claims given, from a secret created once with mode 0600', async () => {
    const auth = await authConfig();
    const token = await mintToken(await loadJwtSecret(auth), {
      sub: 'agent-7',
      workspace: 'ws_1',
      role: 'agent',
      on_behalf_of: 'u_1',
    });
    expect((await stat(auth.jwtSecretFile)).mode & 0o777).toBe(0o600);
    const verify = await createTokenVerifier(auth);
    await expect(verify(token)).resolves.toMatchObject({
      sub: 'agent-7',
      workspace: 'ws_1',
      role: 'agent',
      on_behalf_of: 'u_1',
    });
  });

  it('rejects a token signed with another secret, an expired one and one with an unknown role', async () => {
    const auth = await authConfig();
    const verify = await createTokenVerifier(auth);
    const other = await mintToken(await loadJwtSecret(await authConfig()), {
      sub: 'a',
      workspace: 'w',
      role: 'admin',
    });
    await expect(verify(other)).rejects.toThrow(invalid);

    const secret = await loadJwtSecret(auth);
    await expect(
      verify(await signed(secret, { iat: nowSeconds() - 120, exp: nowSeconds() - 60 })),
    ).rejects.toThrow(invalid);
    await expect(verify(await signed(secret, { role: 'root', exp: nowSeconds() + 3600 }))).rejects.toThrow(
      invalid,
    );
  });

  it('refuses a token without an expiry, which used to be valid for ever', async () => {
    const auth = await authConfig();
    const verify = await createTokenVerifier(auth);
    const secret = await loadJwtSecret(auth);
    await expect(verify(await signed(secret, { iat: nowSeconds() }))).rejects.toThrow(invalid);
    await expect(verify(await signed(secret, {}))).rejects.toThrow(invalid);
  });

  it('refuses a token valid for longer than AUTH_JWT_MAX_LIFETIME_SECONDS, with or without iat', async () => {
    const auth = { ...(await authConfig()), maxLifetimeSeconds: 3600 };
    const verify = await createTokenVerifier(auth);
    const secret = await loadJwtSecret(auth);
    const now = nowSeconds();
    await expect(verify(await signed(secret, { iat: now, exp: now + 3600 }))).resolves.toMatchObject({
      sub: 'a',
    });
    await expect(verify(await signed(secret, { iat: now, exp: now + 3601 }))).rejects.toThrow(invalid);
    // Without iat the lifetime counts from now; an iat in the future buys no extra time.
    await expect(verify(await signed(secret, { exp: now + 3500 }))).resolves.toMatchObject({ sub: 'a' });
    await expect(verify(await signed(secret, { exp: now + 7200 }))).rejects.toThrow(invalid);
    await expect(verify(await signed(secret, { iat: now + 7000, exp: now + 7200 }))).rejects.toThrow(invalid);
    // An old token whose lifetime was too long stays refused even once little of it is left.
    await expect(verify(await signed(secret, { iat: now - 86_000, exp: now + 60 }))).rejects.toThrow(invalid);

    // Minting refuses what verification would refuse.
    await expect(
      mintToken(
        secret,
        { sub: 'a', workspace: 'w', role: 'admin' },
        { expiresIn: '2h', maxLifetimeSeconds: 3600 },
      ),
    ).rejects.toThrow(/longer than the maximum of 3600 s/);
    // The default maximum is 24 hours.
    await expect(
      mintToken(secret, { sub: 'a', workspace: 'w', role: 'admin' }, { expiresIn: '25h' }),
    ).rejects.toThrow(/longer than the maximum of 86400 s/);
  });

  it('trusts a verified token again only until it expires', async () => {
    const auth = await authConfig();
    let clock = Date.now();
    const verify = await createTokenVerifier(auth, { now: () => clock });
    const secret = await loadJwtSecret(auth);
    const expiresAt = Math.floor(clock / 1000) + 30;
    const shortLived = await signed(secret, { iat: Math.floor(clock / 1000), exp: expiresAt });
    await expect(verify(shortLived)).resolves.toMatchObject({ sub: 'a', role: 'admin' });
    // A token changed in one character is checked again, and refused.
    const tampered = shortLived.slice(0, -2) + (shortLived.endsWith('AA') ? 'BB' : 'AA');
    await expect(verify(tampered)).rejects.toThrow(invalid);
    clock = expiresAt * 1000 - 1;
    await expect(verify(shortLived)).resolves.toMatchObject({ sub: 'a' });
    clock = expiresAt * 1000;
    await expect(verify(shortLived)).rejects.toThrow(invalid);
  });

  it("judges time by the verifier's clock: not-before and expiry alike", async () => {
    const auth = await authConfig();
    let clock = Date.now();
    const verify = await createTokenVerifier({ ...auth, maxLifetimeSeconds: 3600 }, { now: () => clock });
    const secret = await loadJwtSecret(auth);
    const issuedAt = Math.floor(clock / 1000);
    const later = await signed(secret, { iat: issuedAt, nbf: issuedAt + 600, exp: issuedAt + 3600 });
    await expect(verify(later)).rejects.toThrow(invalid);
    clock += 601_000;
    await expect(verify(later)).resolves.toMatchObject({ sub: 'a' });
    // Past the verified-token cache's time the token is checked again, against the same clock.
    clock += VERIFIED_TOKEN_TTL_MS + 3_000_000;
    await expect(verify(later)).rejects.toThrow(invalid);
  });

  it('never takes an operator token for a workspace one, even one signed with the same secret', async () => {
    const auth = await authConfig();
    const verify = await createTokenVerifier(auth);
    const secret = await loadJwtSecret(auth);
    await expect(verify(await mintOperatorToken(secret, 'ops'))).rejects.toThrow(invalid);
    // Nor one that also carries workspace claims.
    const hybrid = await signed(secret, {
      aud: 'connections-operator',
      iat: nowSeconds(),
      exp: nowSeconds() + 60,
    });
    await expect(verify(hybrid)).rejects.toThrow(invalid);
  });

  it('refuses to mint on_behalf_of for anyone but an agent', async () => {
    const secret = await loadJwtSecret(await authConfig());
    await expect(
      mintToken(secret, { sub: 'u_1', workspace: 'w', role: 'member', on_behalf_of: 'u_2' }),
    ).rejects.toThrow(/only agents act on behalf of a user/);
  });
});

describe('bearer tokens from a JWKS', () => {
  const issuer = 'https://idp.example';
  const audience = 'connections';
  let server: Server;
  let jwksUrl: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));

  const issued = (claims: JWTPayload) =>
    new SignJWT({
      workspace: 'w',
      role: 'member',
      sub: 'u',
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);

  it('accepts only tokens for this service: its issuer and its audience', async () => {
    const verify = await createTokenVerifier({ jwtSecretFile: '/nonexistent', jwksUrl, issuer, audience });
    await expect(verify(await issued({ iss: issuer, aud: audience }))).resolves.toMatchObject({ sub: 'u' });
    await expect(verify(await issued({ iss: issuer, aud: 'another-app' }))).rejects.toThrow(invalid);
    await expect(verify(await issued({ iss: 'https://other-idp.example', aud: audience }))).rejects.toThrow(
      invalid,
    );
    await expect(verify(await issued({ iss: issuer }))).rejects.toThrow(invalid);
    await expect(verify(await issued({ aud: audience }))).rejects.toThrow(invalid);
    await expect(verify(await issued({ iss: issuer, aud: audience, exp: undefined }))).rejects.toThrow(
      invalid,
    );
  });

  it('will not build a JWKS verifier without an issuer and an audience', async () => {
    await expect(createTokenVerifier({ jwtSecretFile: '/nonexistent', jwksUrl, issuer })).rejects.toThrow(
      /issuer and an audience/,
    );
  });

  it('is a configuration error naming AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE when they are missing', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl })).toThrow(/AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/);
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_ISSUER: issuer })).toThrow(
      /AUTH_JWT_AUDIENCE/,
    );
    expect(() => loadConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_AUDIENCE: audience })).toThrow(
      /AUTH_JWT_ISSUER/,
    );
    expect(
      loadConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_JWT_ISSUER: issuer, AUTH_JWT_AUDIENCE: audience }).auth,
    ).toMatchObject({ jwksUrl, issuer, audience, maxLifetimeSeconds: 86_400 });
  });
});
