// The printed form of the results: Markdown tables (figures, then targets), so the README can show them as
// they came out.
import type { ScenarioResult } from './scenario.js';
import type { Summary } from './stats.js';

function number(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function summary(value: Summary | undefined, unit: string): string {
  if (!value) return '';
  const suffix = unit && unit !== '/s' ? ` ${unit}` : unit;
  if (value.samples.length <= 1) return `${number(value.median)}${suffix}`;
  return `${number(value.median)}${suffix} (${number(value.min)}–${number(value.max)})`;
}

export function renderTable(results: ScenarioResult[]): string {
  const lines = [
    '| scenario | figure | baseline, median (min–max) | measured, median (min–max) | ratio |',
    '|---|---|---|---|---|',
  ];
  for (const result of results) {
    for (const f of result.figures) {
      lines.push(
        `| ${result.scenario} | ${f.name} | ${summary(f.baseline, f.unit)} | ${summary(f.measured, f.unit)} | ` +
          `${f.ratio === undefined ? '' : number(f.ratio) + ' ×'} |`,
      );
    }
  }
  lines.push('', '| scenario | target | figure | met |', '|---|---|---|---|');
  for (const result of results) {
    for (const check of result.checks) {
      lines.push(
        `| ${result.scenario} | ${check.target} | ${check.value} | ${check.met ? 'yes' : '**no**'} |`,
      );
    }
  }
  return lines.join('\n');
}
