// A deadline for a wait in a test: the promise's value, or a failure saying what never happened. Tests wait
// for events (a call made, a chunk read), never for a fixed time; this is what bounds each such wait.
export const DEFAULT_DEADLINE_MS = 60_000;

/** `what` names the awaited event in the failure; a function is asked at the deadline (to say what happened). */
export function withDeadline<T>(
  promise: Promise<T>,
  what: string | (() => string),
  ms = DEFAULT_DEADLINE_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${typeof what === 'string' ? what : what()}: not within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
