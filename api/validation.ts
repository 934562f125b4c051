// The one validation of strings at the edge: every string a route accepts (bodies, queries, paths, nested
// provider configurations) is built here. Each builder's check is a regular expression (with the `u` flag, so
// lengths count code points) and the same expression, with its length bounds, is what /openapi.json
// publishes, so the document and the validation cannot disagree. No builder may accept NUL (Postgres refuses
// it) or, unless it says so, any other control character; nothing here may validate by a check the document
// cannot show. Well-formedness (no lone surrogate, which neither UTF-8 nor Postgres can carry) is checked
// for every string of every input by the registry (api/routes.ts), before these.
import { z } from 'zod';

/** Characters no text field accepts: C0 and C1 controls, and DEL. */
const unsafe = String.raw`\x00-\x1f\x7f-\x9f`;

function bounded(characters: string, min: number, max: number, message: string): z.ZodString {
  return z
    .string()
    .regex(new RegExp(`^[${characters}]{${min},${max}}$`, 'u'), message)
    .meta({ minLength: min, maxLength: max });
}

/** One line of text shown to people (a name): any character but controls. */
export function text(max: number, options: { min?: number } = {}): z.ZodString {
  const min = options.min ?? 1;
  return bounded(`^${unsafe}`, min, max, `${min} to ${max} characters, no control characters`);
}

/** Lines of text typed in a textarea (one path a line): any character but controls, line breaks (CR, LF) kept. */
export function lines(max: number, options: { min?: number } = {}): z.ZodString {
  const min = options.min ?? 1;
  return bounded(
    String.raw`^\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f`,
    min,
    max,
    `${min} to ${max} characters, no control characters but line breaks`,
  );
}

/**
 * An identifier of a fixed shape: the pattern is anchored and its quantifiers bound it to `maxLength`
 * characters, which the document states as well.
 */
export function identifier(pattern: RegExp, message: string, maxLength: number): z.ZodString {
  if (!pattern.source.startsWith('^') || !pattern.source.endsWith('$')) {
    throw new Error(`identifier patterns are anchored: ${pattern.source}`);
  }
  return z.string().regex(new RegExp(pattern.source, 'u'), message).meta({ maxLength });
}

/** An id the platform gives its own things (a task, a dependent): letters, digits and . _ : @ -, at most 200. */
export function platformId(): z.ZodString {
  return identifier(
    /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/,
    'letters, digits and . _ : @ -, at most 200',
    200,
  );
}

/** Visible ASCII: no spaces, controls or anything beyond ASCII (a path or URL to check further). */
export function visibleAscii(min: number, max: number): z.ZodString {
  return bounded(String.raw`\x21-\x7e`, min, max, `${min} to ${max} visible ASCII characters`);
}

/**
 * A credential or token that goes into an HTTP header or a form (API key, client id, client secret,
 * authorization code, state): visible ASCII only, so a line break or any other non-printable character is
 * refused before anything starts.
 */
export function credential(max: number): z.ZodString {
  return visibleAscii(1, max);
}

/** Visible ASCII and spaces (a header value's prefix, a scope separator). */
export function printable(min: number, max: number): z.ZodString {
  return bounded(String.raw`\x20-\x7e`, min, max, `${min} to ${max} printable ASCII characters`);
}

/** An OAuth scope token (RFC 6749 3.3), without commas, which some providers use as separators. */
export function scope(): z.ZodString {
  return bounded(
    String.raw`\x21\x23-\x2b\x2d-\x5b\x5d-\x7e`,
    1,
    200,
    'one scope: no spaces, commas, quotes or backslashes',
  );
}

/** An HTTP header name (a token, RFC 9110 5.6.2). */
export function headerName(): z.ZodString {
  return bounded("!#$%&'*+.^_`|~0-9A-Za-z-", 1, 100, 'an HTTP header name');
}

const decOctet = String.raw`(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`;
const ipv4 = `${decOctet}(?:\\.${decOctet}){3}`;
const h16 = '[0-9A-Fa-f]{1,4}';
const ls32 = `(?:${h16}:${h16}|${ipv4})`;
/** RFC 3986's IPv6address, which is what the WHATWG URL parser accepts between brackets. */
const ipv6 = [
  `(?:${h16}:){6}${ls32}`,
  `::(?:${h16}:){5}${ls32}`,
  `(?:${h16})?::(?:${h16}:){4}${ls32}`,
  `(?:(?:${h16}:){0,1}${h16})?::(?:${h16}:){3}${ls32}`,
  `(?:(?:${h16}:){0,2}${h16})?::(?:${h16}:){2}${ls32}`,
  `(?:(?:${h16}:){0,3}${h16})?::${h16}:${ls32}`,
  `(?:(?:${h16}:){0,4}${h16})?::${ls32}`,
  `(?:(?:${h16}:){0,5}${h16})?::${h16}`,
  `(?:(?:${h16}:){0,6}${h16})?::`,
].join('|');
const label = '(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
// The last label starts with a letter: one that is a number would make the URL parser read an IPv4 address.
const lastLabel = '(?![Xx][Nn]--)[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const hostName = `(?:${label}\\.)*${lastLabel}\\.?`;
const port = '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
// RFC 3986's path, query and fragment: pchar, or percent-encoded octets.
const pchar = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})";
const tail = `(?:/(?:${pchar}|/)*)?(?:\\?(?:${pchar}|[/?])*)?(?:#(?:${pchar}|[/?])*)?`;

/**
 * An absolute URL of the given schemes, without credentials: a host name, an IPv4 address or a bracketed IPv6
 * one, an optional port, then an RFC 3986 path, query and fragment. The pattern only admits what both RFC
 * 3986 and the WHATWG URL parser accept, so it is the whole check.
 */
export function url(options: { schemes: readonly string[]; max?: number }): z.ZodString {
  const max = options.max ?? 2048;
  const pattern = new RegExp(
    `^(?:${options.schemes.join('|')})://(?:${hostName}|${ipv4}|\\[(?:${ipv6})\\])(?::${port})?${tail}$`,
    'u',
  );
  return z
    .string()
    .max(max)
    .regex(pattern, `an ${options.schemes.join(' or ')} URL without credentials, at most ${max} characters`)
    .meta({ format: 'uri' });
}

/** A `{name}` placeholder of a URL template. */
const placeholder = String.raw`\{[A-Za-z][A-Za-z0-9_]{0,39}\}`;
const templateLabel = `(?:[A-Za-z0-9-]|${placeholder}){1,63}`;
const templatePchar = `(?:${pchar}|${placeholder})`;
const templateTail = `(?:/(?:${templatePchar}|/)*)?(?:\\?(?:${templatePchar}|[/?])*)?`;

/**
 * A URL template (a provider's `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`): a URL of the
 * given schemes whose host labels, path and query may hold `{name}` placeholders, or one that starts with a
 * placeholder standing for a whole origin (`{instance_url}/services/data`). What a placeholder may be filled
 * with is checked where it is filled (providers/templates.ts).
 */
export function urlTemplate(options: { schemes: readonly string[]; max?: number }): z.ZodString {
  const max = options.max ?? 2048;
  const pattern = new RegExp(
    `^(?:(?:${options.schemes.join('|')})://(?:(?:${templateLabel}\\.)*${templateLabel}|${ipv4}|\\[(?:${ipv6})\\])(?::${port})?|${placeholder})${templateTail}$`,
    'u',
  );
  return z
    .string()
    .max(max)
    .regex(
      pattern,
      `an ${options.schemes.join(' or ')} URL, optionally with {name} placeholders, at most ${max} characters`,
    )
    .meta({ format: 'uri-template' });
}

/** A whole number in a query string: digits only (no sign, exponent, space or empty value), within bounds. */
export function queryInteger(bounds: { min: number; max: number; default: number }) {
  return z
    .string()
    .regex(/^[0-9]{1,9}$/u, `a whole number from ${bounds.min} to ${bounds.max}`)
    .optional()
    .transform((value) => (value === undefined ? bounds.default : Number(value)))
    .pipe(z.number().int().min(bounds.min).max(bounds.max))
    .meta({
      type: 'integer',
      minimum: bounds.min,
      maximum: bounds.max,
      default: bounds.default,
      pattern: undefined,
    });
}

/** A map of string keys to values, at most `max` entries. */
export function boundedRecord<K extends z.ZodString, V extends z.ZodType>(key: K, value: V, max: number) {
  return z
    .record(key, value)
    .refine((record) => Object.keys(record).length <= max, `at most ${max} entries`)
    .meta({ maxProperties: max });
}
