// The route registry: serves every declared route (api/route-definition.ts) with one way of authenticating,
// checking roles, spending the rate limit it names, and validating inputs (unknown fields rejected, one error
// shape); a method a path does not serve answers 405 with Allow. The same declarations give the OpenAPI
// document (api/openapi.ts). Bodies are parsed only on routes that take one, after the caller is
// authenticated.
import express, { type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { bearerToken, type Claims, type TokenVerifier } from './auth.js';
import { ApiError } from './errors.js';
import { addressKey, callerKey, type RateLimits } from './rate-limits.js';
import { checkJsonAnswers } from './response-check.js';
import { RouteList, successStatuses, type Route } from './route-definition.js';
import type { RouteContext, RouteDefinition } from './route-definition.js';

export { RouteList, type Route, type RouteContext, type RouteDefinition };

/** The verified caller of a request with `Authorization: Bearer <JWT>`, or 401. */
export async function authenticate(req: Request, verifyToken: TokenVerifier): Promise<Claims> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new ApiError('unauthorized', 'a bearer token is required');
  try {
    return await verifyToken(token);
  } catch {
    throw new ApiError('unauthorized', 'the bearer token is invalid or expired');
  }
}

export const idSchema = z.uuid({ message: 'must be a UUID' });

/** The values of the headers a route declares, by their declared names; absent ones left out. */
function headersOf(schema: z.ZodObject<z.ZodRawShape> | undefined, req: Request): Record<string, string> {
  if (!schema) return {};
  const values: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = req.get(name);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return (where === 'body' ? undefined : {}) as T;
  const malformed = illFormedString(value);
  if (malformed !== undefined) {
    throw new ApiError('invalid_request', `invalid ${where}`, [
      { path: [where, ...malformed].join('.'), message: 'not well-formed Unicode (a lone surrogate)' },
    ]);
  }
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new ApiError(
      'invalid_request',
      `invalid ${where}`,
      result.error.issues.map((issue) => ({
        path: [where, ...issue.path].join('.'),
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/**
 * The path of the first string (or key) in an input that is not well-formed UTF-16, if any: JSON allows a
 * lone surrogate as an escape, but neither UTF-8 nor Postgres can carry one, so no input may hold one.
 */
function illFormedString(
  value: unknown,
  path: Array<string | number> = [],
): Array<string | number> | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : path;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = illFormedString(item, [...path, index]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!key.isWellFormed()) return [...path, key.toWellFormed()];
      const found = illFormedString(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

const jsonBody = express.json({ limit: '64kb' });
// An HTML form's fields, read as they were sent (URLSearchParams): every field kept, an empty name too, so
// that the route's schema refuses what it does not declare; a repeated field arrives as a list and is refused
// like any other wrong type. As large as a JSON body: a form valid by its schema (an API key of 4,096
// characters is up to 36 KiB percent-encoded) always fits.
const formText = express.text({ type: 'application/x-www-form-urlencoded', limit: '64kb' });
const formBody: RequestHandler = (req, res, next) => {
  formText(req, res, (error?: unknown) => {
    if (error !== undefined) return next(error);
    if (typeof req.body !== 'string') return next();
    // No prototype: a field named __proto__ is a field like any other (and refused as undeclared).
    const fields = Object.create(null) as Record<string, string | string[]>;
    for (const [name, value] of new URLSearchParams(req.body)) {
      const seen = fields[name];
      fields[name] = seen === undefined ? value : [seen, value].flat();
    }
    req.body = fields;
    next();
  });
};

/** The body parser of a route; a browser route's unreadable body answers its page, not the JSON error. */
function bodyParser(route: Route): RequestHandler {
  if (route.bodyType !== 'form') return jsonBody;
  return (req, res, next) => {
    formBody(req, res, (error?: unknown) => {
      if (error === undefined || !route.onInvalid) return next(error);
      // The rest of an unread body is not waited for: the page is the whole answer.
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      route.onInvalid(res, req, tooLarge ? 413 : 400);
    });
  };
}

/** Which of the registry's routes a router mounts, and what it runs before each of them. */
export interface RouterOptions {
  select?: (route: Route) => boolean;
  /** Runs first for each request of the route (its timing and log line, which know its pattern). */
  observe?: (route: Route) => RequestHandler;
}

export interface RegistryOptions {
  /**
   * Checks every success body against the route's declared response schema and answers a mismatch (a field
   * missing, one of the wrong type, one not declared) with a 500 naming the route. For tests: off in
   * production, where a body is answered as the handler made it.
   */
  checkResponses?: boolean;
}

export class RouteRegistry extends RouteList {
  /** Without a verifier only public routes can be served. */
  constructor(
    private readonly verifyToken?: TokenVerifier,
    private readonly limits?: RateLimits,
    private readonly options: RegistryOptions = {},
  ) {
    super();
  }

  addAll(routes: readonly Route[]): void {
    this.routes.push(...routes);
  }

  /**
   * Mounts every route on a router: authentication, role check, rate limit, the body parser, validation,
   * then the handler. Before them, for each path (those with fewer parameters first, so that
   * `/v1/connections/resolve` is not taken for `/v1/connections/:id`), a method it does not serve answers 405
   * with Allow.
   */
  router(options: RouterOptions = {}): Router {
    const router = express.Router();
    const routes = options.select ? this.routes.filter(options.select) : this.routes;
    const byPath = this.methodsByPath(routes);
    for (const [path, methods] of byPath) {
      router.all(path, methodsServed(methods));
    }
    for (const route of routes) {
      const admit: RequestHandler = async (req, res, next) => {
        try {
          if (route.roles !== 'public') {
            const caller = await this.authenticate(req);
            if (!route.roles.includes(caller.role)) {
              throw new ApiError('forbidden', `the ${caller.role} role may not do this`);
            }
            res.locals.caller = caller;
          }
          if (route.rateLimit) {
            if (!this.limits) throw new Error(`route ${route.path} is rate limited but no limits were given`);
            await this.limits.enforce(
              route.rateLimit,
              route.roles === 'public' ? addressKey(req) : callerKey(res.locals.caller as Claims),
            );
          }
          next();
        } catch (error) {
          if (route.onRefused && error instanceof ApiError) {
            res.set(error.headers ?? {});
            route.onRefused(res, { status: error.status });
            return;
          }
          next(error);
        }
      };
      const handle: RequestHandler = async (req, res, next) => {
        try {
          if (this.options.checkResponses) checkJsonAnswers(route, res);
          let ctx;
          try {
            ctx = {
              params: parse(route.params, req.params, 'path'),
              query: parse(route.query, req.query, 'query'),
              body: parse(route.body, req.body, 'body'),
              headers: parse(route.headers, headersOf(route.headers, req), 'header'),
              caller: res.locals.caller as Claims,
              req,
              res,
            };
          } catch (invalid) {
            if (!route.onInvalid || !(invalid instanceof ApiError)) throw invalid;
            route.onInvalid(res, req, 400);
            return;
          }
          const result = await route.handler(ctx);
          if (res.headersSent) return;
          const [status] = successStatuses(route);
          if (result === undefined) res.status(status!).end();
          else res.status(status!).json(result);
        } catch (error) {
          next(error);
        }
      };
      router[route.method](
        route.path,
        ...(options.observe ? [options.observe(route)] : []),
        ...(route.body ? [admit, bodyParser(route), handle] : [admit, handle]),
      );
    }
    for (const [path, methods] of byPath) {
      const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', ');
      router.all(path, (req, _res, next) => {
        next(
          new ApiError('method_not_allowed', `${req.method} is not served here`, undefined, { Allow: allow }),
        );
      });
    }
    return router;
  }

  private methodsByPath(routes: readonly Route[]): Map<string, string[]> {
    const byPath = new Map<string, string[]>();
    const params = (path: string) => path.split(':').length;
    for (const route of [...routes].sort((a, b) => params(a.path) - params(b.path))) {
      const methods = byPath.get(route.path) ?? [];
      methods.push(route.method.toUpperCase());
      byPath.set(route.path, methods);
    }
    return byPath;
  }

  private authenticate(req: Request): Promise<Claims> {
    if (!this.verifyToken) throw new Error('this registry serves public routes only');
    return authenticate(req, this.verifyToken);
  }
}

/**
 * Lets the methods a path serves through (HEAD with GET) and answers any other 405 with Allow. The first
 * such check a request meets decides: a path's check is skipped once a more specific path's has passed it.
 */
export function methodsServed(methods: readonly string[]): RequestHandler {
  const served = new Set([...methods, ...(methods.includes('GET') ? ['HEAD'] : [])]);
  const allow = [...served].join(', ');
  return (req, res, next) => {
    if (res.locals.methodChecked) return next();
    res.locals.methodChecked = true;
    if (served.has(req.method)) return next();
    next(new ApiError('method_not_allowed', `${req.method} is not served here`, undefined, { Allow: allow }));
  };
}
