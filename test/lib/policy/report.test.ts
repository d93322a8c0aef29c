import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack } from 'cdktf';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Policy, POLICY_REPORT_FILE, type PolicyReport } from '../../../lib/policy';
import { ACCOUNT, compliantRepository, policyStack, REGION } from './fixtures';

// When the report is written: once, after synth has checked every stack; and at once when a stack
// fails, since synth stops there.

function report(app: App): PolicyReport {
  return JSON.parse(fs.readFileSync(path.join(app.outdir, POLICY_REPORT_FILE), 'utf8')) as PolicyReport;
}

function secondStack(app: App, build: (stack: TerraformStack) => void): TerraformStack {
  const stack = new TerraformStack(app, 'second');
  new AwsProvider(stack, 'aws', { region: REGION, allowedAccountIds: [ACCOUNT] });
  build(stack);
  Policy.enforce(stack);
  return stack;
}

describe('gantry-policy-report.json', () => {
  test('is written once, when synth has checked every stack', () => {
    const first = policyStack((s) => compliantRepository(s));
    const app = App.of(first);
    secondStack(app, (s) => compliantRepository(s, 'other'));
    const built = jest.spyOn(Policy, 'reportOf'); // each write builds the report
    app.synth();
    expect(built).toHaveBeenCalledTimes(1);
    built.mockRestore();
    expect(report(app).stacks.map((s) => [s.stack, s.violations.length])).toEqual([
      ['second', 0],
      ['test', 0],
    ]);
  });

  test('is written when a stack fails, with the stacks checked so far and the violations', () => {
    const first = policyStack((s) => compliantRepository(s));
    const app = App.of(first);
    secondStack(app, (s) => compliantRepository(s, 'mutable', { imageTagMutability: 'MUTABLE' }));
    expect(() => app.synth()).toThrow(/GANTRY-ECR-001/);
    const written = report(app);
    expect(written.stacks.map((s) => s.stack)).toEqual(['second', 'test']);
    expect(written.stacks[0].violations).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ECR-001', address: 'aws_ecr_repository.mutable' }),
    ]);
  });

  test('is not written for stacks enforced with writeReport: false', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-policy-')) });
    const stack = new TerraformStack(app, 'quiet');
    Policy.enforce(stack, { writeReport: false });
    app.synth();
    expect(fs.existsSync(path.join(app.outdir, POLICY_REPORT_FILE))).toBe(false);
    expect(Policy.reportOf(app)?.stacks.map((s) => s.stack)).toEqual(['quiet']);
  });
});
