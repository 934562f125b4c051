// `npm run bench [-- --quick] [-- --only name,name] [-- --repetitions N] [-- --out file] [-- --profile dir]`: runs the
// scenarios on a real Temporal dev server, Postgres and KMS-API server started for the run, each against its
// baseline in the same run, prints a table and writes the results as JSON (bench/results/latest.json).
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as prettier from 'prettier';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../platform/process.js';
import type { BenchOptions, Scenario, ScenarioResult } from './scenario.js';
import { startBenchStack } from './stack.js';
import { credentialRead } from './scenarios/credential-read.js';
import { connect } from './scenarios/connect.js';
import { refreshStorm } from './scenarios/refresh-storm.js';
import { idleFleet } from './scenarios/idle-fleet.js';
import { readyFanOut } from './scenarios/ready-fan-out.js';
import { longLife } from './scenarios/long-life.js';
import { mcpCall } from './scenarios/mcp-call.js';
import { renderTable } from './report.js';

const scenarios: Record<string, Scenario> = {
  'credential-read': credentialRead,
  connect,
  'refresh-storm': refreshStorm,
  'idle-fleet': idleFleet,
  'ready-fan-out': readyFanOut,
  'mcp-call': mcpCall,
  'long-life': longLife,
};

const backgroundScenarios = new Set(['long-life']);
const order = [
  'credential read',
  'connect',
  'refresh storm',
  'idle fleet',
  'ready fan-out',
  'mcp call',
  'long life',
];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    repetitions: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
  },
});
const only = values.only ? values.only.split(',').map((name) => name.trim()) : Object.keys(scenarios);
for (const name of only) {
  if (!scenarios[name]) {
    console.error(`unknown scenario ${name}; the scenarios are ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
}
const repetitions = Number(values.repetitions ?? 5);
if (!Number.isInteger(repetitions) || repetitions < 5) {
  console.error('--repetitions must be a whole number of at least 5: each side runs at least five times');
  process.exit(2);
}
const options: BenchOptions = { quick: values.quick, repetitions };
const out = path.resolve(values.out ?? path.join(projectRoot, 'bench/results/latest.json'));

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
};
/** The commit measured, and whether the working tree differed from it. */
const measured = (() => {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), uncommittedChanges: git('status', '--porcelain') !== '' };
  } catch {
    return { commit: 'unknown', uncommittedChanges: true };
  }
})();
const began = new Date();
const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
log(`bench: ${only.join(', ')}${options.quick ? ' (quick)' : ''}, ${repetitions} repetitions per side`);
log('starting Temporal dev server, Postgres and local-kms');
const stack = await startBenchStack({
  profileDir: values.profile ? path.resolve(values.profile) : undefined,
});
// Ctrl-C (or a kill) stops every process the run started, not only this one.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every process this run started`);
    void stack.stop().finally(() => process.exit(130));
  });
}
const results: ScenarioResult[] = [];
const failures: Array<{ scenario: string; error: string }> = [];
const runScenario = async (name: string) => {
  log(`— ${name}`);
  try {
    const result = await scenarios[name]!({ stack, options, log: (m) => log(`  ${name}: ${m}`) });
    results.push(result);
    console.log(renderTable([result]));
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    failures.push({ scenario: name, error: (error as Error).message });
  }
};
try {
  // Long life is a thousand refreshes a second or more apart (Temporal fires no timer sooner than a second
  // after it is set): about one workflow task and one activity a second. It runs beside the others, which
  // it barely loads, instead of adding a quarter of an hour after them.
  // It starts after credential read, which counts every row written and every KMS call in the database.
  const beside = only.length > 1 ? only.filter((name) => backgroundScenarios.has(name)) : [];
  const inTurn = only.filter((name) => !beside.includes(name));
  if (inTurn[0] === 'credential-read') await runScenario(inTurn.shift()!);
  const running = beside.map(runScenario);
  for (const name of inTurn) await runScenario(name);
  await Promise.all(running);
} finally {
  await stack.stop();
}
results.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));

const report = {
  startedAt: began.toISOString(),
  finishedAt: new Date().toISOString(),
  quick: options.quick,
  repetitions,
  ...measured,
  machine,
  results,
  failures,
};
await mkdir(path.dirname(out), { recursive: true });
// Written as the repository's formatter would, so that a committed result passes `npm run lint` as it is.
const json = JSON.stringify(report, null, 2);
await writeFile(out, await prettier.format(json, { ...(await prettier.resolveConfig(out)), filepath: out }));
console.log('\n' + renderTable(results));
console.log(
  `\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
    `results in ${path.relative(process.cwd(), out)}`,
);
if (failures.length) {
  console.error(`scenarios that could not run: ${failures.map((f) => f.scenario).join(', ')}`);
  process.exit(1);
}
process.exit(0);
