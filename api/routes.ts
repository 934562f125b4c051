// One way to declare a route: its method, path, who may call it and the zod schemas of its inputs and
// answer. The same declaration validates every request (unknown fields rejected, one error shape) and
// produces the OpenAPI document at /openapi.json, so the two cannot drift apart.
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Claims, Role, TokenVerifier } from './auth.js';
import { ApiError } from './errors.js';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The verified caller; absent only on public routes. */
  caller: Claims;
  req: Request;
  res: Response;
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
  /** The success answer's schema and status (default 200). */
  response?: R;
  status?: number;
  /** Other answers worth documenting, by status. */
  errors?: number[];
  handler: (
    ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>,
  ) => Promise<z.infer<R> | void> | z.infer<R> | void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRoute = RouteDefinition<any, any, any, any>;

/** The verified caller of a request with `Authorization: Bearer <JWT>`, or 401. */
export async function authenticate(req: Request, verifyToken: TokenVerifier): Promise<Claims> {
  const header = req.headers.authorization;
  const match = header ? /^Bearer ([^\s]+)$/i.exec(header) : null;
  if (!match?.[1]) throw new ApiError('unauthorized', 'a bearer token is required');
  try {
    return await verifyToken(match[1]);
  } catch {
    throw new ApiError('unauthorized', 'the bearer token is invalid or expired');
  }
}

export const idSchema = z.uuid({ message: 'must be a UUID' });

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return (where === 'body' ? undefined : {}) as T;
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

export class RouteRegistry {
  readonly routes: AnyRoute[] = [];

  constructor(private readonly verifyToken: TokenVerifier) {}

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
    route: RouteDefinition<P, Q, B, R>,
  ): void {
    this.routes.push(route);
  }

  /** Mounts every route on a router: authentication, role check, validation, then the handler. */
  router(): Router {
    const router = express.Router();
    for (const route of this.routes) {
      const handler: RequestHandler = async (req, res, next) => {
        try {
          let caller = undefined as unknown as Claims;
          if (route.roles !== 'public') {
            caller = await this.authenticate(req);
            if (!route.roles.includes(caller.role)) {
              throw new ApiError('forbidden', `the ${caller.role} role may not do this`);
            }
          }
          const ctx = {
            params: parse(route.params, req.params, 'path'),
            query: parse(route.query, req.query, 'query'),
            body: parse(route.body, req.body, 'body'),
            caller,
            req,
            res,
          };
          const result = await route.handler(ctx);
          if (res.headersSent) return;
          if (result === undefined) res.status(route.status ?? 204).end();
          else res.status(route.status ?? 200).json(result);
        } catch (error) {
          next(error);
        }
      };
      router[route.method](route.path, handler);
    }
    return router;
  }

  private authenticate(req: Request): Promise<Claims> {
    return authenticate(req, this.verifyToken);
  }

  /** The OpenAPI 3.1 document, generated from the same schemas that validate. */
  openApi(
    info: { title: string; version: string },
    extraPaths: Record<string, Record<string, unknown>> = {},
  ): object {
    const paths: Record<string, Record<string, unknown>> = structuredClone(extraPaths);
    const errorSchema = {
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
          required: ['code', 'message'],
        },
      },
      required: ['error'],
    };
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
      ];
      const responses: Record<string, unknown> = {
        [String(route.status ?? (route.response ? 200 : 204))]: route.response
          ? {
              description: 'success',
              content: {
                'application/json': {
                  schema: z.toJSONSchema(route.response, { io: 'output', unrepresentable: 'any' }),
                },
              },
            }
          : { description: 'success' },
      };
      for (const status of [...(route.roles === 'public' ? [] : [401, 403]), 400, ...(route.errors ?? [])]) {
        responses[String(status)] = {
          description: 'error',
          content: { 'application/json': { schema: errorSchema } },
        };
      }
      (paths[openApiPath] ??= {})[route.method] = {
        summary: route.summary,
        tags: route.tags,
        ...(route.roles === 'public' ? { security: [] } : { 'x-roles': route.roles }),
        parameters,
        ...(route.body
          ? {
              requestBody: {
                required: true,
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
