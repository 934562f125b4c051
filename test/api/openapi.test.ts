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
