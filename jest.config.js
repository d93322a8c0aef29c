/**
 * Jest transpiles with SWC (no type-checking); `npm test` runs `tsc --noEmit` first.
 * Tests that need Terraform run whenever `terraform` is on PATH (see test/terraform-harness.ts).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  // The package by its name, as a consumer imports it (examples/); test/consumer/ installs the real tarball.
  moduleNameMapper: { '^gantry$': '<rootDir>/lib/index.ts', '^gantry/stacks$': '<rootDir>/stacks/index.ts' },
  testTimeout: 120000,
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
