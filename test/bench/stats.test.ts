// The benchmark statistics (bench/stats.ts): what the report's medians, spreads and percentiles mean, and the
// A, B, A, B order every scenario runs its sides in. Nothing here is timed.
import { alternate, latencyFigures, median, quantile, summarize } from '../../bench/stats.js';

describe('benchmark statistics', () => {
  it('takes percentiles by nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect(quantile(samples, 0.5)).toBe(50);
    expect(quantile(samples, 0.99)).toBe(99);
    expect(quantile(samples, 1)).toBe(100);
    expect(quantile(samples, 0)).toBe(1);
    expect(median([3, 1, 2])).toBe(2);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('summarizes repetitions as a median with its spread', () => {
    expect(summarize([5, 1, 9, 3, 7])).toEqual({ median: 5, min: 1, max: 9, samples: [5, 1, 9, 3, 7] });
  });

  it('runs the baseline and the measured side alternately, each as often as asked', async () => {
    const order: string[] = [];
    const result = await alternate(
      5,
      async (i) => {
        order.push(`A${i}`);
        return i;
      },
      async (i) => {
        order.push(`B${i}`);
        return i * 10;
      },
    );
    expect(order).toEqual(['A0', 'B0', 'A1', 'B1', 'A2', 'B2', 'A3', 'B3', 'A4', 'B4']);
    expect(result).toEqual({ baseline: [0, 1, 2, 3, 4], measured: [0, 10, 20, 30, 40] });
  });

  it('reports throughput from the answered requests of the measured stretch only', () => {
    const figures = latencyFigures([1, 2, 3, 4], 1, 2, 10);
    expect(figures).toMatchObject({ sent: 10, requests: 4, errors: 1, perSecond: 2, p50: 2, p99: 4 });
  });
});
