// The registry's check of answers against their declared schemas, which tests run with: a route whose body
// differs from what it documents (a deliberate fault: a field too many, a field missing, a field of another
// type, here or inside a list) answers 500 naming the route and the field, instead of the wrong body; with
// the check off (production) the body goes out as the handler made it.
import express from 'express';
import { z } from 'zod';
import { errorHandler } from '../../api/errors.js';
import { RouteRegistry } from '../../api/routes.js';
import { createLogger } from '../../logging/logger.js';
import { listen } from '../support/http.js';

const declared = z.object({ id: z.string(), items: z.array(z.object({ n: z.number() })) });
const faults: Record<string, unknown> = {
  right: { id: 'a', items: [{ n: 1 }] },
  'extra-field': { id: 'a', items: [{ n: 1 }], secret: 'x' },
  'extra-field-in-list': { id: 'a', items: [{ n: 1, more: true }] },
  'missing-field': { items: [] },
  'wrong-type': { id: 1, items: [] },
};

async function serve(checkResponses: boolean) {
  const registry = new RouteRegistry(undefined, undefined, { checkResponses });
  for (const [name, body] of Object.entries(faults)) {
    registry.add({
      method: 'get',
      path: `/${name}`,
      summary: name,
      roles: 'public',
      response: declared,
      handler: () => body as z.infer<typeof declared>,
    });
  }
  // A handler that writes its own answer (several success statuses) is checked too.
  registry.add({
    method: 'put',
    path: '/written-by-handler',
    summary: 'written by the handler',
    roles: 'public',
    response: declared,
    status: [201, 200],
    handler: ({ res }) => {
      res.status(201).json(faults['extra-field']);
    },
  });
  const app = express();
  app.use(registry.router());
  app.use(errorHandler(createLogger('silent')));
  return listen(app);
}

async function get(url: string, method = 'GET') {
  const response = await fetch(url, { method });
  return { status: response.status, body: (await response.json()) as { error: { message: string } } };
}

describe('with the response check on (as in tests)', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => (server = await serve(true)));
  afterAll(() => server.close());

  it('lets a body that matches its schema through', async () => {
    expect(await get(`${server.url}/right`)).toEqual({ status: 200, body: faults.right });
  });

  it.each([
    ['extra-field', 'body.secret', 'not declared'],
    ['extra-field-in-list', 'body.items.0.more', 'not declared'],
    ['missing-field', 'body.id', expect.stringContaining('expected string')],
    ['wrong-type', 'body.id', expect.stringContaining('expected string')],
  ])('answers 500 naming the route and the field for a deliberate fault: %s', async (name, path, message) => {
    expect(await get(`${server.url}/${name}`)).toEqual({
      status: 500,
      body: {
        error: {
          code: 'internal',
          message: `the answer of GET /${name} does not match its declared schema`,
          details: [{ path, message }],
        },
      },
    });
  });

  it('checks a body the handler writes itself', async () => {
    const answer = await get(`${server.url}/written-by-handler`, 'PUT');
    expect(answer.status).toBe(500);
    expect(answer.body.error.message).toBe(
      'the answer of PUT /written-by-handler does not match its declared schema',
    );
  });
});

describe('with the response check off (production)', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => (server = await serve(false)));
  afterAll(() => server.close());

  it('answers the body as the handler made it', async () => {
    expect(await get(`${server.url}/extra-field`)).toEqual({ status: 200, body: faults['extra-field'] });
  });
});
