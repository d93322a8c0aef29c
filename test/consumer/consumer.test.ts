/**
 * Gantry as another team installs it: the package is packed (its `prepack` builds it), the tarball is
 * installed into a fresh CDKTF app outside this repository with `npm ci --offline --omit=dev` (from the
 * npm cache, runtime dependencies only), and that app, with its own configuration, synthesizes, passes
 * the policy and `terraform validate`, type-checks against the package's declarations, and runs the
 * `gantry` CLI, whose approval check holds for the app's own `production` environment with no
 * configuration module anywhere.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithTerraform, OfflineTerraform } from '../terraform-harness';
import { consumerLock } from './consumer-lock';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'consumer-app');
const PLAN_FIXTURE = path.join(
  REPO,
  'test',
  'fixtures',
  'terraform-plans',
  'tf1.11.4-aws5.100.0__create__plan.json',
);
const APP_DEPENDENCIES = ['cdktf', 'constructs', '@cdktf/provider-aws', '@cdktf/provider-github'];

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const result: SpawnSyncReturns<string> = spawnSync(command, [...args], {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function mustRun(command: string, args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const result = run(command, args, cwd, env);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status} in ${cwd}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

describeWithTerraform('Gantry installed from its tarball into another CDKTF app', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-consumer-'));
  const app = path.join(work, 'app');
  let pack: PackResult;
  const gantryBin = () => path.join(app, 'node_modules', '.bin', 'gantry');
  /** A clean environment: no CI or Gantry variables of the test's own, no GANTRY_CONFIG. */
  const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const kept = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(GITHUB_|GANTRY_|CODEBUILD_|TF_VAR_|CDKTF_)/.test(k)),
    );
    return { ...kept, ...extra };
  };

  beforeAll(() => {
    // `npm pack` runs `prepack` (the build) and reports what the tarball holds.
    const packed = mustRun('npm', ['pack', '--json', '--pack-destination', work], REPO);
    pack = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as PackResult[])[0];
    fs.cpSync(FIXTURE, app, { recursive: true });
    fs.renameSync(path.join(work, pack.filename), path.join(app, pack.filename));
    const { packageJson, lock } = consumerLock({
      repositoryLock: path.join(REPO, 'package-lock.json'),
      dependencies: APP_DEPENDENCIES,
      tarball: path.join(app, pack.filename),
      tarballName: pack.filename,
      gantryPackage: JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')),
    });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify(packageJson, null, 2));
    fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
    mustRun('npm', ['ci', '--offline', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], app);
  }, 600_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('the tarball holds the compiled library, its declarations, the stack factory and the CLI, no sources or tests', () => {
    const files = pack.files.map((f) => f.path);
    for (const file of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/stacks/index.js',
      'dist/stacks/index.d.ts',
      'dist/bin/gantry.js',
      'bin/gantry.js',
      'docs/security.md',
      'README.md',
      'package.json',
    ]) {
      expect(files).toContain(file);
    }
    const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(sources).toEqual([]);
    expect(files.filter((f) => /^(test|environments|bench|examples|dist\/environments)\//.test(f))).toEqual(
      [],
    );
    expect(files.filter((f) => f.startsWith('dist/bin/') && !f.startsWith('dist/bin/gantry.'))).toEqual([]);
  });

  test('installs with runtime dependencies only: no build tool reaches the app', () => {
    for (const dev of ['@swc/core', 'typescript', 'jest', 'cdktf-cli']) {
      expect(fs.existsSync(path.join(app, 'node_modules', dev))).toBe(false);
    }
    expect(fs.existsSync(path.join(app, 'node_modules', 'gantry', 'dist', 'lib', 'index.js'))).toBe(true);
  });

  describe('the app', () => {
    let synthesized: ReturnType<typeof run>;
    const outdir = () => path.join(app, 'cdktf.out');
    const stackJson = (stack: string) =>
      JSON.parse(fs.readFileSync(path.join(outdir(), 'stacks', stack, 'cdk.tf.json'), 'utf8')) as {
        '//': { gantry: Record<string, unknown> };
      };

    beforeAll(() => {
      synthesized = run(process.execPath, ['main.js'], app, cleanEnv());
    });

    test('synthesizes its own stacks from its own configuration', () => {
      expect(synthesized).toMatchObject({ status: 0 });
      expect(fs.readdirSync(path.join(outdir(), 'stacks')).sort()).toEqual([
        'github',
        'production-foundation',
        'production-services',
      ]);
      expect(stackJson('production-services')['//'].gantry).toMatchObject({
        stack: 'production-services',
        repository: 'globex/shop',
        environment: 'production',
        requiredApprovals: 2,
        approvalEnvironments: ['production-approval', 'production'],
        services: [
          { name: 'storefront', imageTagVariable: 'image_tag_storefront' },
          { name: 'mailer', imageTagVariable: 'image_tag_mailer' },
        ],
      });
    });

    test('passes the policy: every stack checked, nothing violated or suppressed', () => {
      const report = JSON.parse(
        fs.readFileSync(path.join(outdir(), 'gantry-policy-report.json'), 'utf8'),
      ) as {
        stacks: Array<{
          stack: string;
          violations: unknown[];
          suppressions: unknown[];
          rulesPassed: string[];
        }>;
      };
      expect(report.stacks.map((s) => s.stack)).toEqual([
        'github',
        'production-foundation',
        'production-services',
      ]);
      for (const stack of report.stacks) {
        expect(stack.violations).toEqual([]);
        expect(stack.suppressions).toEqual([]);
        expect(stack.rulesPassed.length).toBeGreaterThan(20);
      }
    });

    test.each(['production-foundation', 'production-services'])(
      '%s passes offline terraform validate',
      (stack) => {
        const tf = OfflineTerraform.prepare(path.join(outdir(), 'stacks', stack));
        try {
          tf.init();
          expect(tf.validate().stdout).toContain('The configuration is valid');
        } finally {
          tf.dispose();
        }
      },
    );

    test("type-checks against the package's declarations", () => {
      fs.writeFileSync(
        path.join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'commonjs',
            moduleResolution: 'node',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [path.join(REPO, 'node_modules', '@types')],
          },
          files: ['typed.ts'],
        }),
      );
      const tsc = run(
        process.execPath,
        [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
        app,
      );
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
    });

    test('importing the package loads no ledger backend and no AWS SDK client', () => {
      // What only the commands that use them load: PGlite, pg, the Data API and ECS clients.
      const script =
        "require('gantry'); const loaded = Object.keys(require.cache).filter((m) => " +
        '/node_modules\\/(@electric-sql\\/pglite|pg|@aws-sdk\\/[^/]+)\\//.test(m)); ' +
        'process.stdout.write(JSON.stringify(loaded));';
      const result = run(process.execPath, ['-e', script], app, cleanEnv());
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual([]);
    });

    test('runs `npx gantry --help`', () => {
      const help = run('npx', ['--no', '--', 'gantry', '--help'], app, cleanEnv());
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Usage: gantry');
      expect(help.stdout).toMatch(/plan \[options\] <stack>/);
    });

    test('`gantry show` summarizes a plan, and refuses a file that is not one', () => {
      const shown = run(gantryBin(), ['show', PLAN_FIXTURE], app, cleanEnv());
      expect(shown.status).toBe(0);
      expect(shown.stdout).toMatch(/3 to create/);
      const notAPlan = run(gantryBin(), ['show', 'package.json'], app, cleanEnv());
      expect(notAPlan.status).toBe(1);
      expect(notAPlan.stderr.trim().split('\n')).toHaveLength(1);
    });

    test("`gantry apply` of production-services is refused without the app's two approvals", () => {
      const tf = OfflineTerraform.prepare(path.join(outdir(), 'stacks', 'production-services'));
      const env = cleanEnv({
        ...tf.env,
        GANTRY_LEDGER_URL: `pglite:${path.join(work, 'ledger')}`,
        GANTRY_COMMIT_SHA: 'c'.repeat(40),
        GANTRY_ACTOR: 'mallory',
      });
      try {
        const plan = run(gantryBin(), ['plan', 'production-services', '--dir', tf.dir], app, env);
        expect(plan.stderr).toMatch(/plan production-services: planned/);
        expect(plan.status).toBe(0);
        const apply = run(gantryBin(), ['apply', 'production-services', '--dir', tf.dir], app, env);
        expect(apply.status).toBe(3);
        expect(apply.stderr).toMatch(/apply refused: environment production requires 2 distinct approvers/);
        const runs = run(gantryBin(), ['runs', '--json', '--stack', 'production-services'], app, env);
        const [latest] = JSON.parse(runs.stdout) as Array<{
          action: string;
          status: string;
          environment: string;
        }>;
        expect(latest).toMatchObject({ action: 'apply', status: 'refused', environment: 'production' });
      } finally {
        tf.dispose();
      }
    });
  });
});
