// The one logger. Redaction is configured here, once, so that no credential, authorization header, OAuth
// code or PKCE verifier reaches a log line, whichever module logs the object that carries it.
import { pino, type Logger } from 'pino';

const secretKeys = [
  'authorization',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'apiKey',
  'api_key',
  'clientSecret',
  'client_secret',
  'code',
  'codeVerifier',
  'code_verifier',
  'password',
  'secret',
  'token',
  'plaintext',
];

export const redactPaths = [
  ...secretKeys,
  ...secretKeys.map((key) => `*.${key}`),
  ...secretKeys.map((key) => `*.*.${key}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'connections' },
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    // Standard output, written asynchronously: lines that arrive while a write is under way go out together
    // with the next one, so a busy API does not make a blocking system call per request log line. Idle, a
    // line is written at once; pino flushes what is pending when the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
