import { CodebuildProject } from '@cdktf/provider-aws/lib/codebuild-project';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GantryConfigError } from '../../../lib/core/errors';
import {
  checkStack,
  Policy,
  POLICY_REPORT_FILE,
  type PolicyReport,
  type TerraformJson,
} from '../../../lib/policy';
import {
  applyRole,
  githubTrust,
  subject,
  compliantProject,
  compliantRepository,
  policyStack,
  synthError,
  violationLine,
  violations,
} from './fixtures';

describe('Policy.enforce', () => {
  test('reports every violation of a stack together, one line each, without a stack trace', () => {
    const stack = policyStack((s) => {
      compliantRepository(s, 'a', { imageTagMutability: 'MUTABLE' });
      compliantRepository(s, 'b', { lifecycle: { preventDestroy: false } });
    });
    const message = synthError(stack);
    expect(message).toMatch(/^Validation failed with the following errors:/);
    expect(message).toMatch(violationLine('GANTRY-ECR-001', 'aws_ecr_repository.a'));
    expect(message).toMatch(violationLine('GANTRY-TF-002', 'aws_ecr_repository.b'));
    expect(message).not.toMatch(/\n\s+at /);
  });

  test('App.synth fails and writes no cdk.tf.json for the failing stack', () => {
    const stack = policyStack((s) => compliantRepository(s, 'repo', { imageTagMutability: 'MUTABLE' }));
    const app = App.of(stack);
    expect(() => app.synth()).toThrow(violationLine('GANTRY-ECR-001', 'aws_ecr_repository.repo'));
    expect(fs.existsSync(path.join(app.outdir, 'stacks', 'test', 'cdk.tf.json'))).toBe(false);
  });

  test('is idempotent', () => {
    const stack = policyStack((s) => compliantRepository(s, 'repo', { imageTagMutability: 'MUTABLE' }));
    Policy.enforce(stack);
    expect(synthError(stack).match(/GANTRY-ECR-001/g)).toHaveLength(1);
  });
});

describe('escape hatches are checked too (the final JSON, after overrides)', () => {
  test('addOverride setting image_tag_mutability to MUTABLE on a compliant repository', () => {
    const clean = policyStack((s) => compliantRepository(s));
    expect(violations(clean)).toEqual([]);
    const stack = policyStack((s) => compliantRepository(s).addOverride('image_tag_mutability', 'MUTABLE'));
    expect(synthError(stack)).toMatch(violationLine('GANTRY-ECR-001', 'aws_ecr_repository.repo'));
  });

  test('addOverride adding "*" to the sub list of a trust policy', () => {
    const stack = policyStack((s) => {
      const role = applyRole(s);
      const widened = githubTrust({ StringEquals: subject(['repo:acme/platform:environment:prod', '*']) });
      role.addOverride('assume_role_policy', widened);
    });
    const message = synthError(stack);
    expect(message).toMatch(violationLine('GANTRY-IAM-003', 'aws_iam_role.apply'));
    expect(message).toMatch(violationLine('GANTRY-IAM-004', 'aws_iam_role.apply'));
  });

  test('removing the gantry:role tag of an apply role does not relax its trust rules', () => {
    const stack = policyStack((s) => {
      const role = applyRole(s, 'apply', 'repo:acme/platform:pull_request');
      role.addOverride('tags', undefined);
    });
    const json = Policy.finalJson(stack) as {
      resource: { aws_iam_role: { apply: Record<string, unknown> } };
    };
    expect(json.resource.aws_iam_role.apply.tags).toBeUndefined();
    expect(synthError(stack)).toMatch(violationLine('GANTRY-IAM-004', 'aws_iam_role.apply'));
  });

  test('a stack-level override is seen as well', () => {
    const stack = policyStack((s) => {
      compliantRepository(s);
      s.addOverride('resource.aws_ecr_repository.repo.image_scanning_configuration.scan_on_push', false);
    });
    expect(synthError(stack)).toMatch(violationLine('GANTRY-ECR-001', 'aws_ecr_repository.repo'));
  });
});

describe('Policy.suppress', () => {
  const reason =
    'Docker-in-Docker builds the service images; the runner is ephemeral and in a private subnet';

  function privilegedProject(s: TerraformStack): CodebuildProject {
    return compliantProject(s, {
      environment: {
        computeType: 'BUILD_GENERAL1_SMALL',
        image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
        type: 'LINUX_CONTAINER',
        privilegedMode: true,
      },
    });
  }

  test('a suppression with a reason lets synth pass and is recorded in the stack metadata', () => {
    const stack = policyStack((s) => Policy.suppress(privilegedProject(s), 'GANTRY-CB-001', reason));
    expect(synthError(stack)).toBe('');
    const json = Policy.finalJson(stack) as { '//': { gantry_policy: unknown } };
    expect(json['//'].gantry_policy).toEqual({
      rules: 31,
      suppressions: [{ ruleId: 'GANTRY-CB-001', address: 'aws_codebuild_project.project', reason }],
    });
    const result = Policy.check(stack);
    expect(result.violations).toEqual([]);
    expect(result.rulesPassed).not.toContain('GANTRY-CB-001');
    expect(result.suppressions).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-CB-001',
        address: 'aws_codebuild_project.project',
        reason,
        findings: [expect.objectContaining({ found: 'environment.privileged_mode = true' })],
      }),
    ]);
  });

  test('covers only the named rule on the named resource', () => {
    const stack = policyStack((s) => {
      Policy.suppress(privilegedProject(s), 'GANTRY-CB-001', reason);
      compliantRepository(s, 'repo', { imageTagMutability: 'MUTABLE' });
      compliantRepository(s, 'other', { imageTagMutability: 'MUTABLE' });
      Policy.suppress(s.node.findChild('repo'), 'GANTRY-ECR-001', 'migrating: tags are rewritten until v2');
    });
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ECR-001', address: 'aws_ecr_repository.other' }),
    ]);
  });

  test('a suppression on a construct covers the resources under it', () => {
    const stack = policyStack((s) => {
      const group = new Construct(s, 'legacy');
      compliantRepository(group, 'repo', { imageTagMutability: 'MUTABLE' });
      Policy.suppress(group, 'GANTRY-ECR-001', 'imported as is; replaced in Q3');
    });
    expect(violations(stack)).toEqual([]);
    expect(Policy.check(stack).suppressions.map((s) => s.address)).toEqual([
      expect.stringMatching(/^aws_ecr_repository\.legacy_repo_[0-9A-F]+$/),
    ]);
  });

  test.each([
    ['an empty reason', 'GANTRY-CB-001', '', /the reason is empty/],
    ['a blank reason', 'GANTRY-CB-001', '   ', /the reason is empty/],
    ['an unknown rule', 'GANTRY-CB-999', reason, /unknown rule "GANTRY-CB-999"/],
  ])('rejects %s with a GantryConfigError naming the construct', (_name, ruleId, why, message) => {
    const stack = policyStack();
    const repo = compliantRepository(stack);
    expect(() => Policy.suppress(repo, ruleId, why)).toThrow(GantryConfigError);
    expect(() => Policy.suppress(repo, ruleId, why)).toThrow(message);
    expect(() => Policy.suppress(repo, ruleId, why)).toThrow(/^test\/repo: /);
  });

  test('a suppression on a construct without resources fails synth', () => {
    const stack = policyStack((s) =>
      Policy.suppress(new Construct(s, 'empty'), 'GANTRY-ECR-001', 'nothing here'),
    );
    expect(synthError(stack)).toMatch(
      /GANTRY-POLICY suppression of GANTRY-ECR-001 names no Terraform address/,
    );
  });

  test('a suppression smuggled into the metadata without a reason is refused', () => {
    const stack = policyStack((s) => {
      compliantRepository(s, 'repo', { imageTagMutability: 'MUTABLE' });
      s.addOverride('//.gantry_policy.suppressions', [
        { ruleId: 'GANTRY-ECR-001', address: 'aws_ecr_repository.repo', reason: '' },
      ]);
    });
    const message = synthError(stack);
    expect(message).toMatch(/suppression of GANTRY-ECR-001 on aws_ecr_repository.repo has no reason/);
    expect(message).toMatch(violationLine('GANTRY-ECR-001', 'aws_ecr_repository.repo'));
  });
});

describe('checkStack', () => {
  test('is a pure function of the JSON', () => {
    const json: TerraformJson = {
      '//': { metadata: { stackName: 'hand-written' } },
      provider: { aws: [{ region: 'eu-west-1' }] },
      resource: {
        aws_cloudwatch_log_group: { logs: { name: '/x', lifecycle: { prevent_destroy: true } } },
      },
    };
    const result = checkStack(json);
    expect(result.stack).toBe('hand-written');
    expect(result.violations.map((v) => `${v.ruleId} ${v.address}`)).toEqual([
      'GANTRY-LOG-001 aws_cloudwatch_log_group.logs',
      'GANTRY-LOG-001 aws_cloudwatch_log_group.logs',
      'GANTRY-TF-001 provider.aws',
    ]);
    expect(result.rulesPassed).toHaveLength(29);
    expect(checkStack(json)).toEqual(result);
  });

  test('a rule that cannot read the stack fails closed', () => {
    const result = checkStack(
      {},
      {
        rules: [
          {
            id: 'GANTRY-TEST-001',
            invariant: 0,
            title: 'throws',
            publicChecks: [],
            check: () => {
              throw new Error('boom');
            },
          },
        ],
      },
    );
    expect(result.violations).toEqual([expect.objectContaining({ found: 'the rule failed: boom' })]);
  });
});

describe('synth report', () => {
  test('App.synth writes gantry-policy-report.json with rules checked, passed, suppressions and reasons', () => {
    const stack = policyStack((s) => compliantRepository(s));
    const app = App.of(stack);
    const second = new TerraformStack(app, 'second');
    new AwsProvider(second, 'aws', { region: 'eu-west-1', allowedAccountIds: ['111111111111'] });
    Policy.enforce(second);
    Policy.suppress(
      compliantRepository(second, 'repo', { imageTagMutability: 'MUTABLE' }),
      'GANTRY-ECR-001',
      'why',
    );
    app.synth();
    const report = JSON.parse(
      fs.readFileSync(path.join(app.outdir, POLICY_REPORT_FILE), 'utf8'),
    ) as PolicyReport;
    expect(report.rules).toHaveLength(31);
    expect(report.rules[0]).toEqual({
      id: 'GANTRY-IAM-001',
      invariant: 1,
      title: expect.any(String),
      publicChecks: ['CKV_AWS_358', 'CKV_AWS_393'],
    });
    expect(report.stacks.map((s) => [s.stack, s.rulesChecked.length, s.rulesPassed.length])).toEqual([
      ['second', 31, 30],
      ['test', 31, 31],
    ]);
    expect(report.stacks[0].violations).toEqual([]);
    expect(report.stacks[0].suppressions).toEqual([
      {
        ruleId: 'GANTRY-ECR-001',
        address: 'aws_ecr_repository.repo',
        reason: 'why',
        findings: [expect.objectContaining({ found: 'image_tag_mutability = "MUTABLE"' })],
      },
    ]);
  });

  test('the summary counts checks passed, suppressed and violated, and lists each reason', () => {
    const stack = policyStack((s) => {
      Policy.suppress(
        compliantRepository(s, 'repo', { imageTagMutability: 'MUTABLE' }),
        'GANTRY-ECR-001',
        'why not',
      );
      compliantRepository(s, 'ok');
    });
    expect(synthError(stack)).toBe('');
    const report = Policy.reportOf(App.of(stack));
    expect(report).toBeDefined();
    expect(Policy.summary(report as PolicyReport)).toEqual([
      'policy: 1 stacks x 31 rules = 31 checks: 30 passed, 1 suppressed, 0 violated',
      'policy: test: GANTRY-ECR-001 suppressed on aws_ecr_repository.repo: why not',
    ]);
  });
});
