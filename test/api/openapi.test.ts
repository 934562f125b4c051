// /openapi.json documents every route the app serves: each one Express has mounted, method by method.
import type { Express } from 'express';
import { startApiHarness, type ApiHarness } from '../support/api.js';

/** Every (method, path) Express serves, read from its router, in OpenAPI path syntax. */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function mountedRoutes(app: Express): string[] {
  const routes: string[] = [];
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  const walk = (layers: Layer[]) => {
    for (const layer of layers) {
      if (layer.route) {
        // `_all`: the registry's 405 answer for the methods a path does not serve.
        for (const method of Object.keys(layer.route.methods).filter((name) => name !== '_all')) {
          routes.push(`${method} ${String(layer.route.path).replace(/:([A-Za-z]+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(stack);
  return [...new Set(routes)];
}

describe('/openapi.json', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApiHarness();
  });
  afterAll(async () => api?.stop());

  it('lists every route the app serves', async () => {
    const { status, body } = await api.call('GET', '/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    const documented = Object.entries(body.paths as Record<string, object>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method} ${path}`),
    );
    const mounted = mountedRoutes(api.app);
    expect(mounted.length).toBeGreaterThan(20);
    expect(mounted.filter((route) => !documented.includes(route))).toEqual([]);
  });
});

type Schema = Record<string, unknown>;
type Operation = {
  security?: unknown[];
  'x-roles'?: string[];
  'x-rate-limit'?: string;
  parameters?: Array<{ name: string; in: string; schema: Schema }>;
  requestBody?: { content: Record<string, { schema: Schema }>; 'x-streamed'?: boolean };
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
};

/** Every string schema inside a schema, with where it is. */
function stringSchemas(
  schema: unknown,
  where: string,
  found: Array<[string, Schema]> = [],
): Array<[string, Schema]> {
  if (Array.isArray(schema)) schema.forEach((item, i) => stringSchemas(item, `${where}[${i}]`, found));
  else if (schema && typeof schema === 'object') {
    const node = schema as Schema;
    const type = node.type;
    if (type === 'string' || (Array.isArray(type) && type.includes('string'))) found.push([where, node]);
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && value && typeof value === 'object') {
        for (const [name, property] of Object.entries(value))
          stringSchemas(property, `${where}.${name}`, found);
      } else if (typeof value === 'object') stringSchemas(value, `${where}/${key}`, found);
    }
  }
  return found;
}

describe('/openapi.json is exact', () => {
  let api: ApiHarness;
  let operations: Array<[string, Operation]>;
  beforeAll(async () => {
    api = await startApiHarness();
    const { body } = await api.call('GET', '/openapi.json');
    operations = Object.entries(body.paths as Record<string, Record<string, Operation>>).flatMap(
      ([path, methods]) =>
        Object.entries(methods).map(([method, op]) => [`${method} ${path}`, op] as [string, Operation]),
    );
  });
  afterAll(async () => api?.stop());

  it('gives every string a caller sends what validates it, and none of them admits NUL', () => {
    const inputs = operations.flatMap(([name, op]) => [
      ...(op.parameters ?? []).flatMap((parameter) =>
        stringSchemas(parameter.schema, `${name} ${parameter.in}.${parameter.name}`),
      ),
      // Raw bytes the proxy carries to the provider as they are (format: binary) are not the service's input.
      ...Object.values(op.requestBody?.content ?? {})
        .filter((media) => (media.schema as Schema | undefined)?.format !== 'binary')
        .flatMap((media) => stringSchemas(media.schema, `${name} body`)),
    ]);
    expect(inputs.length).toBeGreaterThan(50);
    const unconstrained = inputs
      .filter(([, schema]) => schema.enum === undefined && schema.const === undefined)
      .filter(([, schema]) => typeof schema.pattern !== 'string' || !/^\^.*\$$/.test(schema.pattern))
      .map(([where]) => where);
    expect(unconstrained).toEqual([]);
    const admitsNul = inputs
      .filter(([, schema]) => typeof schema.pattern === 'string')
      .filter(([, schema]) => new RegExp(schema.pattern as string, 'u').test('a\u0000b'))
      .map(([where]) => where);
    expect(admitsNul).toEqual([]);
    const unbounded = inputs
      .filter(([, schema]) => schema.enum === undefined && schema.const === undefined)
      .filter(([, schema]) => schema.maxLength === undefined && schema.format !== 'uuid')
      .map(([where]) => where);
    expect(unbounded).toEqual([]);
  });

  it('documents the answers every route can give', () => {
    const missing: string[] = [];
    const expectStatus = (name: string, op: Operation, status: number, why: string) => {
      if (!op.responses[String(status)]) missing.push(`${name}: ${status} (${why})`);
    };
    for (const [name, op] of operations) {
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      if (!isPublic) expectStatus(name, op, 401, 'bearer token');
      if (op['x-roles'] && op['x-roles'].length < 4) expectStatus(name, op, 403, 'roles');
      if ((op.parameters ?? []).length || op.requestBody) expectStatus(name, op, 400, 'validated inputs');
      // A body streamed through to the provider (the proxy's larger ones) has no limit of the service's.
      if (op.requestBody && !op.requestBody['x-streamed']) expectStatus(name, op, 413, 'a body');
      if (op['x-rate-limit']) {
        expectStatus(name, op, 429, 'rate limited');
        if (!op.responses['429']?.headers?.['Retry-After']) missing.push(`${name}: 429 without Retry-After`);
      }
    }
    expect(missing).toEqual([]);
    const byName = Object.fromEntries(operations);
    const rateLimited = operations.filter(([, op]) => op['x-rate-limit']).map(([name]) => name);
    expect(rateLimited).toEqual(
      expect.arrayContaining([
        'post /v1/connections',
        'get /v1/oauth/callback',
        'post /v1/connections/{id}/reauthorize',
        'post /v1/connections/{id}/refresh',
        'put /v1/connections/{id}/api-key',
        'delete /v1/connections/{id}',
        'post /v1/integrations',
        'get /v1/connections/{id}/proxy/{path}',
      ]),
    );
    const callback = byName['get /v1/oauth/callback']!;
    expect(Object.keys(callback.responses['200']!.content!)).toEqual(['text/html']);
    expect(Object.keys(callback.responses['400']!.content!)).toEqual(['text/html']);
    expect(callback.responses['303']!.headers).toHaveProperty('Location');
    expect(
      Object.keys(byName['put /v1/connections/{id}/dependents/{kind}/{dependentId}']!.responses),
    ).toEqual(expect.arrayContaining(['200', '201']));
    expect(Object.keys(byName['get /readyz']!.responses)).toEqual(['200', '503']);
    expect(byName['get /healthz']!.responses['200']!.content).toHaveProperty(['application/json']);
    expect(byName['get /metrics']!.responses['200']!.content).toHaveProperty(['text/plain']);
    expect(byName['get /v1/connections/{id}/ready']!.responses).toHaveProperty(['429']);
    expect(byName['get /v1/connections/{id}/ready']!.responses).toHaveProperty(['503']);
  });

  it('answers only statuses it documents, for callers without a token and inputs with NUL', async () => {
    const admin = await api.token({ role: 'admin' });
    const undocumented: string[] = [];
    for (const [name, op] of operations) {
      const [method, template] = name.split(' ') as [string, string];
      if (method === 'head' || method === 'options' || template.startsWith('/codec')) continue;
      const path = template
        .replace('{id}', '00000000-0000-4000-8000-000000000000')
        .replace('{key}', 'google')
        .replace('{kind}', 'agent')
        .replace(/\{[a-zA-Z]+\}/g, 'x');
      const body = op.requestBody ? { name: 'a\u0000b' } : undefined;
      for (const token of [undefined, admin]) {
        const answer = await api.call(
          method.toUpperCase(),
          `${path}?timeout=${encodeURIComponent('\u0000')}`,
          {
            token,
            body,
          },
        );
        if (!op.responses[String(answer.status)] && !op.responses.default) {
          undocumented.push(`${name} ${token ? 'admin' : 'anonymous'}: ${answer.status}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });
});
