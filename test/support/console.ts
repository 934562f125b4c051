// The console over HTTP for tests without a browser: sign-in links minted with the harness's own secrets,
// and a signed-in client that went through the sign-in pages as a browser does (its cookies kept, no redirect
// followed), posting forms with its session's CSRF token unless told otherwise. Every link's token and
// session cookie is registered with the harness as a secret (checked against the logs at stop).
import { consoleCsrf } from '../../console/console-auth.js';
import type { ConsoleRole } from '../../console/console-page.js';
import { mintOperatorSignInLink, mintSignInLink } from '../../console/sign-in-links.js';
import type { ApiHarness } from './api.js';

export interface ConsoleClaims {
  sub: string;
  role: ConsoleRole;
  /** Defaults to the harness's workspace. */
  workspace?: string;
}

export interface ConsolePage {
  status: number;
  html: string;
  headers: Headers;
}

export interface ConsoleClient {
  /** The session cookie (`name=value`), as a Cookie header sends it. */
  cookie: string;
  csrf: string;
  get(path: string): Promise<ConsolePage>;
  post(
    path: string,
    fields: Record<string, string>,
    options?: { csrf?: string | null },
  ): Promise<ConsolePage & { location: string | null }>;
}

function registered(api: ApiHarness, url: string): string {
  api.addSecret(new URL(url).searchParams.get('token')!);
  return url;
}

/** A one-time console sign-in link on the harness's address (valid 15 minutes). */
export async function consoleSignInUrl(api: ApiHarness, claims: ConsoleClaims): Promise<string> {
  const caller = { workspace: api.workspaceId, ...claims };
  return registered(api, await mintSignInLink(api.url, api.secrets.jwt, caller));
}

/** A one-time operator sign-in link on the harness's address. */
export async function operatorSignInUrl(api: ApiHarness, sub = 'operator-1'): Promise<string> {
  return registered(api, await mintOperatorSignInLink(api.url, api.secrets.operator, sub));
}

/** Cookies as a browser keeps them: set by answers, sent with every request. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  header(): Record<string, string> {
    return this.cookies.size
      ? { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
      : {};
  }

  keep(response: Response): void {
    for (const cookie of response.headers.getSetCookie()) {
      const [, name = '', value = ''] = /^([^=]+)=([^;]*)/.exec(cookie) ?? [];
      if (value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** The sign-in form's hidden fields, as a browser would post them. */
export function signInFields(html: string): { token: string; csrf: string } {
  const token = /name="token" value="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token || !csrf) throw new Error('the page has no sign-in form');
  return { token: token.replaceAll('&amp;', '&'), csrf };
}

/** Opens a link and presses "Sign in" in one browser (the jar); answers the POST's response. */
export async function signInWith(jar: CookieJar, url: string): Promise<Response> {
  const page = await fetch(url, { redirect: 'manual', headers: jar.header() });
  jar.keep(page);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`the sign-in page answered ${page.status}`);
  const posted = await fetch(new URL('/console/sign-in', url), {
    method: 'POST',
    redirect: 'manual',
    headers: { ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(signInFields(html)),
  });
  jar.keep(posted);
  await posted.text();
  if (posted.status !== 303) throw new Error(`signing in answered ${posted.status}`);
  return posted;
}

/** A client of the console signed in as `claims` through the sign-in pages. */
export async function signedInConsole(api: ApiHarness, claims: ConsoleClaims): Promise<ConsoleClient> {
  const jar = new CookieJar();
  await signInWith(jar, await consoleSignInUrl(api, claims));
  const value = jar.cookies.get('connections_console');
  if (!value) throw new Error('signing in set no session cookie');
  api.addSecret(value);
  const request = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(new URL(path, api.url), {
      ...init,
      redirect: 'manual',
      headers: { ...jar.header(), ...(init.headers as Record<string, string>) },
    });
    jar.keep(response);
    return { status: response.status, html: await response.text(), headers: response.headers };
  };
  // As every console form of the session carries it (the pages' Sign out form shows the same value).
  const csrf = consoleCsrf(value);
  return {
    cookie: `connections_console=${value}`,
    csrf,
    get: (path) => request(path),
    async post(path, fields, options = {}) {
      const given = options.csrf === undefined ? csrf : options.csrf;
      const page = await request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...fields, ...(given === null ? {} : { csrf: given }) }),
      });
      return { ...page, location: page.headers.get('location') };
    },
  };
}

/** The client, with every page it gets or posts to kept in `pages` (for a secret scan at the end). */
export function recordedClient(client: ConsoleClient, pages: string[]): ConsoleClient {
  return {
    ...client,
    async get(path) {
      const page = await client.get(path);
      pages.push(page.html);
      return page;
    },
    async post(path, fields, options) {
      const page = await client.post(path, fields, options);
      pages.push(page.html);
      return page;
    },
  };
}
