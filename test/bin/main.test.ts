import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** Runs the app (as `npm run synth` does) with a config module that changes the reference config. */
function synthWith(change: string): {
  status: number | null;
  stderr: string;
  stdout: string;
  outdir: string;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-main-'));
  const configFile = path.join(dir, 'config.ts');
  fs.writeFileSync(
    configFile,
    `import { referenceConfig } from ${JSON.stringify(path.join(root, 'environments'))};\n` +
      `const base = JSON.parse(JSON.stringify(referenceConfig));\n${change}\nexport const config = base;\n`,
  );
  const outdir = path.join(dir, 'out');
  const result = spawnSync(process.execPath, ['-r', './bin/register.js', 'bin/main.ts'], {
    cwd: root,
    env: { ...process.env, GANTRY_CONFIG: configFile, CDKTF_OUTDIR: outdir },
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout, outdir };
}

describe('bin/main.ts', () => {
  test('synthesizes the configuration it is given', () => {
    const result = synthWith('');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(fs.existsSync(path.join(result.outdir, 'stacks', 'prod-services', 'cdk.tf.json'))).toBe(true);
  });

  test.each([
    [
      'account id',
      "base.environments[0].accountId = '12345'",
      'dev.accountId: "12345" is not a 12-digit AWS account id',
    ],
    ['environment name', "base.environments[1].name = 'Staging'", 'Staging.name: "Staging" must match'],
    [
      'duplicate environment',
      'base.environments.push(base.environments[0])',
      'duplicate environment name "dev"',
    ],
    [
      'duplicate service',
      'base.environments[0].services.push(base.environments[0].services[3])',
      'duplicate service name "worker"',
    ],
    [
      'reviewers',
      "base.environments[1].approval.reviewerGroups = [{ users: ['a','b','c','d','e','f','g'] }]",
      '7 reviewers given, GitHub allows at most 6',
    ],
    [
      'production without approval',
      'base.environments[2].approval = { requiredApprovals: 0 }',
      '0 for production environment "prod"',
    ],
    ['region', "base.environments[0].region = 'eu-west-7'", 'dev.region: "eu-west-7" is not an AWS region'],
    [
      'port',
      'base.environments[0].services[0].port = 70000',
      'dev.services[0].port: 70000 is outside 1..65535',
    ],
    [
      'cpu/memory',
      'base.environments[0].services[0].memoryMiB = 512',
      'dev.services[0].memoryMiB: 512 MiB is not accepted by Fargate with cpu 512',
    ],
    [
      'health path',
      "base.environments[0].services[0].healthCheckPath = 'health'",
      'dev.services[0].healthCheckPath: "health" must start with "/"',
    ],
    [
      'latest tag',
      "base.environments[0].services[0].imageTag = 'latest'",
      'dev.services[0].imageTag: "latest" is mutable',
    ],
    [
      'repository',
      "base.organization.github.repository = 'acme'",
      'organization.github.repository: "acme" is not of the form owner/name',
    ],
  ])('prints one clear error line, no stack trace, for a bad %s', (_name, change, expected) => {
    const result = synthWith(change);
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
    expect(lines[0]).toMatch(/^gantry: config error: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(result.outdir)).toBe(false);
  });
});
