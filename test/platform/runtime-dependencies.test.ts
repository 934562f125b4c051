// What `npm ci --omit=dev` installs is what production imports: every module of the production build
// (tsconfig.build.json, which leaves out test/ and bench/) imports only Node's own modules, the project's own
// files and packages in package.json's "dependencies"; and every runtime dependency is imported by one.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../platform/process.js';

const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function buildModules(): string[] {
  const configFile = path.join(projectRoot, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configFile,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`${configFile} could not be read`);
  const raw = parsed.raw as { include: string[]; exclude: string[] };
  // CommonJS modules tsc does not compile (the build copies them) are part of the runtime too.
  const copied = ts.sys.readDirectory(projectRoot, ['.cjs'], raw.exclude, raw.include);
  return [...parsed.fileNames, ...copied];
}

/** The packages a module loads when it runs: type-only imports are erased first, as the compiler does. */
function packagesImportedBy(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const code = file.endsWith('.ts')
    ? ts.transpileModule(source, {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.NodeNext, verbatimModuleSyntax: true },
      }).outputText
    : source;
  return ts
    .preProcessFile(code, true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('/'))
    .filter((specifier) => !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

describe('runtime dependencies', () => {
  const imports = buildModules().map((file) => ({
    file: path.relative(projectRoot, file),
    packages: packagesImportedBy(file),
  }));

  it('reads the modules of the production build, and only those', () => {
    const files = imports.map(({ file }) => file);
    expect(files).toEqual(expect.arrayContaining(['scripts/serve.ts', 'temporal/failure-converter.cjs']));
    expect(files.filter((file) => /^(test|bench)\//.test(file) || file === 'scripts/build.ts')).toEqual([]);
  });

  it('has every package a runtime module imports in "dependencies"', () => {
    const missing = imports.flatMap(({ file, packages }) =>
      packages.filter((name) => !(name in manifest.dependencies)).map((name) => `${file} imports ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no "dependencies" that no runtime module imports', () => {
    const imported = new Set(imports.flatMap(({ packages }) => packages));
    expect(Object.keys(manifest.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });
});
