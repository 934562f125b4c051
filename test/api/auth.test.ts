import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createTokenVerifier, loadJwtSecret, mintToken } from '../../api/auth.js';

async function authConfig() {
  const dir = await mkdtemp(path.join(tmpdir(), 'auth-'));
  return { jwtSecretFile: path.join(dir, 'jwt-secret') };
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
    await expect(verify(other)).rejects.toThrow('the bearer token is invalid or expired');

    const secret = await loadJwtSecret(auth);
    const expired = await new SignJWT({ workspace: 'w', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret);
    await expect(verify(expired)).rejects.toThrow('the bearer token is invalid or expired');

    const superuser = await new SignJWT({ workspace: 'w', role: 'root' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setExpirationTime('1h')
      .sign(secret);
    await expect(verify(superuser)).rejects.toThrow('the bearer token is invalid or expired');
  });

  it('trusts a verified token again only until it expires', async () => {
    const auth = await authConfig();
    const verify = await createTokenVerifier(auth);
    const secret = await loadJwtSecret(auth);
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const shortLived = await new SignJWT({ workspace: 'w', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setExpirationTime(expiresAt)
      .sign(secret);
    await expect(verify(shortLived)).resolves.toMatchObject({ sub: 'a', role: 'admin' });
    await expect(verify(shortLived)).resolves.toMatchObject({ sub: 'a' });
    // A token changed in one character is checked again, and refused.
    const tampered = shortLived.slice(0, -2) + (shortLived.endsWith('AA') ? 'BB' : 'AA');
    await expect(verify(tampered)).rejects.toThrow('the bearer token is invalid or expired');
    while (Date.now() < expiresAt * 1000 + 50) await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(verify(shortLived)).rejects.toThrow('the bearer token is invalid or expired');
  });

  it('refuses to mint on_behalf_of for anyone but an agent', async () => {
    const secret = await loadJwtSecret(await authConfig());
    await expect(
      mintToken(secret, { sub: 'u_1', workspace: 'w', role: 'member', on_behalf_of: 'u_2' }),
    ).rejects.toThrow(/only agents act on behalf of a user/);
  });
});
