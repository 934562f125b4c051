// How a console page is declared: a route of the registry (documented in /openapi.json as a text/html page)
// that answers only a signed-in person. Every console route goes through `ConsolePages.add`, which reads the
// session cookie (no session: the sign-in page, 401), checks the CSRF token of every form (missing or wrong:
// "Form expired", 403, nothing done), keeps managers' pages to owners and admins (403), spends the caller's
// rate limit where the page names one (429 page), and turns the features' refusals (ApiError, ConnectionError)
// into a page at their status: a connection of another workspace is "Not found" (404), exactly like one that
// does not exist. The handler acts with `caller`, the same claims the API's bearer token gives, through the
// same access rules and the same commands: the connection's workflow stays the only writer.
import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Claims } from '../api/auth.js';
import { apiErrorOf } from '../api/errors.js';
import { callerKey, type RateLimitName, type RateLimits } from '../api/rate-limits.js';
import { RouteList, type Route } from '../api/routes.js';
import { credential } from '../api/validation.js';
import { sendRateLimitedPage } from '../pages/layout.js';
import { sendConsoleProblem, sendSignInRequired } from './console-layout.js';

/** The people the console serves: agents never sign in. */
export type ConsoleRole = 'owner' | 'admin' | 'member';
export type ConsoleCaller = Claims & { role: ConsoleRole };

/** A signed-in person's session, as the request's cookie names it while it is valid. */
export interface ConsoleSession {
  /** The session's id as stored (a hash of the cookie's value, never the value). */
  id: string;
  caller: ConsoleCaller;
  /** The CSRF token every form of this session carries (derived from the cookie's value). */
  csrf: string;
  expiresAt: Date;
}

/** An operator's session (a cookie of its own: it opens the codec server, never a workspace). */
export interface OperatorSession {
  id: string;
  sub: string;
  csrf: string;
  expiresAt: Date;
}

/** Reads sessions from a request's cookies (console/console-auth.ts). */
export interface ConsoleAuth {
  session(req: Request): Promise<ConsoleSession | undefined>;
  operator(req: Request): Promise<OperatorSession | undefined>;
}

export interface ConsolePageContext<P, Q, B> {
  params: P;
  query: Q;
  /** The form's fields without `csrf` (already checked). */
  body: B;
  session: ConsoleSession;
  caller: ConsoleCaller;
  /** The operator session of the same browser, when it has one (Temporal UI links). */
  operator: OperatorSession | undefined;
  req: Request;
  res: Response;
}

export interface ConsolePageDefinition<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodObject<z.ZodRawShape>,
> {
  method: 'get' | 'post';
  /** Express path syntax, under /console. */
  path: string;
  summary: string;
  params?: P;
  query?: Q;
  /** A form's fields (urlencoded); `csrf` is added and checked here. Only with `post`. */
  body?: B;
  /** Who may use the page: anyone signed in (default), or owners and admins only. */
  who?: 'everyone' | 'managers';
  /** Spent per signed-in caller, as the API route doing the same spends it. */
  rateLimit?: RateLimitName;
  /** Statuses the handler's own pages may have, besides 200 (GET) and `checkedStatuses`. */
  pages?: number[];
  /** The handler answers with a redirect (303 after a form: the page it leads to shows the outcome). */
  redirect?: 303;
  handler: (ctx: ConsolePageContext<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<void> | void;
}

/** The statuses of the pages every console route may answer: its checks', and the features' refusals. */
const checkedStatuses = [400, 401, 403, 404, 409, 413, 422, 429, 502, 503];

const csrfField = { csrf: credential(100).optional() };

function sameToken(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The console's route declarations: each one checked as the module's top says, then mounted by the registry. */
export class ConsolePages {
  private readonly list = new RouteList();

  constructor(private readonly deps: { auth: ConsoleAuth; limits: RateLimits }) {}

  get routes(): Route[] {
    return this.list.routes;
  }

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodObject<z.ZodRawShape>>(
    page: ConsolePageDefinition<P, Q, B>,
  ): void {
    const { auth, limits } = this.deps;
    const body = page.body
      ? z.strictObject({ ...page.body.shape, ...csrfField })
      : page.method === 'post'
        ? z.strictObject(csrfField)
        : undefined;
    const own = [page.method === 'get' ? 200 : undefined, ...(page.pages ?? [])];
    this.list.add({
      method: page.method,
      path: page.path,
      summary: page.summary,
      tags: ['console'],
      // The registry's bearer check does not apply: the session cookie is checked below.
      roles: 'public',
      params: page.params,
      query: page.query,
      body,
      bodyType: body ? 'form' : undefined,
      pages: [...new Set([...own, ...checkedStatuses].filter((s): s is number => s !== undefined))],
      redirect: page.redirect,
      onInvalid: (res, _req, status) => sendConsoleProblem(res, status === 413 ? 413 : 400, 'invalid'),
      async handler({ params, query, body: fields, req, res }) {
        const session = await auth.session(req);
        if (!session) return sendSignInRequired(res);
        const { csrf, ...rest } = (fields ?? {}) as { csrf?: string };
        if (page.method === 'post' && !sameToken(session.csrf, csrf)) {
          return sendConsoleProblem(res, 403, 'form_expired', session);
        }
        const { caller } = session;
        if (page.who === 'managers' && caller.role !== 'owner' && caller.role !== 'admin') {
          return sendConsoleProblem(res, 403, 'forbidden', session);
        }
        try {
          if (page.rateLimit) await limits.enforce(page.rateLimit, callerKey(caller));
          await page.handler({
            params,
            query,
            body: rest as z.infer<B>,
            session,
            caller,
            operator: await auth.operator(req),
            req,
            res,
          });
        } catch (error) {
          const refusal = apiErrorOf(error);
          if (!refusal || res.headersSent) throw error;
          if (refusal.status === 429) {
            res.set(refusal.headers ?? {});
            return sendRateLimitedPage(res, { status: 429 });
          }
          if (refusal.status === 500) throw error;
          sendConsoleProblem(res, refusal.status, refusal.code, session, refusal.message);
        }
      },
    });
  }
}
