import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceConfig } from '../../environments';
import type { GantryConfig } from '../../lib/config';
import { detectChanges, renderChanges, sourcePathPattern } from '../../lib/runtime/changes';
import { RuntimeError } from '../../lib/runtime/errors';
import { openLedger, type Ledger } from '../../lib/runtime/ledger';
import { APP_MANIFEST_FILE, APP_MANIFEST_VERSION } from '../../lib/core/app-manifest';
import { gantry, tempDir } from './helpers';

/** The reference configuration with source paths: api and worker built here, the admin pair elsewhere. */
const SOURCE_PATHS: Record<string, string[]> = {
  api: ['services/api', 'libs/shared/**/*.ts'],
  worker: ['services/worker'],
};
const config: GantryConfig = {
  ...referenceConfig,
  environments: referenceConfig.environments.map((env) => ({
    ...env,
    services: env.services.map((s) =>
      SOURCE_PATHS[s.name] ? { ...s, sourcePaths: SOURCE_PATHS[s.name] } : s,
    ),
  })),
};

const repo = tempDir('changed-repo');
// What `createStacks` writes beside the stacks at synth (the app's configuration), without the synth.
const outdir = tempDir('changed-app');
fs.writeFileSync(
  path.join(outdir, APP_MANIFEST_FILE),
  JSON.stringify({ version: APP_MANIFEST_VERSION, config, stacks: [] }),
);

const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
    cwd: repo,
    encoding: 'utf8',
  }).trim();

/** Writes files and commits them; returns the commit. */
function commit(message: string, files: Record<string, string>): string {
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    fs.writeFileSync(path.join(repo, file), text);
  }
  git('add', '-A');
  git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
}

git('init', '-q', '-b', 'main');
const first = commit('initial', {
  'services/api/main.ts': 'v1',
  'services/worker/main.py': 'v1',
  'libs/shared/util/strings.ts': 'v1',
  'docs/guide.md': 'v1',
  '.github/workflows/ci.yml': 'v1',
});
const services = (name: string) => config.environments.find((e) => e.name === name)!.services;

describe('detectChanges on a real git history, against ledger rows', () => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await openLedger('pglite:memory');
    await ledger.migrate();
  });
  afterAll(() => ledger.close());

  const record = async (stack: string, commitSha: string, status: 'applied' | 'failed') => {
    const run = await ledger.startRun({
      stack,
      action: 'apply',
      environment: stack.split('-')[0],
      commitSha,
    });
    await ledger.finishRun(run.id, { status, exitCode: status === 'applied' ? 0 : 1 });
  };
  const detect = (environment: string, head = 'HEAD') =>
    detectChanges({ ledger, environment, services: services(environment), cwd: repo, head });

  test('with nothing applied yet, every service with source paths is changed (the admin pair is built elsewhere)', async () => {
    const report = await detect('dev');
    expect(report).toMatchObject({
      environment: 'dev',
      baseCommit: null,
      headCommit: first,
      services: ['api', 'worker'],
    });
    expect(report.include[0]).toEqual({
      service: 'api',
      context: 'services/api',
      dockerfile: 'services/api/Dockerfile',
      files: ['libs/shared/util/strings.ts', 'services/api/main.ts'],
    });
  });

  test('a change to workflows and docs alone deploys nothing', async () => {
    await record('dev-services', first, 'applied');
    const head = commit('docs and ci', {
      'docs/guide.md': 'v2',
      '.github/workflows/ci.yml': 'v2',
      'README.md': 'x',
    });
    const report = await detect('dev');
    expect(report).toMatchObject({
      baseCommit: first,
      headCommit: head,
      changedFiles: 3,
      services: [],
      include: [],
    });
    expect(renderChanges(report)).toContain('changed: no service changed, nothing to build or deploy');
  });

  test('a change under a source path (or a matching glob) names that service only', async () => {
    commit('shared lib', { 'libs/shared/util/strings.ts': 'v2', 'libs/shared/README.md': 'not ts' });
    expect((await detect('dev')).services).toEqual(['api']);
    commit('worker', { 'services/worker/main.py': 'v2' });
    expect((await detect('dev')).services).toEqual(['api', 'worker']);
  });

  test('the base is the last applied commit of that environment: a failed apply moves nothing, another environment counts apart', async () => {
    const head = git('rev-parse', 'HEAD');
    await record('dev-services', head, 'failed');
    expect(await detect('dev')).toMatchObject({ baseCommit: first, services: ['api', 'worker'] });
    await record('dev-services', head, 'applied');
    expect(await detect('dev')).toMatchObject({ baseCommit: head, services: [] });
    await record('staging-services', first, 'applied');
    expect((await detect('staging')).services).toEqual(['api', 'worker']);
    expect(await detect('staging', first)).toMatchObject({
      headCommit: first,
      changedFiles: 0,
      services: [],
    });
  });

  test('a base commit the clone does not have is refused (exit 3): what changed cannot be established', async () => {
    await record('prod-services', 'f'.repeat(40), 'applied');
    const error = (await detect('prod').catch((e: unknown) => e)) as RuntimeError;
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('is not a commit of the repository');
    expect(error.message).toContain('fetch-depth: 0');
  });
});

describe('gantry changed', () => {
  test("--json prints the matrix of the environment, from the app's configuration and the ledger", async () => {
    // Nothing applied in this (empty) ledger: every service with source paths; the rows are tested above.
    const env = { GANTRY_LEDGER_URL: 'pglite:memory' };
    const args = ['--no-synth', '--outdir', outdir];
    const result = await gantry(['changed', 'dev', '--json', ...args], env, repo);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      environment: 'dev',
      baseCommit: null,
      headCommit: git('rev-parse', 'HEAD'),
      services: ['api', 'worker'],
    });
    const unknown = await gantry(['changed', 'qa', ...args], env, repo);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('environment "qa" is not configured, allowed: "dev", "staging", "prod"');
  });
});

describe('sourcePathPattern', () => {
  test.each([
    ['services/api', 'services/api/src/main.ts', true],
    ['services/api', 'services/api', true],
    ['services/api', 'services/api-gateway/main.ts', false],
    ['services/*/Dockerfile', 'services/api/Dockerfile', true],
    ['services/*/Dockerfile', 'services/api/sub/Dockerfile', false],
    ['libs/**/*.ts', 'libs/a/b/c.ts', true],
    ['libs/**/*.ts', 'libs/c.ts', true],
    ['libs/**/*.ts', 'libs/a/b/c.md', false],
    ['a.b', 'aXb', false],
  ])('%s matches %s: %s', (pattern, file, expected) => {
    expect(sourcePathPattern(pattern).test(file)).toBe(expected);
  });
});
