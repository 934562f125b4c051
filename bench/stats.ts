// The statistics every scenario reports: medians with their spread over repetitions, percentiles of
// latency samples, and the ratio of a measured figure to its baseline from the same run.

/** The value at quantile q (0..1) of the samples, by nearest rank; NaN when there are none. */
export function quantile(samples: ArrayLike<number>, q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: ArrayLike<number>): number => quantile(samples, 0.5);

/** A figure over repetitions: its median and the spread (minimum, maximum) around it. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  return {
    median: median(samples),
    min: samples.length ? Math.min(...samples) : Number.NaN,
    max: samples.length ? Math.max(...samples) : Number.NaN,
    samples,
  };
}

/**
 * Runs the baseline (A) and the measured side (B) alternately, A B A B …, `repetitions` times each, so that
 * drift in the machine (caches warming, another process waking) touches both alike.
 */
export async function alternate<A, B>(
  repetitions: number,
  baseline: (repetition: number) => Promise<A>,
  measured: (repetition: number) => Promise<B>,
  onRepetition?: (repetition: number, a: A, b: B) => void,
): Promise<{ baseline: A[]; measured: B[] }> {
  const result = { baseline: [] as A[], measured: [] as B[] };
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const a = await baseline(repetition);
    result.baseline.push(a);
    const b = await measured(repetition);
    result.measured.push(b);
    onRepetition?.(repetition, a, b);
  }
  return result;
}

/** Latency samples (ms) of one run, reduced to what the report shows. */
export interface LatencyFigures {
  /** Requests sent, the warm-up's included. */
  sent: number;
  /** Requests answered 200 in the measured stretch. */
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export function latencyFigures(
  latencies: number[],
  errors: number,
  seconds: number,
  sent: number,
): LatencyFigures {
  return {
    sent,
    requests: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}
