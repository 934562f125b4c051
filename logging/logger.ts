// The one logger. Whatever a module logs, two layers stand between it and the line written, so that no
// credential, authorization header, OAuth code, verifier or key reaches a log: the logged object (and a child
// logger's bindings) is redacted by name at any depth, errors included (redact.ts); then the finished line,
// message and stacks included, is scrubbed of every secret value this process knows and of anything shaped
// like a token (scrub.ts). Both are paid by every line, the request line too: the walk leaves a flat object
// untouched and the scrub costs a hash look-up per character, whatever the number of known secrets.
import { pino, type Logger } from 'pino';
import { redactForLog } from './redact.js';
import { scrubText } from './scrub.js';

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'connections' },
      formatters: {
        log: (object) => redactForLog(object) as Record<string, unknown>,
        bindings: (bindings) => redactForLog(bindings) as pino.Bindings,
      },
      // redact.ts has already made errors plain objects, with their causes nested rather than concatenated.
      serializers: { err: (value: unknown) => value },
      hooks: { streamWrite: scrubText },
    },
    // Standard output, written asynchronously: lines that arrive while a write is under way go out together
    // with the next one, so a busy API does not make a blocking system call per request log line. Idle, a
    // line is written at once; pino flushes what is pending when the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
