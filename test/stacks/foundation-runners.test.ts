import { referenceConfig } from '../../environments';
import * as path from 'node:path';
import { evaluate } from '../iam-evaluator';
import { describeWithTerraform, OfflineTerraform } from '../terraform-harness';
import { readStack, synthApp, withEnvironment, type StackJson } from '../util';

// The runners as the foundation stacks wire them: the deploy project holds the apply rights, the
// GitHub apply role only starts it.
const outdir = synthApp();
const stacks = {
  dev: readStack(outdir, 'dev-foundation'),
  staging: readStack(outdir, 'staging-foundation'),
  prod: readStack(outdir, 'prod-foundation'),
};

function resources(stack: StackJson, type: string): Array<Record<string, unknown>> {
  return Object.values(stack.resource?.[type] ?? {});
}

/** The policy documents of the role named `roleName` (inline policies of the stack). */
function inlinePolicies(stack: StackJson, roleName: string): string[] {
  const [key] = Object.entries(stack.resource?.aws_iam_role ?? {}).find(([, r]) => r.name === roleName) ?? [];
  expect(key).toBeDefined();
  return resources(stack, 'aws_iam_role_policy')
    .filter((p) => p.role === `\${aws_iam_role.${key}.name}`)
    .map((p) => p.policy as string);
}

function attachedPolicies(stack: StackJson, roleName: string): string[] {
  const [key] = Object.entries(stack.resource?.aws_iam_role ?? {}).find(([, r]) => r.name === roleName) ?? [];
  return resources(stack, 'aws_iam_role_policy_attachment')
    .filter((a) => a.role === `\${aws_iam_role.${key}.name}`)
    .map((a) => a.policy_arn as string);
}

/** dev with a privileged runner narrowed to two workflows. */
const privilegedDev = withEnvironment('dev', (env) => ({
  ...env,
  runners: {
    ...env.runners,
    githubActions: {
      ...env.runners!.githubActions!,
      workflowNames: ['Build', 'Release images'],
      privileged: { reason: 'builds container images with docker' },
    },
  },
}));

const project = (account: string, name: string) => `arn:aws:codebuild:eu-west-1:${account}:project/${name}`;

describe('foundation stacks: CodeBuild runners', () => {
  test('dev has a runner and a deploy project; staging and prod a deploy project only', () => {
    const names = (s: StackJson) =>
      resources(s, 'aws_codebuild_project')
        .map((p) => p.name)
        .sort();
    expect(names(stacks.dev)).toEqual(['acme-dev-deploy', 'acme-dev-runner']);
    expect(names(stacks.staging)).toEqual(['acme-staging-deploy']);
    expect(names(stacks.prod)).toEqual(['acme-prod-deploy']);
    expect(resources(stacks.dev, 'aws_codebuild_webhook')).toHaveLength(1);
    expect(resources(stacks.prod, 'aws_codebuild_webhook')).toHaveLength(0);
  });

  test('log groups keep the environment retention and use the foundation key', () => {
    for (const [env, days] of [
      ['dev', 30],
      ['staging', 90],
      ['prod', 365],
    ] as const) {
      const [keyId] = Object.keys(stacks[env].resource?.aws_kms_key ?? {});
      for (const group of resources(stacks[env], 'aws_cloudwatch_log_group').filter((g) =>
        String(g.name).startsWith('/aws/codebuild/'),
      )) {
        expect(group).toMatchObject({
          retention_in_days: days,
          kms_key_id: `\${aws_kms_key.${keyId}.arn}`,
          lifecycle: { prevent_destroy: true },
        });
      }
    }
  });

  test('the deploy project deploys <env>-services with gantry deploy and builds main by default', () => {
    const [deploy] = resources(stacks.prod, 'aws_codebuild_project') as Array<{
      source: { buildspec: string };
      source_version: string;
      concurrent_build_limit: number;
    }>;
    expect(deploy.source.buildspec).toContain('npx --no -- gantry deploy prod --no-synth --json');
    expect(deploy.source.buildspec).not.toContain('gantry apply prod-services');
    expect(deploy.source.buildspec).toContain('acme/prod/gantry-ledger-url');
    expect(deploy.source_version).toBe('refs/heads/main');
    expect(deploy.concurrent_build_limit).toBe(1);
  });

  /** The cosign logins of a deploy project's buildspec, in order, and whether it downloads cosign. */
  const cosignOf = (stack: StackJson) => {
    const [deploy] = resources(stack, 'aws_codebuild_project') as Array<{
      name: string;
      source: { buildspec: string };
    }>;
    const spec = deploy.source.buildspec;
    return {
      installs: spec.includes('cosign_sha256='),
      logins: [...spec.matchAll(/cosign login --username AWS --password-stdin ([^ ]+) \)/g)].map((m) => m[1]),
    };
  };

  test('cosign where a deploy can promote: staging and prod log in to their registry and the upstream ones; dev, the first, gets none', () => {
    expect(cosignOf(stacks.dev)).toEqual({ installs: false, logins: [] });
    expect(cosignOf(stacks.staging)).toEqual({
      installs: true,
      logins: ['222222222222', '111111111111'].map((a) => `${a}.dkr.ecr.eu-west-1.amazonaws.com`),
    });
    expect(cosignOf(stacks.prod)).toEqual({
      installs: true,
      logins: ['333333333333', '111111111111', '222222222222'].map(
        (a) => `${a}.dkr.ecr.eu-west-1.amazonaws.com`,
      ),
    });
  });

  test("cosign where release.requireSignatures applies, even in the first environment; none for an upstream that shares no service; 'image' logs in without a download", () => {
    // dev first and gated (requireSignatures applies to it); staging runs no service dev runs.
    const base = withEnvironment('dev', (e) => ({
      ...e,
      approval: { requiredApprovals: 1, reviewerGroups: [{ teams: ['platform-reviewers'] }] },
    }));
    const config = {
      ...base,
      release: { ...base.release, requireSignatures: true },
      environments: [base.environments[0], base.environments[1]],
    };
    const onlyDev = synthApp(config);
    expect(cosignOf(readStack(onlyDev, 'dev-foundation'))).toEqual({
      installs: true,
      logins: ['111111111111.dkr.ecr.eu-west-1.amazonaws.com'],
    });
    // staging runs no service dev runs: nothing to promote from dev, so no cosign.
    const disjoint = synthApp({
      ...referenceConfig,
      release: undefined,
      environments: [
        {
          ...referenceConfig.environments[0],
          services: referenceConfig.environments[0].services.filter((s) => s.name === 'worker'),
        },
        {
          ...referenceConfig.environments[1],
          services: referenceConfig.environments[1].services.filter((s) => s.name === 'api'),
        },
      ],
    });
    expect(cosignOf(readStack(disjoint, 'staging-foundation'))).toEqual({ installs: false, logins: [] });
    const image = synthApp(
      withEnvironment('prod', (e) => ({
        ...e,
        runners: { deploy: { ...e.runners!.deploy!, cosign: 'image' } },
      })),
    );
    expect(cosignOf(readStack(image, 'prod-foundation'))).toEqual({
      installs: false,
      logins: ['333333333333', '111111111111', '222222222222'].map(
        (a) => `${a}.dkr.ecr.eu-west-1.amazonaws.com`,
      ),
    });
  });

  test.each(['dev', 'staging', 'prod'] as const)(
    '%s: the deploy project role holds the apply permissions and passes only the service roles to ECS tasks',
    (env) => {
      const account = referenceConfig.environments.find((e) => e.name === env)!.accountId;
      const role = `acme-${env}-deploy-build`;
      // The apply rights derived from the services stack (test/lib/runner/services-apply-permissions.test.ts).
      const derived = Object.entries(stacks[env].resource?.aws_iam_policy ?? {}).map(([key, p]) => [
        `\${aws_iam_policy.${key}.arn}`,
        p.name,
      ]);
      expect(derived.map(([, name]) => name).sort()).toEqual(
        ['data', 'network', 'services'].map((n) => `${role}-apply-${n}`),
      );
      expect(attachedPolicies(stacks[env], role).sort()).toEqual(derived.map(([arn]) => arn).sort());
      const policies = inlinePolicies(stacks[env], role);
      const pass = (roleArn: string, service: string) =>
        evaluate(policies, {
          action: 'iam:PassRole',
          resource: roleArn,
          context: { 'iam:PassedToService': service },
        });
      expect(pass(`arn:aws:iam::${account}:role/acme-${env}-api-task`, 'ecs-tasks.amazonaws.com')).toBe(
        'allow',
      );
      expect(pass(`arn:aws:iam::${account}:role/acme-${env}-api-exec`, 'ecs-tasks.amazonaws.com')).toBe(
        'allow',
      );
      expect(pass(`arn:aws:iam::${account}:role/acme-${env}-api-task`, 'lambda.amazonaws.com')).toBe(
        'implicit-deny',
      );
      expect(pass(`arn:aws:iam::${account}:role/acme-${env}-gh-apply`, 'ecs-tasks.amazonaws.com')).toBe(
        'implicit-deny',
      );
    },
  );

  test.each(['dev', 'staging', 'prod'] as const)(
    '%s: the GitHub apply role only starts its own deploy project, without overrides',
    (env) => {
      const accounts = Object.fromEntries(referenceConfig.environments.map((e) => [e.name, e.accountId]));
      const role = `acme-${env}-gh-apply`;
      expect(attachedPolicies(stacks[env], role)).toEqual([]);
      const policies = inlinePolicies(stacks[env], role);
      const start = (arn: string, context: Record<string, string> = {}) =>
        evaluate(policies, { action: 'codebuild:StartBuild', resource: arn, context });
      const own = project(accounts[env], `acme-${env}-deploy`);
      expect(start(own)).toBe('allow');
      for (const other of ['dev', 'staging', 'prod'].filter((e) => e !== env)) {
        expect(start(project(accounts[other], `acme-${other}-deploy`))).toBe('implicit-deny');
      }
      expect(start(own, { 'codebuild:source.buildspec': 'version: 0.2' })).toBe('deny');
      expect(start(own, { 'codebuild:environment.environmentVariables': 'GANTRY_LEDGER_URL' })).toBe('deny');
      expect(start(own, { 'codebuild:serviceRole': `arn:aws:iam::${accounts[env]}:role/admin` })).toBe(
        'deny',
      );
      // The apply rights are the deploy project's, not the GitHub role's.
      expect(evaluate(policies, { action: 'ecs:UpdateService', resource: '*', context: {} })).toBe(
        'implicit-deny',
      );
    },
  );

  test.each(['dev', 'staging', 'prod'] as const)(
    "%s: the image-tags parameter: the apply role may only write its own env's, the deploy project only read it",
    (env) => {
      const accounts = Object.fromEntries(referenceConfig.environments.map((e) => [e.name, e.accountId]));
      const parameter = (e: string, name = `acme/${e}/gantry/image-tags`) =>
        `arn:aws:ssm:eu-west-1:${accounts[e]}:parameter/${name}`;
      expect(
        resources(stacks[env], 'aws_ssm_parameter').filter(
          (p) => p.name === `/acme/${env}/gantry/image-tags`,
        ),
      ).toEqual([
        expect.objectContaining({
          type: 'String',
          value: '{"commit":"","tags":{}}',
          lifecycle: { ignore_changes: ['value'] },
        }),
      ]);
      const apply = inlinePolicies(stacks[env], `acme-${env}-gh-apply`);
      const asApply = (action: string, resource: string) =>
        evaluate(apply, { action, resource, context: {} });
      expect(asApply('ssm:PutParameter', parameter(env))).toBe('allow');
      for (const other of ['dev', 'staging', 'prod'].filter((e) => e !== env)) {
        expect(asApply('ssm:PutParameter', parameter(other))).toBe('implicit-deny');
      }
      expect(asApply('ssm:PutParameter', parameter(env, `acme/${env}/gantry-ledger-url`))).toBe(
        'implicit-deny',
      );
      expect(asApply('ssm:PutParameter', parameter(env, `acme/${env}/vpc-id`))).toBe('implicit-deny');
      for (const action of ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:DeleteParameter']) {
        expect(asApply(action, parameter(env))).toBe('implicit-deny');
      }
      // Writing the tags opens no StartBuild override.
      const own = project(accounts[env], `acme-${env}-deploy`);
      expect(evaluate(apply, { action: 'codebuild:StartBuild', resource: own, context: {} })).toBe('allow');
      expect(
        evaluate(apply, {
          action: 'codebuild:StartBuild',
          resource: own,
          context: { 'codebuild:environment.environmentVariables': 'GANTRY_IMAGE_TAGS' },
        }),
      ).toBe('deny');

      const build = inlinePolicies(stacks[env], `acme-${env}-deploy-build`);
      expect(evaluate(build, { action: 'ssm:GetParameters', resource: parameter(env), context: {} })).toBe(
        'allow',
      );
      expect(evaluate(build, { action: 'ssm:PutParameter', resource: parameter(env), context: {} })).toBe(
        'implicit-deny',
      );
      const [deploy] = resources(stacks[env], 'aws_codebuild_project').filter(
        (p) => p.name === `acme-${env}-deploy`,
      ) as Array<{
        source: { buildspec: string };
      }>;
      expect(deploy.source.buildspec).toContain(`GANTRY_IMAGE_TAGS: "/acme/${env}/gantry/image-tags"`);
    },
  );

  test('without a deploy project the apply role keeps the apply policies', () => {
    const custom = 'arn:aws:iam::222222222222:policy/acme-staging-apply';
    const config = withEnvironment('staging', (env) => ({
      ...env,
      runners: undefined,
      applyPolicyArns: [custom],
    }));
    const stack = readStack(synthApp(config), 'staging-foundation');
    expect(resources(stack, 'aws_codebuild_project')).toHaveLength(0);
    expect(resources(stack, 'aws_iam_policy')).toHaveLength(0);
    expect(attachedPolicies(stack, 'acme-staging-gh-apply')).toEqual([custom]);
  });

  test('a network read from SSM places the runners on the parameters', () => {
    const config = withEnvironment('dev', (env) => ({
      ...env,
      network: { fromSsm: { prefix: '/acme/dev/' } },
    }));
    const stack = readStack(synthApp(config), 'dev-foundation');
    const names = Object.values(stack.data?.aws_ssm_parameter ?? {}).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['/acme/dev/vpc-id', '/acme/dev/private-subnet-ids']));
    for (const p of resources(stack, 'aws_codebuild_project') as Array<{ vpc_config: { vpc_id: string } }>) {
      expect(p.vpc_config.vpc_id).toMatch(/^\$\{data\.aws_ssm_parameter\..*\.value\}$/);
    }
  });

  test('a privileged runner is recorded as a named policy suppression with its reason', () => {
    const stack = readStack(synthApp(privilegedDev), 'dev-foundation') as StackJson & {
      '//': { gantry_policy: { suppressions: Array<{ ruleId: string; address: string; reason: string }> } };
    };
    const runner = Object.entries(stack.resource?.aws_codebuild_project ?? {}).find(
      ([, p]) => p.name === 'acme-dev-runner',
    )!;
    expect(runner[1].environment).toMatchObject({ privileged_mode: true });
    expect(stack['//'].gantry_policy.suppressions).toContainEqual({
      ruleId: 'GANTRY-CB-001',
      address: `aws_codebuild_project.${runner[0]}`,
      reason: 'privileged mode: builds container images with docker',
    });
  });
});

// The provider validates webhook filter types and project settings: the reference dev stack (both
// modes) is validated by test/stacks/terraform.test.ts; this covers the WORKFLOW_NAME filter and
// privileged mode.
describeWithTerraform('terraform on a privileged runner narrowed to workflows', () => {
  test('dev-foundation validates', () => {
    const outdir = synthApp(privilegedDev);
    const tf = OfflineTerraform.prepare(path.join(outdir, 'stacks', 'dev-foundation'));
    try {
      tf.init();
      expect(tf.validate().stdout).toContain('The configuration is valid');
    } finally {
      tf.dispose();
    }
  });
});
