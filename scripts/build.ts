// `npm run build [-- --out-dir DIR]`: the production build. Compiles the service to JavaScript
// (tsconfig.build.json, without test/ and bench/) into dist/, copies what tsc does not, and bundles the
// workflows once, so that production workers load a prebuilt bundle instead of running webpack at start. The
// bundle is made from the same sources and options as the workers of `npm start` and the tests bundle at
// start. A build tool: nothing at runtime may import it (it is left out of the build itself).
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../platform/process.js';
import { failureConverterPath } from '../temporal/data-converter.js';
import { bundlerOptions, defaultWorkflowsPath, WORKFLOW_BUNDLE } from '../worker/create-worker.js';

/** Files tsc does not emit, copied as they are (relative to the project and to the output alike). */
const copied = ['temporal/failure-converter.cjs'];

const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } } });
const outDir = path.resolve(values['out-dir']);
// The output folder is emptied first: never the project itself or a folder holding it.
if (!path.relative(outDir, projectRoot).startsWith('..')) {
  console.error(`--out-dir ${outDir} holds the project: choose a folder of its own`);
  process.exit(2);
}

await rm(outDir, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
  cwd: projectRoot,
  stdio: 'inherit',
});
for (const file of copied) {
  await mkdir(path.dirname(path.join(outDir, file)), { recursive: true });
  await copyFile(path.join(projectRoot, file), path.join(outDir, file));
}
const { code } = await bundleWorkflowCode({
  logger: new DefaultLogger('WARN'),
  workflowsPath: defaultWorkflowsPath,
  failureConverterPath,
  ...bundlerOptions,
});
await writeFile(path.join(outDir, WORKFLOW_BUNDLE), code);
console.warn(`built ${path.relative(process.cwd(), outDir) || '.'}`);
