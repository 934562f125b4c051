// One way to declare a route: its method, path, who may call it, the zod schemas of its inputs and answer,
// and the rate limit it spends. The same declaration validates every request (unknown fields rejected, one
// error shape) and produces the OpenAPI document at /openapi.json, answers included: the statuses the
// registry itself can answer (401 and 403 by role, 400 for inputs, 413 for bodies, 429 for limits, 405 with
// Allow for other methods) are documented from the declaration, so the document and the service cannot drift
// apart. Bodies are parsed only on routes that take one, after the caller is authenticated.
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { roles as allRoles, bearerToken, type Claims, type Role, type TokenVerifier } from './auth.js';
import { ApiError, codesOf } from './errors.js';
import { addressKey, callerKey, type RateLimitName, type RateLimits } from './rate-limits.js';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The verified caller; absent only on public routes. */
  caller: Claims;
  req: Request;
  res: Response;
  /** The declared request headers, validated. */
  headers: Record<string, unknown>;
}

export interface RouteDefinition<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
> {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** Express path syntax, e.g. `/v1/connections/:id`. */
  path: string;
  summary: string;
  tags?: string[];
  /** Who may call it; `public` routes take no bearer token. */
  roles: readonly Role[] | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads, by their canonical names (validated and documented like the rest). */
  headers?: z.ZodObject<z.ZodRawShape>;
  /** The success answer's schema (JSON unless `contentType` says otherwise). */
  response?: R;
  /**
   * The success status (default 200, or 204 without a response); with several, the first is what a returned
   * value answers and the handler sets the others itself, all with the same body.
   */
  status?: number | readonly number[];
  /** The success body's media type when it is not JSON; the handler writes it. */
  contentType?: string;
  /** Error statuses the handler itself may answer (those of the registry are added: see the module's top). */
  errors?: number[];
  /** Statuses at which the handler sends a text/html page of its own. */
  pages?: number[];
  /** A redirect the handler may answer, with Location. */
  redirect?: number;
  /** The rate limit every request spends (api/rate-limits.ts): by caller, or by address on public routes. */
  rateLimit?: RateLimitName;
  /** How a browser-facing route answers invalid inputs instead of the JSON error: its 400 page. */
  onInvalid?: (res: Response) => void;
  handler: (
    ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>,
  ) => Promise<z.infer<R> | void> | z.infer<R> | void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRoute = RouteDefinition<any, any, any, any>;
/** A declared route, whatever its schemas. */
export type Route = AnyRoute;

/** A feature's routes, each declaration type-checked against its own schemas; the app's registry mounts them. */
export class RouteList {
  readonly routes: Route[] = [];

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
    route: RouteDefinition<P, Q, B, R>,
  ): void {
    this.routes.push(route);
  }
}

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

/** The registry's own answers for a route, besides what its handler declares. */
function registryStatuses(route: AnyRoute): number[] {
  const statuses = new Set<number>(route.errors ?? []);
  if (route.roles !== 'public') {
    statuses.add(401);
    // A route open to every role answers 403 only when its handler says so (in `errors`).
    if (allRoles.some((role) => !(route.roles as readonly Role[]).includes(role))) statuses.add(403);
  }
  if (route.params || route.query || route.body || route.headers) statuses.add(400);
  if (route.body) statuses.add(413);
  if (route.rateLimit) statuses.add(429);
  // Anything behind a bearer token reads Postgres or asks Temporal: an outage, or the moment after one,
  // answers 503 (api/errors.ts), never a 500.
  if (route.roles !== 'public') statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

const successStatuses = (route: AnyRoute): number[] =>
  route.status === undefined ? [route.response ? 200 : 204] : [route.status].flat();

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
  router(): Router {
    const router = express.Router();
    for (const [path, methods] of this.methodsByPath()) {
      router.all(path, methodsServed(methods));
    }
    for (const route of this.routes) {
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
            route.onInvalid(res);
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
      router[route.method](route.path, ...(route.body ? [admit, jsonBody, handle] : [admit, handle]));
    }
    for (const [path, methods] of this.methodsByPath()) {
      const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', ');
      router.all(path, (req, _res, next) => {
        next(
          new ApiError('method_not_allowed', `${req.method} is not served here`, undefined, { Allow: allow }),
        );
      });
    }
    return router;
  }

  private methodsByPath(): Map<string, string[]> {
    const byPath = new Map<string, string[]>();
    const params = (path: string) => path.split(':').length;
    for (const route of [...this.routes].sort((a, b) => params(a.path) - params(b.path))) {
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

  /** The OpenAPI 3.1 document, generated from the same schemas that validate. */
  openApi(
    info: { title: string; version: string },
    extraPaths: Record<string, Record<string, unknown>> = {},
  ): object {
    const paths: Record<string, Record<string, unknown>> = structuredClone(extraPaths);
    for (const route of this.routes) {
      const openApiPath = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const parameters = [
        ...schemaProperties(route.params).map(([name, schema]) => ({
          name,
          in: 'path',
          required: true,
          schema,
        })),
        ...schemaProperties(route.query).map(([name, schema, required]) => ({
          name,
          in: 'query',
          required,
          schema,
        })),
        ...schemaProperties(route.headers).map(([name, schema, required]) => ({
          name,
          in: 'header',
          required,
          schema,
        })),
      ];
      const responses: Record<string, unknown> = {};
      for (const status of successStatuses(route)) {
        responses[String(status)] = route.response
          ? {
              description: 'success',
              content: {
                [route.contentType ?? 'application/json']: {
                  schema: z.toJSONSchema(route.response, { io: 'output', unrepresentable: 'any' }),
                },
              },
            }
          : { description: 'success' };
      }
      for (const status of route.pages ?? []) {
        responses[String(status)] = {
          description: status < 400 ? 'a page' : 'a page saying what was refused',
          content: { 'text/html': { schema: { type: 'string' } } },
        };
      }
      if (route.redirect) {
        responses[String(route.redirect)] = {
          description: 'redirect',
          headers: { Location: { required: true, schema: { type: 'string' } } },
        };
      }
      for (const status of registryStatuses(route)) {
        if (status === 400 && route.onInvalid) continue;
        const existing = responses[String(status)] as { content?: object } | undefined;
        responses[String(status)] = errorResponse(status, existing?.content);
      }
      (paths[openApiPath] ??= {})[route.method] = {
        summary: route.summary,
        tags: route.tags,
        ...(route.roles === 'public' ? { security: [] } : { 'x-roles': route.roles }),
        ...(route.rateLimit ? { 'x-rate-limit': route.rateLimit } : {}),
        parameters,
        ...(route.body
          ? {
              requestBody: {
                // Optional when an absent body (validated as `{}`) is valid.
                required: !route.body.safeParse({}).success,
                content: {
                  'application/json': {
                    schema: z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }),
                  },
                },
              },
            }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
      paths,
    };
  }
}

/**
 * Makes the response's JSON bodies at a success status match the route's response schema exactly, as the
 * client receives them (after JSON serialisation): a field the schema strips (undeclared) counts as a
 * mismatch, like a missing or mistyped one. A mismatch throws the 500 instead of sending the body.
 */
function checkJsonAnswers(route: AnyRoute, res: Response): void {
  if (!route.response || route.contentType) return;
  const schema: z.ZodType = route.response;
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    if (successStatuses(route).includes(res.statusCode)) {
      const sent: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
      const parsed = schema.safeParse(sent);
      const issues = parsed.success
        ? undeclared(sent, parsed.data, ['body']).map((path) => ({ path, message: 'not declared' }))
        : parsed.error.issues.map((issue) => ({
            path: ['body', ...issue.path].join('.'),
            message: issue.message,
          }));
      if (issues.length > 0) {
        throw new ApiError(
          'internal',
          `the answer of ${route.method.toUpperCase()} ${route.path} does not match its declared schema`,
          issues,
        );
      }
    }
    return send(body);
  };
}

/** The paths of the fields in `sent` that parsing dropped (those its schema does not declare). */
function undeclared(sent: unknown, parsed: unknown, path: Array<string | number>): string[] {
  if (Array.isArray(sent) && Array.isArray(parsed)) {
    return sent.flatMap((item, index) => undeclared(item, parsed[index], [...path, index]));
  }
  if (sent && typeof sent === 'object' && parsed && typeof parsed === 'object') {
    return Object.entries(sent).flatMap(([key, value]) =>
      key in parsed
        ? undeclared(value, (parsed as Record<string, unknown>)[key], [...path, key])
        : [[...path, key].join('.')],
    );
  }
  return [];
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

/** The documented error answer of a status: `{"error": {...}}` with the codes that status carries. */
export function errorResponse(status: number, alongside: object = {}): object {
  return {
    description: codesOf(status).join(', ') || 'error',
    ...(status === 429
      ? {
          headers: {
            'Retry-After': { required: true, schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
          },
        }
      : {}),
    content: {
      ...alongside,
      'application/json': {
        schema: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string', enum: codesOf(status) },
                message: { type: 'string' },
                details: {},
              },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
      },
    },
  };
}

function schemaProperties(schema: z.ZodType | undefined): Array<[string, unknown, boolean]> {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => [
    name,
    property,
    (json.required ?? []).includes(name),
  ]);
}
