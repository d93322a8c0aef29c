/**
 * Jest transpiles with SWC (no type-checking); `npm test` runs `tsc --noEmit` first.
 *
 * Four projects, one worker per core:
 * - emulator: applies against moto's server (test/emulator/harness.ts);
 * - terraform: real Terraform offline (test/terraform-harness.ts); the global setup plans the
 *   reference stacks once, for every suite that reads them (test/plan-cache.ts);
 * - database: the ledger on PGlite, a PostgreSQL server cluster and the Data API;
 * - unit: everything else.
 * A file belongs to the project of the harness it uses (read from its source below), so a new suite
 * needs no entry here. The sequencer starts the longest projects first (test/sequencer.js).
 * Tests that need Terraform or moto run whenever those are present, and fail in CI when they are not.
 * @type {import('jest').Config}
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Every `*.test.ts` under test/, relative to the repository. */
function testFiles(dir = 'test') {
  return fs.readdirSync(path.join(__dirname, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(rel);
    return entry.name.endsWith('.test.ts') ? [rel] : [];
  });
}

/** The project of a test file, by the harness it uses. */
function projectOf(file) {
  const source = fs.readFileSync(path.join(__dirname, file), 'utf8');
  if (/\bdescribeWithEmulator\b/.test(source)) return 'emulator';
  if (/\bdescribeWithTerraform\b/.test(source)) return 'terraform';
  // The ledger suites: they open a ledger (PGlite, a server cluster) or drive the Data API's.
  if (/\bdescribeLedger\w*\(|\/pg-cluster'|\bopenLedger\(|\bRdsDataDriver\b/.test(source)) return 'database';
  return 'unit';
}

const common = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  // The package by its name, as a consumer imports it (examples/); test/consumer/ installs the real tarball.
  moduleNameMapper: { '^gantry$': '<rootDir>/lib/index.ts', '^gantry/stacks$': '<rootDir>/stacks/index.ts' },
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};

const byProject = { emulator: [], terraform: [], database: [], unit: [] };
for (const file of testFiles()) byProject[projectOf(file)].push(`<rootDir>/${file}`);

module.exports = {
  // Both cores: Jest's default on two is one worker (cores - 1). GANTRY_TEST_WORKERS overrides.
  maxWorkers: Number(process.env.GANTRY_TEST_WORKERS ?? Math.max(2, os.availableParallelism?.() ?? 2)),
  testSequencer: '<rootDir>/test/sequencer.js',
  // A global option: in a project's config Jest ignores it.
  testTimeout: 120000,
  projects: Object.entries(byProject).map(([name, files]) => ({
    ...common,
    displayName: name,
    testMatch: files,
    ...(name === 'terraform' ? { globalSetup: '<rootDir>/test/global-setup.terraform.ts' } : {}),
  })),
};
