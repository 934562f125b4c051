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
    destination ?? bufferedStandardOutput(),
  );
}

/** How long a line may wait in the buffer before it is written. */
const FLUSH_EVERY_MS = 1_000;
/** Bytes gathered before a write: a busy API writes its request lines about thirty at a time. */
const WRITE_AT_BYTES = 4_096;

/**
 * Standard output, written asynchronously and in batches: lines gather until 4 KiB are waiting, or a second
 * has passed, so a busy API makes one write system call per few dozen request lines rather than one per
 * request. pino flushes what is waiting when the process exits (a fatal line included).
 */
function bufferedStandardOutput(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: WRITE_AT_BYTES });
  const timer = setInterval(() => {
    // Nothing to write, or the file descriptor not yet open: the next tick will do.
    try {
      stream.flush();
    } catch {
      /* not ready yet */
    }
  }, FLUSH_EVERY_MS);
  timer.unref();
  stream.on('close', () => clearInterval(timer));
  return stream;
}

export type { Logger };
