/** Jest runs TypeScript through swc (no type check here: `tsc --noEmit` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
  // The reliability suite's table (cases tried and passed), printed before jest's own summary.
  reporters: ['default', '<rootDir>/test/reliability/summary-reporter.js'],
};
