import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { POLICY_REPORT_FILE, type PolicyReport } from '../../../lib/policy';
import { REFERENCE_STACKS, synthApp } from '../../util';

const root = path.resolve(__dirname, '../../..');

describe('the reference configuration under the policy', () => {
  test('every stack is checked against every rule, with no violation and no suppression', () => {
    const outdir = synthApp();
    const report = JSON.parse(fs.readFileSync(path.join(outdir, POLICY_REPORT_FILE), 'utf8')) as PolicyReport;
    expect(report.stacks.map((s) => s.stack).sort()).toEqual([...REFERENCE_STACKS].sort());
    for (const stack of report.stacks) {
      expect({ stack: stack.stack, violations: stack.violations }).toEqual({
        stack: stack.stack,
        violations: [],
      });
      expect(stack.suppressions).toEqual([]);
      expect(stack.rulesPassed).toEqual(stack.rulesChecked);
      expect(stack.rulesChecked).toHaveLength(31);
    }
  });

  test('every synthesized stack records the policy in its metadata', () => {
    const outdir = synthApp();
    for (const id of REFERENCE_STACKS) {
      const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', id, 'cdk.tf.json'), 'utf8')) as {
        '//': { gantry_policy?: unknown };
      };
      expect(json['//'].gantry_policy).toEqual({ rules: 31, suppressions: [] });
    }
  });

  test('npm run synth prints the policy summary and where the report is', () => {
    const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-policy-main-')), 'out');
    const result = spawnSync(process.execPath, ['-r', './bin/register.js', 'bin/main.ts'], {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: outdir, GANTRY_CONFIG: '' },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'gantry: policy: 7 stacks x 31 rules = 217 checks: 217 passed, 0 suppressed, 0 violated',
    );
    expect(result.stdout).toContain(`gantry: policy report: ${path.join(outdir, POLICY_REPORT_FILE)}`);
    expect(fs.existsSync(path.join(outdir, POLICY_REPORT_FILE))).toBe(true);
  });

  test('a privileged runner asked for with a reason is a documented suppression, listed in the summary', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-policy-main-'));
    const configFile = path.join(dir, 'config.ts');
    fs.writeFileSync(
      configFile,
      `import { referenceConfig } from ${JSON.stringify(path.join(root, 'environments'))};\n` +
        'const base = JSON.parse(JSON.stringify(referenceConfig));\n' +
        "base.environments[0].runners.githubActions.privileged = { reason: 'builds container images with docker' };\n" +
        'export const config = base;\n',
    );
    const outdir = path.join(dir, 'out');
    const result = spawnSync(process.execPath, ['-r', './bin/register.js', 'bin/main.ts'], {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: outdir, GANTRY_CONFIG: configFile },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('216 passed, 1 suppressed, 0 violated');
    expect(result.stdout).toMatch(
      /gantry: policy: dev-foundation: GANTRY-CB-001 suppressed on aws_codebuild_project\.\S+: privileged mode: builds container images with docker/,
    );
  });
});
