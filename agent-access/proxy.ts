// The provider proxy: `/v1/connections/{id}/proxy/{path}`. It forwards to the integration's API base URL
// with the connection's credential injected as the provider configuration says, and streams bodies both
// ways (node:http), so large uploads and downloads pass through. Only the methods of an HTTP API are
// carried (405 otherwise); every request body is framed explicitly, never passed on as bytes the provider
// could read as a second request: GET and HEAD carry none (400), DELETE and OPTIONS are buffered and sent
// with their Content-Length (413 past the limit), POST, PUT and PATCH are buffered when small, otherwise
// streamed with their declared Content-Length or chunked. Headers go each way through allow-lists
// (providers/proxy-headers.ts); connections go only to checked addresses (providers/outbound-guard.ts). A
// target outside the base URL (dot segments, encoded or not, an absolute URL, another host) is refused with
// 400. Mounted before the JSON body parser: it needs the raw request stream. The way to the provider itself
// (path, policy, credential, target, grant, injection, refresh) is callProvider, which MCP's
// call_integration (mcp/tools.ts) shares.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { applyApiKey, applyToken } from '../providers/api-key-client.js';
import { addressRefusal, type OutboundGuard } from '../providers/outbound-guard.js';
import { forwardedRequestHeaders, forwardedResponseHeaders } from '../providers/proxy-headers.js';
import type { ProviderConfig } from '../providers/provider-config.js';
import type { Claims, TokenVerifier } from '../api/auth.js';
import { ApiError } from '../api/errors.js';
import { callerKey, type RateLimitName } from '../api/rate-limits.js';
import { authenticate, idSchema } from '../api/routes.js';
import {
  agentAccessRoles,
  type AgentAccess,
  type ConnectionUse,
  taskIdSchema,
  providerForUse,
  recordGrant,
  usableCredential,
  type UsableCredential,
} from './token.js';

/**
 * A request body up to this size (declared by Content-Length) is buffered so that it can be sent again
 * after a refresh; a bodyless request is always retried. A larger or chunked POST, PUT or PATCH body is
 * streamed through as it arrives and cannot be replayed: a 401 to it is passed back to the caller as the
 * provider sent it. DELETE and OPTIONS bodies are always buffered, up to this size.
 */
export const REPLAYABLE_BODY_LIMIT = 64 * 1024;
const UPSTREAM_IDLE_TIMEOUT_MS = 60_000;

/** The methods of an HTTP API; anything else (TRACE, CONNECT, WebDAV's) answers 405. */
export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const methodsWithoutBody = new Set(['GET', 'HEAD']);
const methodsWithBufferedBody = new Set(['DELETE', 'OPTIONS']);
/** A bodyless request of these methods says so with Content-Length: 0 (RFC 9110 8.6). */
const methodsExpectingBody = new Set(['POST', 'PUT', 'PATCH']);

/** The task a proxied call is made for, recorded with the grant and not forwarded. */
export const TASK_ID_HEADER = 'x-task-id';

/** The limit every proxied call spends (the proxy is not a registry route: it names its own). */
export const PROXY_RATE_LIMIT: RateLimitName = 'proxy';

export interface ProxyDependencies {
  access: AgentAccess;
  verifyToken: TokenVerifier;
  /** The way out to providers. */
  outbound: OutboundGuard;
}

export function agentProxy({ access, verifyToken, outbound }: ProxyDependencies): RequestHandler {
  async function authorize(req: Request): Promise<Claims> {
    const caller = await authenticate(req, verifyToken);
    if (!agentAccessRoles.includes(caller.role)) {
      throw new ApiError('forbidden', `the ${caller.role} role may not do this`);
    }
    return caller;
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!(PROXY_METHODS as readonly string[]).includes(req.method)) {
        res.setHeader('allow', PROXY_METHODS.join(', '));
        throw new ApiError('method_not_allowed', `the proxy does not carry ${req.method} requests`);
      }
      const caller = await authorize(req);
      await access.limits.enforce(PROXY_RATE_LIMIT, callerKey(caller));
      const id = idSchema.safeParse(req.params.id);
      if (!id.success) {
        throw new ApiError('invalid_request', 'invalid path', [
          { path: 'path.id', message: 'must be a UUID' },
        ]);
      }
      const taskId = taskIdOf(req);
      const { rawPath, rawQuery } = splitTarget(req.url);
      const { upstream, declared } = await callProvider({ access, outbound }, caller, {
        connectionId: id.data,
        method: req.method,
        rawPath,
        rawQuery,
        headers: req.headers,
        readBody: () => requestBody(req),
        taskId,
        via: 'api',
      });
      res.status(upstream.statusCode ?? 502);
      for (const [name, value] of Object.entries(forwardedResponseHeaders(upstream.headers, declared))) {
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
      // A body left unread is not drained: the connection closes after this answer.
      if (!req.complete) res.setHeader('connection', 'close');
      const refusal = addressRefusal(error);
      next(refusal ? new ApiError('provider_unavailable', refusal.message) : error);
    }
  };
}

/** One call to a connection's provider, as the proxy and MCP's call_integration make it. */
export interface ProviderCall {
  connectionId: string;
  /** One of PROXY_METHODS. */
  method: string;
  /** The path below the API base URL and the query, percent-encoded as they are to be sent. */
  rawPath: string;
  rawQuery: string;
  /** The caller's headers: only the allow-listed and declared ones go on. */
  headers: IncomingHttpHeaders;
  /** Reads the body once the path is known to be good, before the credential is opened. */
  readBody: () => Promise<RequestBody>;
  taskId?: string;
  via: ConnectionUse['via'];
}

/** The provider's answer (its body still to be read) and what the caller needs to pass it on. */
export interface ProviderAnswer {
  upstream: IncomingMessage;
  /** The provider's declared extra headers (providers/proxy-headers.ts). */
  declared: ProviderConfig['proxy'];
  /** Every credential the call was sent with (two after a refresh): what a reader of the body redacts. */
  credentials: UsableCredential[];
}

/**
 * The one way a call reaches a provider: the path checked, the credential of a connection the caller may
 * use under its access policy, the target within the integration's API base URL, the grant recorded, the
 * credential injected as the provider configuration says, sent through the outbound guard; on a 401 the
 * token is refreshed once through the workflow and the call sent again (replayable bodies only). A provider
 * that cannot be reached is 502 `provider_unavailable`.
 */
export async function callProvider(
  { access, outbound }: { access: AgentAccess; outbound: OutboundGuard },
  caller: Claims,
  call: ProviderCall,
): Promise<ProviderAnswer> {
  checkPath(call.rawPath);
  // Before the credential is opened or a grant recorded: a refused body costs neither.
  const body = await call.readBody();
  const use: ConnectionUse = {
    kind: 'proxy',
    method: call.method,
    path: call.rawPath,
    taskId: call.taskId,
    via: call.via,
  };
  let { connection, credential } = await usableCredential(access, caller, call.connectionId, use);
  const provider = await providerForUse(access, caller.workspace, connection);
  const apiBaseUrl = provider.apiBaseUrl;
  if (!apiBaseUrl) {
    throw new ApiError(
      'invalid_request',
      `integration ${connection.integration} has no API base URL for this connection`,
    );
  }
  const target = targetUrl(apiBaseUrl, call.rawPath, call.rawQuery);
  recordGrant(access, caller, connection.id, use);

  const declared = provider.proxy;
  const send = (credential: UsableCredential) => {
    const url = new URL(target);
    const headers = forwardedRequestHeaders(call.headers, declared);
    if (credential.authType === 'oauth2' && provider.authType === 'oauth2' && provider.tokenInjection) {
      // Where the provider takes its token elsewhere (Shopify's X-Shopify-Access-Token).
      applyToken(provider.tokenInjection, credential.accessToken, headers);
    } else if (credential.authType === 'oauth2') {
      headers.set('authorization', `${credential.tokenType} ${credential.accessToken}`);
    } else if (provider.authType === 'api_key') {
      applyApiKey(provider, credential.apiKey, url, headers);
    }
    return forward(outbound, call.method, url, headers, body).catch((error: unknown) => {
      const refusal = addressRefusal(error);
      if (refusal) throw new ApiError('provider_unavailable', refusal.message);
      if (error instanceof UpstreamError) throw new ApiError('provider_unavailable', error.message);
      throw error;
    });
  };

  const credentials = [credential];
  let upstream = await send(credential);
  if (upstream.statusCode === 401 && credential.authType === 'oauth2' && body.kind !== 'streamed') {
    upstream.resume();
    ({ connection, credential } = await usableCredential(access, caller, connection.id, use, {
      refresh: true,
    }));
    credentials.push(credential);
    upstream = await send(credential);
  }
  return { upstream, declared, credentials };
}

/** X-Task-Id, validated as the token route's `taskId` is (and as the document says), or absent. */
function taskIdOf(req: Request): string | undefined {
  const value = headerValue(req.headers[TASK_ID_HEADER]);
  if (value === undefined) return undefined;
  const parsed = taskIdSchema.safeParse(value);
  if (!parsed.success) {
    throw new ApiError('invalid_request', 'invalid header', [
      { path: 'header.X-Task-Id', message: parsed.error.issues[0]?.message ?? 'not a task id' },
    ]);
  }
  return value;
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

/**
 * How a request body goes on: none, buffered (sent with its Content-Length, and again after a refresh), or
 * streamed with the framing it arrived with (its declared Content-Length, or chunked).
 */
export type RequestBody =
  | { kind: 'none' }
  | { kind: 'buffered'; buffer: Buffer }
  | { kind: 'streamed'; source: Readable; contentLength?: number };

/** Decides, and reads when it buffers, how the caller's body is framed toward the provider. */
async function requestBody(req: Request): Promise<RequestBody> {
  const transferEncoding = req.headers['transfer-encoding'];
  const declaredHeader = req.headers['content-length'];
  const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
  const hasBody = transferEncoding !== undefined || (declared !== undefined && declared > 0);
  if (transferEncoding !== undefined && transferEncoding.trim().toLowerCase() !== 'chunked') {
    throw new ApiError('invalid_request', 'only the chunked transfer coding is accepted');
  }
  if (!hasBody) return { kind: 'none' };
  if (methodsWithoutBody.has(req.method)) {
    throw new ApiError('invalid_request', `a ${req.method} request must not have a body`);
  }
  const buffered = methodsWithBufferedBody.has(req.method);
  if (declared !== undefined && declared > REPLAYABLE_BODY_LIMIT) {
    if (buffered) throw tooLarge(req.method);
    return { kind: 'streamed', source: req, contentLength: declared };
  }
  if (transferEncoding !== undefined && !buffered) return { kind: 'streamed', source: req };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > REPLAYABLE_BODY_LIMIT) throw tooLarge(req.method);
    chunks.push(chunk as Buffer);
  }
  return { kind: 'buffered', buffer: Buffer.concat(chunks) };
}

function tooLarge(method: string): ApiError {
  return new ApiError(
    'payload_too_large',
    `a ${method} body through the proxy is limited to ${REPLAYABLE_BODY_LIMIT} bytes`,
  );
}

/** One request to the provider; resolves with its response as soon as the headers arrive. */
function forward(
  outbound: OutboundGuard,
  method: string,
  url: URL,
  headers: Headers,
  body: RequestBody,
): Promise<IncomingMessage> {
  const outgoing: Record<string, string> = {};
  headers.forEach((value, name) => {
    outgoing[name] = value;
  });
  if (body.kind === 'buffered') outgoing['content-length'] = String(body.buffer.length);
  else if (body.kind === 'streamed') {
    if (body.contentLength === undefined) outgoing['transfer-encoding'] = 'chunked';
    else outgoing['content-length'] = String(body.contentLength);
  } else if (methodsExpectingBody.has(method)) outgoing['content-length'] = '0';
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      const refusal = addressRefusal(error);
      reject(
        refusal ??
          (error instanceof UpstreamError ? error : new UpstreamError('the provider could not be reached')),
      );
    };
    let agent;
    try {
      agent = outbound.agentFor(url);
    } catch (error) {
      fail(error);
      return;
    }
    const upstream = request(url, { method, headers: outgoing, agent }, resolve);
    upstream.setTimeout(UPSTREAM_IDLE_TIMEOUT_MS, () =>
      upstream.destroy(new UpstreamError('the provider did not answer in time')),
    );
    upstream.once('error', fail);
    if (body.kind === 'streamed') {
      // node's parser hands over exactly the declared length, or fails when the caller stops short; then
      // the upstream connection is destroyed, so an incomplete body never ends as if it were whole.
      pipeline(body.source, upstream).catch((error: unknown) => upstream.destroy(error as Error));
    } else {
      upstream.end(body.kind === 'buffered' ? body.buffer : undefined);
    }
  });
}
