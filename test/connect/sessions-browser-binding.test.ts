// The browser cookie over real HTTP: set once when absent (HttpOnly, SameSite=Lax, Path=/, a day; Secure and
// `__Host-` prefixed on https), read back when well-formed, ignored when forged into another shape.
import express from 'express';
import { BROWSER_COOKIE, browserIdOf, ensureBrowserId } from '../../connect/browser-binding.js';
import { listen } from '../support/http.js';

async function serve(publicUrl: string) {
  const app = express();
  app.get('/ensure', (req, res) => {
    res.json({ before: browserIdOf(req, publicUrl) ?? null, id: ensureBrowserId(req, res, publicUrl) });
  });
  return listen(app);
}

describe('browser binding cookie', () => {
  it('is set once on http, HttpOnly and SameSite=Lax, and read back', async () => {
    const server = await serve('http://127.0.0.1:9');
    try {
      const first = await fetch(`${server.url}/ensure`);
      const body = (await first.json()) as { before: string | null; id: string };
      expect(body.before).toBeNull();
      expect(body.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const cookie = first.headers.get('set-cookie')!;
      expect(cookie).toBe(`${BROWSER_COOKIE}=${body.id}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`);

      const again = await fetch(`${server.url}/ensure`, {
        headers: { cookie: `other=1; ${BROWSER_COOKIE}=${body.id}` },
      });
      expect(await again.json()).toEqual({ before: body.id, id: body.id });
      expect(again.headers.get('set-cookie')).toBeNull();

      // A value of another shape is no browser id: a new one is set.
      const forged = await fetch(`${server.url}/ensure`, { headers: { cookie: `${BROWSER_COOKIE}=short` } });
      const replaced = (await forged.json()) as { before: string | null; id: string };
      expect(replaced.before).toBeNull();
      expect(replaced.id).not.toBe('short');
      expect(forged.headers.get('set-cookie')).toContain(`${BROWSER_COOKIE}=${replaced.id}`);
    } finally {
      await server.close();
    }
  });

  it('is Secure and __Host- prefixed when the service is served over https', async () => {
    const server = await serve('https://connect.example');
    try {
      const first = await fetch(`${server.url}/ensure`);
      const { id } = (await first.json()) as { id: string };
      expect(first.headers.get('set-cookie')).toBe(
        `__Host-${BROWSER_COOKIE}=${id}; Max-Age=86400; Path=/; HttpOnly; Secure; SameSite=Lax`,
      );
      // The unprefixed name is not read on https (any subdomain could have set it).
      const unprefixed = await fetch(`${server.url}/ensure`, {
        headers: { cookie: `${BROWSER_COOKIE}=${id}` },
      });
      expect(((await unprefixed.json()) as { before: string | null }).before).toBeNull();
      const prefixed = await fetch(`${server.url}/ensure`, {
        headers: { cookie: `__Host-${BROWSER_COOKIE}=${id}` },
      });
      expect(await prefixed.json()).toEqual({ before: id, id });
    } finally {
      await server.close();
    }
  });
});
