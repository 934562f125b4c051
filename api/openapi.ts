// The OpenAPI 3.1 document at /openapi.json, generated from the same declarations and schemas that validate
// (api/route-definition.ts), answers included: the statuses the registry itself can answer (401 and 403 by
// role, 400 for inputs, 413 for bodies, 429 for limits, 503 behind a token) are documented from the
// declaration, so the document and the service cannot drift apart. It serves nothing.
import { z } from 'zod';
import { roles as allRoles, type Role } from './auth.js';
import { codesOf } from './errors.js';
import { successStatuses, type Route } from './route-definition.js';

/** The registry's own answers for a route, besides what its handler declares. */
function registryStatuses(route: Route): number[] {
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

/** The OpenAPI 3.1 document, generated from the same schemas that validate. */
export function openApiDocument(
  routes: readonly Route[],
  info: { title: string; version: string },
  extraPaths: Record<string, Record<string, unknown>> = {},
): object {
  const paths: Record<string, Record<string, unknown>> = structuredClone(extraPaths);
  for (const route of routes) {
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
      if (route.onInvalid && (status === 400 || status === 413)) {
        // A browser route answers invalid inputs, and a form too large, with its own page.
        responses[String(status)] ??= {
          description: 'a page saying what was refused',
          content: { 'text/html': { schema: { type: 'string' } } },
        };
        if (status === 400 || route.bodyType === 'form') continue;
      }
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
                [route.bodyType === 'form' ? 'application/x-www-form-urlencoded' : 'application/json']: {
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
