// The console's sessions as the browser holds them: a cookie of 32 random bytes (base64url), HttpOnly,
// SameSite=Strict, Path=/, Secure and `__Host-` prefixed on https, living CONSOLE_SESSION_TTL_SECONDS; one
// cookie for a workspace session (`connections_console`) and another for an operator's
// (`connections_operator`), so that neither can pass for the other. Only the cookie's SHA-256 is stored
// (console-session-store.ts); the session's CSRF token is derived from the cookie's value, so it needs no
// storage and means nothing without the cookie. Cookies are parsed as connect/browser-binding.ts does.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { parse, serialize } from 'cookie';
import type { Request, Response } from 'express';
import type { Db } from '../db/database.js';
import type { ConsoleAuth, ConsoleCaller, ConsoleSession, OperatorSession } from './console-page.js';
import { consoleSessionStore, type ConsoleSessionKind } from './console-session-store.js';

const COOKIE_NAMES: Record<ConsoleSessionKind, string> = {
  workspace: 'connections_console',
  operator: 'connections_operator',
};
const cookieValuePattern = /^[A-Za-z0-9_-]{43}$/;

function secure(publicUrl: string): boolean {
  return new URL(publicUrl).protocol === 'https:';
}

/** A session cookie's name for this service: `__Host-` prefixed on https (the prefix requires Secure). */
export function consoleCookieName(kind: ConsoleSessionKind, publicUrl: string): string {
  return secure(publicUrl) ? `__Host-${COOKIE_NAMES[kind]}` : COOKIE_NAMES[kind];
}

/** The only form in which a session cookie's value is stored. */
export function hashSessionCookie(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The CSRF token of a session: HMAC-SHA256 keyed by the cookie's value, of 'console-csrf'. */
export function consoleCsrf(cookieValue: string): string {
  return createHmac('sha256', cookieValue).update('console-csrf').digest('base64url');
}

function cookieOf(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  try {
    const value = parse(header)[name];
    return value !== undefined && cookieValuePattern.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Who a new session is for. */
export type SessionGrant = { kind: 'workspace'; caller: ConsoleCaller } | { kind: 'operator'; sub: string };

export interface ConsoleSessions extends ConsoleAuth {
  /** Stores a new session and sets its cookie on `res`. */
  open(res: Response, grant: SessionGrant, ttlMs: number): Promise<void>;
  /** Ends the session of this kind the request's cookie names (if any) and clears the cookie. */
  close(req: Request, res: Response, kind: ConsoleSessionKind): Promise<void>;
}

export function createConsoleAuth(deps: { db: Db; publicUrl: string }): ConsoleSessions {
  const { db, publicUrl } = deps;
  const cookieOptions = { httpOnly: true, sameSite: 'strict', path: '/', secure: secure(publicUrl) } as const;

  async function stored(req: Request, kind: ConsoleSessionKind) {
    const value = cookieOf(req, consoleCookieName(kind, publicUrl));
    if (!value) return undefined;
    const session = await consoleSessionStore.find(db, hashSessionCookie(value), kind);
    return session && { session, csrf: consoleCsrf(value) };
  }

  return {
    async session(req): Promise<ConsoleSession | undefined> {
      const found = await stored(req, 'workspace');
      if (!found) return undefined;
      const { session, csrf } = found;
      return {
        id: session.idHash,
        caller: {
          sub: session.sub,
          workspace: session.workspaceId!,
          role: session.role as ConsoleCaller['role'],
        },
        csrf,
        expiresAt: session.expiresAt,
      };
    },

    async operator(req): Promise<OperatorSession | undefined> {
      const found = await stored(req, 'operator');
      if (!found) return undefined;
      const { session, csrf } = found;
      return { id: session.idHash, sub: session.sub, csrf, expiresAt: session.expiresAt };
    },

    async open(res, grant, ttlMs) {
      const value = randomBytes(32).toString('base64url');
      await consoleSessionStore.insert(db, {
        idHash: hashSessionCookie(value),
        kind: grant.kind,
        workspaceId: grant.kind === 'workspace' ? grant.caller.workspace : null,
        sub: grant.kind === 'workspace' ? grant.caller.sub : grant.sub,
        role: grant.kind === 'workspace' ? grant.caller.role : 'operator',
        expiresAt: new Date(Date.now() + ttlMs),
      });
      res.append(
        'Set-Cookie',
        serialize(consoleCookieName(grant.kind, publicUrl), value, {
          ...cookieOptions,
          maxAge: Math.floor(ttlMs / 1000),
        }),
      );
    },

    async close(req, res, kind) {
      const name = consoleCookieName(kind, publicUrl);
      const value = cookieOf(req, name);
      if (value) await consoleSessionStore.delete(db, hashSessionCookie(value));
      res.append('Set-Cookie', serialize(name, '', { ...cookieOptions, maxAge: 0 }));
    },
  };
}
