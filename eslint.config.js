import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The feature folders: each owns its tables (its stores), its routes and its types. What may import what:
// - a feature never imports the app or the composition root that builds it, nor activities or the worker;
//   another feature's store and types, yes; another feature's routes, never (only the composition root
//   mounts routes);
// - a store knows nothing of HTTP (no api/ import);
// - api/ is the HTTP core: it maps the features' domain errors and imports nothing else of theirs;
// - activities use the features' stores, never their routes or the API;
// - workflow code imports the features' types only (the fence below).
const features = [
  '../connections/*',
  '../integrations/*',
  '../agent-access/*',
  '../dependents/*',
  '../notifications/*',
  '../connect/*',
  '../console/*',
  '../agent-policies/*',
  '../mcp/*',
];
// api/routes.js is the route registry every feature declares its routes with.
const routesOfOtherFeatures = ['../*/routes.js', '../*/*-routes.js', '!../api/routes.js'];
const outsideTheFeatures = {
  group: [
    '../api/app.js',
    '../platform/composition.js',
    '../platform/service.js',
    '../activities/*',
    '../worker/*',
    '../scripts/*',
  ],
  message: 'a feature is handed its dependencies by the composition root (platform/composition.ts)',
};
const noForeignRoutes = {
  group: routesOfOtherFeatures,
  message: "another feature's routes are mounted by the composition root, never imported",
};
// What workflow code may import as types only.
const sideEffects = [
  'node:*',
  '../activities/*',
  '../db/*',
  '../vault/*',
  '../api/*',
  'pg',
  'knex',
  ...features,
];
const restrict = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The benchmarks are a command-line report: printing is their output.
    files: ['bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: [
      'connections/**/*.ts',
      'integrations/**/*.ts',
      'agent-access/**/*.ts',
      'dependents/**/*.ts',
      'notifications/**/*.ts',
      'connect/**/*.ts',
      'console/**/*.ts',
      'agent-policies/**/*.ts',
      'mcp/**/*.ts',
    ],
    rules: restrict(outsideTheFeatures, noForeignRoutes),
  },
  {
    // The HTML kit is shared by every page (the connect pages, the callback's, the console): it knows no
    // feature and nothing of the API.
    files: ['pages/**/*.ts'],
    rules: restrict({
      group: [...features, '../api/*', ...outsideTheFeatures.group],
      message: 'pages/ is the HTML kit: features use it, it uses none of them',
    }),
  },
  {
    files: ['**/*-store.ts'],
    rules: restrict(outsideTheFeatures, noForeignRoutes, {
      group: ['../api/*', './*routes.js'],
      message: 'a store owns its tables and knows nothing of HTTP',
    }),
  },
  {
    files: ['api/**/*.ts'],
    rules: restrict({
      group: [...features, '!../connections/connection-errors.js', '../activities/*', '../worker/*'],
      message: 'api/ is the HTTP core: the features hand it their routes; it maps their domain errors only',
    }),
  },
  {
    files: ['activities/**/*.ts'],
    rules: restrict({
      group: [
        '../api/*',
        ...routesOfOtherFeatures,
        '../platform/composition.js',
        '../platform/service.js',
        '../worker/*',
      ],
      message: 'activities use the stores, never the API or its routes',
    }),
  },
  {
    // Workflow code is replayed: it must stay deterministic, so no clocks, randomness or I/O of its own.
    files: ['workflows/**/*.ts'],
    rules: restrict({
      group: sideEffects,
      allowTypeImports: true,
      message: 'workflow code is deterministic: side effects belong to activities',
    }),
  },
  {
    // The lifecycle's rules and vocabularies are plain data and functions, tested without Temporal.
    files: [
      'workflows/lifecycle-state.ts',
      'workflows/connection-status.ts',
      'workflows/failure-types.ts',
      'workflows/refresh-policy.ts',
    ],
    rules: restrict({
      group: ['@temporalio/*', ...sideEffects],
      allowTypeImports: true,
      message: 'the lifecycle rules are pure: no Temporal, no side effects',
    }),
  },
);
