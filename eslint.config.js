import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // Workflow code is replayed: it must stay deterministic, so no clocks, randomness or I/O of its own.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '../activities/*', '../db/*', '../vault/*', '../api/*', 'pg', 'knex'],
              allowTypeImports: true,
              message: 'workflow code is deterministic: side effects belong to activities',
            },
          ],
        },
      ],
    },
  },
  {
    // The lifecycle's rules and vocabularies are plain data and functions, tested without Temporal.
    files: [
      'workflows/lifecycle-state.ts',
      'workflows/connection-status.ts',
      'workflows/failure-types.ts',
      'workflows/refresh-policy.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                '@temporalio/*',
                '../activities/*',
                '../db/*',
                '../vault/*',
                '../api/*',
                'pg',
                'knex',
              ],
              allowTypeImports: true,
              message: 'the lifecycle rules are pure: no Temporal, no side effects',
            },
          ],
        },
      ],
    },
  },
);
