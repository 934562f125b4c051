// What a route declaration holds (method, path, roles, the zod schemas of its inputs and answer, its rate
// limit), and a feature's list of them. Declarations only: the registry (api/routes.ts) serves them, the
// OpenAPI document (api/openapi.ts) is generated from them.
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { Claims, Role } from './auth.js';
import type { RateLimitName } from './rate-limits.js';

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
  /**
   * How the body is sent: JSON (the default), or an HTML form's `application/x-www-form-urlencoded` (browser
   * routes, whose `onInvalid` page then answers a body that cannot be read too).
   */
  bodyType?: 'json' | 'form';
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
  /**
   * On the agents' hot path (the token, the ready long-poll): mounted first, before the general middleware
   * and the other routes' path checks, with only what it needs (api/app.ts).
   */
  hot?: boolean;
  /**
   * How a browser-facing route answers invalid inputs instead of the JSON error: a page of its own at
   * `status` (400; 413 for a form body over the limit).
   */
  onInvalid?: (res: Response, req: Request, status: number) => void;
  /**
   * How a browser-facing route answers the registry's own refusal (over its rate limit: 429, with Retry-After
   * already set) instead of the JSON error: a page of its own.
   */
  onRefused?: (res: Response, refusal: { status: number }) => void;
  handler: (
    ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>,
  ) => Promise<z.infer<R> | void> | z.infer<R> | void;
}

/** A declared route, whatever its schemas. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Route = RouteDefinition<any, any, any, any>;

/** A feature's routes, each declaration type-checked against its own schemas; the app's registry mounts them. */
export class RouteList {
  readonly routes: Route[] = [];

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
    route: RouteDefinition<P, Q, B, R>,
  ): void {
    this.routes.push(route);
  }
}

/** The success statuses of a route: its own, or 200 (204 without a response). */
export const successStatuses = (route: Route): number[] =>
  route.status === undefined ? [route.response ? 200 : 204] : [route.status].flat();

/**
 * A handler mounted before the registry's routes and the general middleware, since it reads the raw request
 * (the provider proxy, MCP): on the agents' hot path, it gets only the security headers and its own timing.
 */
export interface StreamingRoute {
  /** Express path syntax; every path below it is served too. */
  path: string;
  /** The methods served; any other answers 405 with Allow. */
  methods: readonly string[];
  handler: RequestHandler;
  /** Its entries in /openapi.json, by OpenAPI path. */
  documented: Record<string, Record<string, unknown>>;
}
