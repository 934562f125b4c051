// Making connections the way users do, many at a time: OAuth through the API and the provider's redirect,
// API keys through the API.
import { request } from 'undici';
import { agent, call } from './http.js';

/** Runs fn(0..count-1) with at most `concurrency` at once; results in order. */
export async function inParallel<T>(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

/** Creates an OAuth connection through the API, signs in at the provider and follows its redirect back. */
export async function connectOAuth(
  api: string,
  token: string,
  integration: string,
  scope: 'workspace' | 'user' = 'workspace',
): Promise<string> {
  const created = await call(api, 'POST', '/v1/connections', { token, body: { integration, scope } });
  if (created.status !== 201)
    throw new Error(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
  const authorize = await request(created.body.authorizationUrl as string, { dispatcher: agent });
  await authorize.body.dump();
  const location = authorize.headers.location;
  if (authorize.statusCode !== 302 || typeof location !== 'string')
    throw new Error(`the provider answered ${authorize.statusCode}`);
  const back = new URL(location);
  const done = await call(api, 'GET', back.pathname + back.search);
  if (done.status !== 200) throw new Error(`the callback answered ${done.status}`);
  return created.body.connection.id as string;
}

/** Creates an API-key connection through the API; the key is verified against the stand-in. */
export async function connectApiKey(
  api: string,
  token: string,
  integration: string,
  apiKey: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; id?: string }> {
  const created = await call(api, 'POST', '/v1/connections', {
    token,
    body: { integration, scope: 'workspace', apiKey },
    headers,
  });
  return { status: created.status, id: created.body?.connection?.id };
}
