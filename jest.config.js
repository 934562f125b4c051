// Tests run as native ES modules (NODE_OPTIONS=--experimental-vm-modules, set by `npm test`), so the ESM-only
// oidc-provider and oauth4webapi load as they do in production. Real services are started once for the run
// by test/global-setup.js.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 120_000,
  maxWorkers: 2,
};
