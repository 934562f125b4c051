// The one error type of the API and the one place errors are mapped to HTTP: `{"error": {"code", "message",
// "details"}}`. The features' domain errors (ConnectionError) get their status here, nowhere else.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ConnectionError, type ConnectionErrorCode } from '../connections/connection-errors.js';
import type { Logger } from '../logging/logger.js';
import { dependencyUnavailable } from '../platform/dependency-errors.js';

export const statusByCode = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  policy_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  has_dependents: 409,
  account_already_connected: 409,
  account_mismatch: 409,
  conflict: 409,
  connection_not_active: 409,
  connection_required: 409,
  payload_too_large: 413,
  provider_rejected: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  provider_unavailable: 502,
  service_unavailable: 503,
} as const;
export type ErrorCode = keyof typeof statusByCode;

/** The error codes answered with an HTTP status, for /openapi.json. */
export function codesOf(status: number): ErrorCode[] {
  return (Object.keys(statusByCode) as ErrorCode[]).filter((code) => statusByCode[code] === status);
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Headers the answer carries (Retry-After of a 429, Allow of a 405). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
  get status(): number {
    return statusByCode[this.code];
  }
}

/** The answer of each refusal of the connection commands. */
const codeOfConnectionError: Record<ConnectionErrorCode, ErrorCode> = {
  invalid_setup: 'invalid_request',
  unknown_authorization: 'invalid_request',
  has_dependents: 'has_dependents',
  account_already_connected: 'account_already_connected',
  account_mismatch: 'account_mismatch',
  authorization_refused: 'invalid_request',
  conflict: 'conflict',
  provider_rejected: 'provider_rejected',
  provider_unavailable: 'provider_unavailable',
  idempotency_key_reused: 'idempotency_key_reused',
  not_recorded: 'internal',
  unavailable: 'service_unavailable',
};

/** A domain error as the API answers it; anything else is undefined (for the error handler to judge). */
export function apiErrorOf(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof ConnectionError) {
    return new ApiError(codeOfConnectionError[error.code], error.message, error.details);
  }
  return undefined;
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError('not_found', `no route ${req.method} ${req.path}`));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let apiError: ApiError;
    const known = apiErrorOf(error);
    if (known) apiError = known;
    else if ((error as { type?: string }).type === 'entity.too.large') {
      apiError = new ApiError('payload_too_large', 'the request body is too large');
    } else if ((error as { type?: string }).type === 'entity.parse.failed') {
      apiError = new ApiError('invalid_request', 'the request body is not valid JSON');
    } else if (isBodyReadError(error)) {
      apiError = new ApiError('invalid_request', 'the request body could not be read');
    } else if (dependencyUnavailable(error)) {
      // An outage (or the moment after one) is the caller's to retry, not an error of the service's code.
      logger.warn({ err: error, method: req.method, path: req.path }, 'a dependency is unavailable');
      apiError = new ApiError(
        'service_unavailable',
        `the ${dependencyUnavailable(error)} is unavailable; try again shortly`,
        undefined,
        { 'retry-after': '1' },
      );
    } else {
      logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
      apiError = new ApiError('internal', 'internal error');
    }
    if (apiError.headers) res.set(apiError.headers);
    res.status(apiError.status).json({
      error: {
        code: apiError.code,
        message: apiError.message,
        ...(apiError.details ? { details: apiError.details } : {}),
      },
    });
  };
}

/** body-parser's other refusals (an unsupported charset or encoding, an aborted or mis-sized body). */
function isBodyReadError(error: unknown): boolean {
  const { type, status } = error as { type?: unknown; status?: unknown };
  return typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500;
}
