// The codec server Temporal UI and `temporal --codec-endpoint <api>/codec` call to show encrypted payloads
// to operators: POST /codec/encode and /codec/decode in Temporal's codec-server protocol (proto3 JSON, every
// bytes field base64). Payloads of every workspace pass through it, so it takes only an operator's credential
// (api/operator-auth.ts), never a workspace's, checked before the (up to 4 MB) body is read: an operator
// token, or, since Temporal UI sends no token but the browser's cookies (`includeCredentials`), the
// operator's console session, from the UI's origins only (a workspace session never), so that no other page
// the browser shows can use an operator's session to decode.
// It must never log a payload, nor answer anyone without a verified operator credential.
import type { Payload, PayloadCodec } from '@temporalio/common';
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { ApiError } from './errors.js';
import { operatorsOnly, type OperatorSessionCheck, type OperatorVerifier } from './operator-auth.js';

const base64 = z.base64();
const bodySchema = z.object({
  // proto3 JSON leaves an empty list out: the CLI sends `{}` for an event without payloads.
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).nullish(),
        data: base64.nullish(),
      }),
    )
    .default([]),
});
type JsonPayload = z.infer<typeof bodySchema>['payloads'][number];

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
  ),
  data: Buffer.from(data ?? '', 'base64'),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  ),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

const allowedHeaders = 'authorization, content-type, x-namespace';

/** The UI runs in the browser on another origin and sends cookies (or a token), so CORS allows credentials. */
function cors(allowed: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method !== 'OPTIONS') return next();
    // A preflight never carries the token, so it is answered before authentication.
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', allowedHeaders);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.status(204).end();
  };
}

export interface CodecServerDependencies {
  codec: PayloadCodec;
  verifyOperator: OperatorVerifier;
  /** The Temporal UI's origins: CORS is answered for them, and only their requests may use a session. */
  allowedOrigins: string[];
  /** Whether the request carries an operator's console session (console/console-auth.ts). */
  operatorSession?: OperatorSessionCheck;
}

export function codecServerRoutes(deps: CodecServerDependencies): Router {
  const router = Router();
  const allowed = new Set(deps.allowedOrigins.map((origin) => new URL(origin).origin));
  const { operatorSession } = deps;
  const uiSession: OperatorSessionCheck | undefined =
    operatorSession &&
    (async (req) =>
      req.headers.origin !== undefined && allowed.has(req.headers.origin) && operatorSession(req));
  // CORS first, so the UI can read a refusal; then the operator check (token, or session from the UI's
  // origin), before anything reads the body. A history's payloads can be far larger than the API's own
  // bodies; if the app has already parsed the body (its parser is mounted first), this one steps aside.
  router.use(
    '/codec',
    cors(allowed),
    operatorsOnly(deps.verifyOperator, uiSession),
    express.json({ limit: '4mb' }),
  );
  for (const direction of ['encode', 'decode'] as const) {
    router.post(`/codec/${direction}`, async (req, res, next) => {
      const body = bodySchema.safeParse(req.body);
      if (!body.success) {
        // zod's issues name paths and expectations, never the values received.
        return next(new ApiError('invalid_request', 'the body must be {"payloads": [...]} in proto3 JSON'));
      }
      let payloads: Payload[];
      try {
        payloads = await deps.codec[direction](body.data.payloads.map(fromJson));
      } catch (error) {
        if (direction === 'encode') throw error;
        // A payload the codec cannot open is the caller's input; the codec's message names a key id at most.
        return next(new ApiError('invalid_request', `could not decode: ${(error as Error).message}`));
      }
      res.json({ payloads: payloads.map(toJson) });
    });
  }
  return router;
}
