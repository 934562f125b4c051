// What of a logged object may reach a log line: values under secret names (secret-keys.ts) are replaced at
// any depth, errors become plain objects (type, message, stack, code, cause, nested errors, own fields) so
// that what they carry is walked too, binary data is reduced to its size, and the walk is bounded (depth,
// nodes, string length) and safe against cycles. Objects that need no change are returned as they are, so a
// small flat object (the request line) costs no allocation. It must never throw at the logger's caller.
import { REDACTED } from './known-secrets.js';
import { isSecretKey } from './secret-keys.js';

const MAX_DEPTH = 12;
const MAX_NODES = 2_000;
const MAX_STRING = 16_384;

interface Walk {
  nodes: number;
  /** The objects on the path from the root: what would make a cycle. */
  path: Set<object>;
}

export function redactForLog(value: unknown): unknown {
  try {
    return walk(value, 0, { nodes: 0, path: new Set() });
  } catch {
    return '[unloggable]';
  }
}

function walk(value: unknown, depth: number, state: Walk): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[truncated]` : value;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (++state.nodes > MAX_NODES) return '[truncated]';
  if (depth >= MAX_DEPTH) return '[depth limit]';
  if (state.path.has(value)) return '[circular]';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  state.path.add(value);
  try {
    if (value instanceof Error) return walkObject(errorFields(value), depth, state, true);
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, index) => {
        const walked = walk(item, depth + 1, state);
        if (walked !== item) (copy ??= value.slice())[index] = walked;
      });
      return copy ?? value;
    }
    const json = (value as { toJSON?: unknown }).toJSON;
    // A URL, for instance, is written as what toJSON gives: that is what must be walked.
    if (typeof json === 'function') return walk(json.call(value), depth, state);
    return walkObject(value as Record<string, unknown>, depth, state, false);
  } finally {
    state.path.delete(value);
  }
}

function walkObject(
  object: Record<string, unknown>,
  depth: number,
  state: Walk,
  isError: boolean,
): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const child = object[key];
    let walked: unknown;
    // An error's `code` is its classification (ECONNREFUSED, 23505, OAuthInvalidGrant), not an OAuth code.
    if (child !== undefined && child !== null && isSecretKey(key) && !(isError && key === 'code')) {
      walked = REDACTED;
    } else walked = walk(child, depth + 1, state);
    if (walked !== child) (copy ??= { ...object })[key] = walked;
  }
  return copy ?? object;
}

function errorFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type: error.constructor?.name ?? error.name,
    message: error.message,
    stack: error.stack,
  };
  for (const key of Object.keys(error)) if (!(key in fields)) fields[key] = (error as never)[key];
  if (error.cause !== undefined) fields.cause = error.cause;
  if (error instanceof AggregateError) fields.errors = error.errors;
  return fields;
}
