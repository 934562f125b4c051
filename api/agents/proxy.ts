// The provider proxy: `/v1/connections/{id}/proxy/{path}`, every method. It forwards to the integration's
// API base URL with the connection's credential injected as the provider configuration says, and streams
// bodies both ways (node:http, no buffering), so large uploads and downloads pass through. The caller's own
// Authorization header, its cookies and hop-by-hop headers never reach the provider; a target outside the
// base URL (dot segments, encoded or not, an absolute URL, another host) is refused with 400.
// Mounted before the JSON body parser: it needs the raw request stream.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { applyApiKey } from '../../providers/api-key-client.js';
import { integrationStore } from '../../stores/integration-store.js';
import type { ApiDependencies } from '../app.js';
import type { Claims } from '../auth.js';
import { ApiError } from '../errors.js';
import { callerKey } from '../rate-limits.js';
import { authenticate, idSchema } from '../routes.js';
import {
  agentAccess,
  agentAccessRoles,
  recordGrant,
  usableCredential,
  type UsableCredential,
} from './token.js';

/**
 * A request body up to this size (declared by Content-Length) is buffered so that it can be sent again
 * after a refresh; a bodyless request is always retried. A larger or chunked body is streamed through as it
 * arrives and cannot be replayed: a 401 to it is passed back to the caller as the provider sent it.
 */
export const REPLAYABLE_BODY_LIMIT = 64 * 1024;
const UPSTREAM_IDLE_TIMEOUT_MS = 60_000;

/** Headers of one hop only (RFC 9110 7.6.1), never forwarded either way. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** The caller's own: its credentials, the host it called, where it came from, its task id. */
const callerOnly = new Set(['authorization', 'cookie', 'host', 'forwarded', 'x-task-id', 'expect']);

/** The task a proxied call is made for, recorded with the grant and not forwarded. */
export const TASK_ID_HEADER = 'x-task-id';

export function agentProxy(deps: ApiDependencies): RequestHandler {
  const service = deps.service;
  if (!service) throw new Error('the proxy needs the service dependencies');
  const access = agentAccess(deps);

  async function authorize(req: Request): Promise<Claims> {
    const caller = await authenticate(req, service!.verifyToken);
    if (!agentAccessRoles.includes(caller.role)) {
      throw new ApiError('forbidden', `the ${caller.role} role may not do this`);
    }
    return caller;
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const caller = await authorize(req);
      await access.limits.enforce('proxy', callerKey(caller));
      const id = idSchema.safeParse(req.params.id);
      if (!id.success) {
        throw new ApiError('invalid_request', 'invalid path', [
          { path: 'path.id', message: 'must be a UUID' },
        ]);
      }
      const { rawPath, rawQuery } = splitTarget(req.url);
      checkPath(rawPath);
      let { connection, credential } = await usableCredential(access, caller, id.data);
      const integration = await integrationStore.get(access.db, caller.workspace, connection.integration);
      const apiBaseUrl = integration?.provider.apiBaseUrl;
      if (!integration || !apiBaseUrl) {
        throw new ApiError('invalid_request', `integration ${connection.integration} has no API base URL`);
      }
      const target = targetUrl(apiBaseUrl, rawPath, rawQuery);
      const taskId = headerValue(req.headers[TASK_ID_HEADER]);
      recordGrant(access, caller, connection.id, 'proxy', taskId?.slice(0, 200));

      const body = await replayableBody(req);
      const send = (credential: UsableCredential) => {
        const url = new URL(target);
        const headers = forwardedRequestHeaders(req.headers);
        if (credential.authType === 'oauth2') {
          headers.set('authorization', `${credential.tokenType} ${credential.accessToken}`);
        } else if (integration.provider.authType === 'api_key') {
          applyApiKey(integration.provider, credential.apiKey, url, headers);
        }
        return forward(req, url, headers, body);
      };

      let upstream = await send(credential);
      if (upstream.statusCode === 401 && credential.authType === 'oauth2' && body.replayable) {
        upstream.resume();
        ({ connection, credential } = await usableCredential(access, caller, connection.id, {
          refresh: true,
        }));
        upstream = await send(credential);
      }
      res.status(upstream.statusCode ?? 502);
      for (const [name, value] of Object.entries(forwardedResponseHeaders(upstream.headers))) {
        res.setHeader(name, value);
      }
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      await pipeline(upstream, res).catch(() => undefined);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof UpstreamError) {
        next(new ApiError('provider_unavailable', error.message));
        return;
      }
      next(error);
    }
  };
}

class UpstreamError extends Error {
  override name = 'UpstreamError';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The path below `/proxy` and the query, exactly as the caller sent them (still percent-encoded). */
function splitTarget(url: string): { rawPath: string; rawQuery: string } {
  const question = url.indexOf('?');
  const rawPath = question === -1 ? url : url.slice(0, question);
  return { rawPath: rawPath || '/', rawQuery: question === -1 ? '' : url.slice(question + 1) };
}

const outside = () => new ApiError('invalid_request', 'the target is outside the integration API');

/**
 * Refuses anything that could leave the base URL once a server (ours, the provider's, or one between)
 * decodes or normalises it: dot segments in any encoding, encoded slashes and backslashes, control
 * characters, an empty first segment (`//host`) and a scheme (`http:`), i.e. an absolute URL.
 */
export function checkPath(rawPath: string): void {
  if (!rawPath.startsWith('/') || rawPath.startsWith('//')) throw outside();
  const segments = rawPath.slice(1).split('/');
  if (/^[a-z][a-z0-9+.-]*:/i.test(segments[0] ?? '')) throw outside();
  for (const segment of segments) {
    let decoded = segment;
    // Decoded until stable (bounded), so that `%252e%252e` is seen for what a second decoder makes of it.
    for (let round = 0; round < 3; round++) {
      let next: string;
      try {
        next = decodeURIComponent(decoded);
      } catch {
        throw new ApiError('invalid_request', 'the target path is not valid percent-encoding');
      }
      if (next === decoded) break;
      decoded = next;
    }
    if (decoded === '.' || decoded === '..' || /[/\\]/.test(decoded) || hasControlCharacter(decoded)) {
      throw outside();
    }
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** The base URL joined with the path and query, checked once more to stay on its origin and path. */
export function targetUrl(apiBaseUrl: string, rawPath: string, rawQuery: string): URL {
  const base = new URL(apiBaseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const target = new URL(`${base.origin}${basePath}${rawPath}${rawQuery ? `?${rawQuery}` : ''}`);
  if (target.origin !== base.origin || !(target.pathname + '/').startsWith(basePath + '/')) throw outside();
  return target;
}

function forwardedRequestHeaders(incoming: IncomingHttpHeaders): Headers {
  const named = connectionTokens(incoming.connection);
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || hopByHop.has(name) || callerOnly.has(name) || named.has(name)) continue;
    if (name.startsWith('x-forwarded-')) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

function forwardedResponseHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || hopByHop.has(name) || named.has(name) || name === 'set-cookie') continue;
    out[name] = value;
  }
  return out;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

type RequestBody = { replayable: true; buffer?: Buffer } | { replayable: false };

/** Reads a small declared body into memory (see REPLAYABLE_BODY_LIMIT); leaves others to stream. */
async function replayableBody(req: Request): Promise<RequestBody> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (declared === undefined || Number(declared) === 0)) return { replayable: true };
  if (chunked || Number(declared) > REPLAYABLE_BODY_LIMIT) return { replayable: false };
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return { replayable: true, buffer: Buffer.concat(chunks) };
}

/** One request to the provider; resolves with its response as soon as the headers arrive. */
function forward(req: Request, url: URL, headers: Headers, body: RequestBody): Promise<IncomingMessage> {
  const outgoing: Record<string, string | string[]> = {};
  headers.forEach((value, name) => {
    outgoing[name] = name === 'set-cookie' ? headers.getSetCookie() : value;
  });
  if (body.replayable) {
    delete outgoing['content-length'];
    if (body.buffer) outgoing['content-length'] = String(body.buffer.length);
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const upstream = request(url, { method: req.method, headers: outgoing }, resolve);
    upstream.setTimeout(UPSTREAM_IDLE_TIMEOUT_MS, () =>
      upstream.destroy(new UpstreamError('the provider did not answer in time')),
    );
    upstream.once('error', (error) =>
      reject(error instanceof UpstreamError ? error : new UpstreamError('the provider could not be reached')),
    );
    if (!body.replayable) {
      pipeline(req, upstream).catch((error: unknown) => upstream.destroy(error as Error));
    } else {
      upstream.end(body.buffer);
    }
  });
}
