// What a scenario is given and what it gives back: figures of the baseline and the measured side over
// repetitions, and the targets checked against them.
import type { BenchStack } from './stack.js';
import type { Summary } from './stats.js';

export interface BenchOptions {
  quick: boolean;
  /** Each side runs this many times, alternating with the other (at least 5). */
  repetitions: number;
}

export interface BenchContext {
  stack: BenchStack;
  options: BenchOptions;
  log(message: string): void;
}

/** One figure: baseline and measured medians with their spread, and their ratio where it means something. */
export interface Figure {
  name: string;
  unit: string;
  baseline?: Summary;
  measured: Summary;
  /** measured ÷ baseline of the medians. */
  ratio?: number;
}

export interface Check {
  target: string;
  /** The figure compared, as printed. */
  value: string;
  met: boolean;
}

export interface ScenarioResult {
  scenario: string;
  what: string;
  baseline: string;
  figures: Figure[];
  checks: Check[];
  /** Anything else worth keeping in the JSON (sizes, settings). */
  details: Record<string, unknown>;
}

export type Scenario = (context: BenchContext) => Promise<ScenarioResult>;

export function figure(name: string, unit: string, measured: Summary, baseline?: Summary): Figure {
  return {
    name,
    unit,
    measured,
    ...(baseline ? { baseline, ratio: measured.median / baseline.median } : {}),
  };
}
