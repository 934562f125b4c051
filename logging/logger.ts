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
    destination,
  );
}

export type { Logger };
