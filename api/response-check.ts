// The check tests run every answer through (RegistryOptions.checkResponses): a JSON body at a success status
// must match its route's declared response schema exactly, as the client receives it. Off in production,
// where a body is answered as the handler made it.
import type { Response } from 'express';
import type { z } from 'zod';
import { ApiError } from './errors.js';
import { successStatuses, type Route } from './route-definition.js';

/**
 * Makes the response's JSON bodies at a success status match the route's response schema exactly, as the
 * client receives them (after JSON serialisation): a field the schema strips (undeclared) counts as a
 * mismatch, like a missing or mistyped one. A mismatch throws the 500 instead of sending the body.
 */
export function checkJsonAnswers(route: Route, res: Response): void {
  if (!route.response || route.contentType) return;
  const schema: z.ZodType = route.response;
  const send = res.json.bind(res);
  res.json = (body: unknown) => {
    if (successStatuses(route).includes(res.statusCode)) {
      const sent: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
      const parsed = schema.safeParse(sent);
      const issues = parsed.success
        ? undeclared(sent, parsed.data, ['body']).map((path) => ({ path, message: 'not declared' }))
        : parsed.error.issues.map((issue) => ({
            path: ['body', ...issue.path].join('.'),
            message: issue.message,
          }));
      if (issues.length > 0) {
        throw new ApiError(
          'internal',
          `the answer of ${route.method.toUpperCase()} ${route.path} does not match its declared schema`,
          issues,
        );
      }
    }
    return send(body);
  };
}

/** The paths of the fields in `sent` that parsing dropped (those its schema does not declare). */
function undeclared(sent: unknown, parsed: unknown, path: Array<string | number>): string[] {
  if (Array.isArray(sent) && Array.isArray(parsed)) {
    return sent.flatMap((item, index) => undeclared(item, parsed[index], [...path, index]));
  }
  if (sent && typeof sent === 'object' && parsed && typeof parsed === 'object') {
    return Object.entries(sent).flatMap(([key, value]) =>
      key in parsed
        ? undeclared(value, (parsed as Record<string, unknown>)[key], [...path, key])
        : [[...path, key].join('.')],
    );
  }
  return [];
}
