import { Testing } from 'cdktf';
import { referenceConfig } from '../../environments';
import { FoundationStack, GithubStack } from '../../stacks';
import type { GantryConfig } from '../../lib/config';
import { checkTrustPolicy } from '../../lib/policy/trust-policy';
import { evaluate } from '../iam-evaluator';
import { readStack, synthApp, withEnvironment, type StackJson } from '../util';

type Resource = Record<string, unknown>;

/** A resource type's resources keyed by the GitHub environment they belong to. */
function byEnvironment(stack: StackJson, type: string): Map<string, Resource[]> {
  const environments = new Map<string, string>();
  for (const [name, env] of Object.entries(stack.resource?.github_repository_environment ?? {})) {
    environments.set(`\${github_repository_environment.${name}.environment}`, env.environment as string);
  }
  const map = new Map<string, Resource[]>();
  for (const r of Object.values(stack.resource?.[type] ?? {})) {
    const env = environments.get(r.environment as string) ?? (r.environment as string);
    map.set(env, [...(map.get(env) ?? []), r]);
  }
  return map;
}

function environment(stack: StackJson, name: string): Resource {
  const found = Object.values(stack.resource?.github_repository_environment ?? {}).filter(
    (e) => e.environment === name,
  );
  expect(found).toHaveLength(1);
  return found[0];
}

/** The team slugs a reviewers block resolves, through the github_team data sources. */
function reviewerTeams(stack: StackJson, env: Resource): string[] {
  const reviewers = (env.reviewers ?? []) as Array<{ teams?: string[] }>;
  return reviewers.flatMap((r) =>
    (r.teams ?? []).map((ref) => {
      const name = /^\$\{data\.github_team\.([^.]+)\.id\}$/.exec(ref)?.[1];
      return stack.data!.github_team[name!].slug as string;
    }),
  );
}

describe('github stack (reference configuration)', () => {
  const outdir = synthApp();
  const stack = readStack(outdir, 'github');

  test('has one GitHub environment per environment of each approval chain', () => {
    const names = Object.values(stack.resource!.github_repository_environment).map((e) => e.environment);
    expect(names.sort()).toEqual(['dev', 'gantry', 'prod', 'prod-approval', 'staging']);
  });

  test('the trusted environment: the default branch only, no bypass, holding the ledger URL and the GitHub token', () => {
    const gantry = environment(stack, 'gantry');
    expect(gantry.can_admins_bypass).toBe(false);
    expect(gantry.deployment_branch_policy).toEqual({
      protected_branches: false,
      custom_branch_policies: true,
    });
    expect(byEnvironment(stack, 'github_repository_environment_deployment_policy').get('gantry')).toEqual([
      expect.objectContaining({ branch_pattern: 'main' }),
    ]);
    const secrets = byEnvironment(stack, 'github_actions_environment_secret').get('gantry')!;
    expect(secrets.map((s) => [s.secret_name, s.plaintext_value]).sort()).toEqual([
      ['GANTRY_GITHUB_TOKEN', '${var.gantry_github_token}'],
      ['GANTRY_LEDGER_URL', '${var.gantry_ledger_url}'],
    ]);
    for (const name of ['gantry_github_token', 'gantry_ledger_url'])
      expect(stack.variable![name]).toMatchObject({ sensitive: true, type: 'string' });
  });

  test('no other environment holds a secret: the reference environments deploy through their deploy projects', () => {
    const secrets = byEnvironment(stack, 'github_actions_environment_secret');
    expect([...secrets.keys()]).toEqual(['gantry']);
  });

  test('the default branch is protected by a ruleset: no deletion, no force push, reviewed pull requests', () => {
    const [ruleset] = Object.values(stack.resource!.github_repository_ruleset);
    expect(ruleset).toMatchObject({
      repository: 'platform',
      target: 'branch',
      enforcement: 'active',
      conditions: { ref_name: { include: ['~DEFAULT_BRANCH'], exclude: [] } },
      rules: {
        deletion: true,
        non_fast_forward: true,
        pull_request: {
          required_approving_review_count: 1,
          dismiss_stale_reviews_on_push: true,
          require_last_push_approval: true,
        },
      },
    });
    expect(ruleset.bypass_actors).toBeUndefined();
  });

  test('dev: no reviewers, deploys only from main, admins cannot bypass', () => {
    const dev = environment(stack, 'dev');
    expect(dev.reviewers).toBeUndefined();
    expect(dev.can_admins_bypass).toBe(false);
    expect(dev.deployment_branch_policy).toEqual({ protected_branches: false, custom_branch_policies: true });
    expect(byEnvironment(stack, 'github_repository_environment_deployment_policy').get('dev')).toEqual([
      expect.objectContaining({ branch_pattern: 'main', repository: 'platform' }),
    ]);
  });

  test('staging: one approval by platform-reviewers, self-review prevented, no admin bypass', () => {
    const staging = environment(stack, 'staging');
    expect(reviewerTeams(stack, staging)).toEqual(['platform-reviewers']);
    expect(staging.prevent_self_review).toBe(true);
    expect(staging.can_admins_bypass).toBe(false);
  });

  test('prod: platform-leads gate prod-approval, then sre gate prod; both self-review prevented, no bypass', () => {
    const gate = environment(stack, 'prod-approval');
    const prod = environment(stack, 'prod');
    expect(reviewerTeams(stack, gate)).toEqual(['platform-leads']);
    expect(reviewerTeams(stack, prod)).toEqual(['sre']);
    for (const env of [gate, prod]) {
      expect(env.prevent_self_review).toBe(true);
      expect(env.can_admins_bypass).toBe(false);
    }
  });

  test('every environment, gates included, has the same branch policy as its chain', () => {
    const policies = byEnvironment(stack, 'github_repository_environment_deployment_policy');
    for (const name of ['dev', 'staging', 'prod-approval', 'prod']) {
      expect(environment(stack, name).deployment_branch_policy).toEqual({
        protected_branches: false,
        custom_branch_policies: true,
      });
      expect((policies.get(name) ?? []).map((p) => p.branch_pattern)).toEqual(['main']);
    }
  });

  test.each([
    [
      'dev',
      {
        AWS_DEPLOYER_ROLE_ARN: 'arn:aws:iam::111111111111:role/acme-dev-gh-apply',
        AWS_PLAN_ROLE_ARN: 'arn:aws:iam::111111111111:role/acme-dev-gh-plan',
        AWS_REGION: 'eu-west-1',
        AWS_ACCOUNT_ID: '111111111111',
        GANTRY_RUNNER_LABEL: 'codebuild-acme-dev-runner',
        GANTRY_DEPLOY_PROJECT: 'acme-dev-deploy',
      },
    ],
    [
      'prod',
      {
        AWS_DEPLOYER_ROLE_ARN: 'arn:aws:iam::333333333333:role/acme-prod-gh-apply',
        AWS_PLAN_ROLE_ARN: 'arn:aws:iam::333333333333:role/acme-prod-gh-plan',
        AWS_REGION: 'eu-west-1',
        AWS_ACCOUNT_ID: '333333333333',
        GANTRY_DEPLOY_PROJECT: 'acme-prod-deploy',
      },
    ],
  ])('%s carries the role, region, account and runner variables', (name, expected) => {
    const variables = byEnvironment(stack, 'github_actions_environment_variable').get(name) ?? [];
    expect(Object.fromEntries(variables.map((v) => [v.variable_name, v.value]))).toEqual(expected);
  });

  test('staging carries its variables, and the prod-approval gate carries none', () => {
    const variables = byEnvironment(stack, 'github_actions_environment_variable');
    const staging = Object.fromEntries(
      (variables.get('staging') ?? []).map((v) => [v.variable_name, v.value]),
    );
    expect(staging).toMatchObject({
      AWS_DEPLOYER_ROLE_ARN: expect.stringMatching(/^arn:aws:iam::\d{12}:role\/acme-staging-gh-apply$/),
      AWS_REGION: 'eu-west-1',
    });
    expect(variables.get('prod-approval')).toBeUndefined();
  });

  test('the role ARNs the github stack names are the roles the foundation stacks create', () => {
    const variables = byEnvironment(stack, 'github_actions_environment_variable');
    for (const env of referenceConfig.environments) {
      const roles = Object.values(readStack(outdir, `${env.name}-foundation`).resource!.aws_iam_role);
      const names = roles.map((r) => `arn:aws:iam::${env.accountId}:role/${r.name as string}`);
      const vars = Object.fromEntries((variables.get(env.name) ?? []).map((v) => [v.variable_name, v.value]));
      expect(names).toEqual(expect.arrayContaining([vars.AWS_DEPLOYER_ROLE_ARN, vars.AWS_PLAN_ROLE_ARN]));
    }
  });

  test('no stack reference, and no secret but from a sensitive variable', () => {
    const text = JSON.stringify(stack.resource);
    expect(text).not.toContain('terraform_remote_state');
    for (const secret of Object.values(stack.resource!.github_actions_environment_secret)) {
      expect(String(secret.plaintext_value)).toMatch(/^\$\{var\.[a-z_]+\}$/);
    }
  });
});

describe('github stack (variants)', () => {
  test('an environment secret comes from a sensitive variable, never a literal', () => {
    const config = withEnvironment('staging', (env) => ({
      ...env,
      githubSecrets: { LEDGER_TOKEN: { terraformVariable: 'staging_ledger_token' } },
    }));
    const stack = readStack(synthApp(config), 'github');
    expect(stack.variable!.staging_ledger_token).toMatchObject({ sensitive: true, type: 'string' });
    const secret = Object.values(stack.resource!.github_actions_environment_secret).find(
      (s) => s.secret_name === 'LEDGER_TOKEN',
    );
    expect(secret).toMatchObject({ plaintext_value: '${var.staging_ledger_token}' });
  });

  test('an environment deployed by gantry itself (no deploy project) gets the ledger URL as its environment secret', () => {
    const config = withEnvironment('staging', (env) => ({ ...env, runners: undefined }));
    const stack = readStack(synthApp(config), 'github');
    const staging = byEnvironment(stack, 'github_actions_environment_secret').get('staging')!;
    expect(staging.map((s) => [s.secret_name, s.plaintext_value])).toEqual([
      ['GANTRY_LEDGER_URL', '${var.gantry_ledger_url}'],
    ]);
  });

  test('the ruleset takes the configured reviews and required checks', () => {
    const config: GantryConfig = {
      ...referenceConfig,
      organization: {
        ...referenceConfig.organization,
        github: {
          ...referenceConfig.organization.github,
          defaultBranchRuleset: { requiredApprovingReviews: 2, requiredChecks: ['lint', 'test'] },
        },
      },
    };
    const [ruleset] = Object.values(
      readStack(synthApp(config), 'github').resource!.github_repository_ruleset,
    );
    expect(ruleset.rules).toMatchObject({
      pull_request: { required_approving_review_count: 2 },
      required_status_checks: {
        strict_required_status_checks_policy: true,
        required_check: [{ context: 'lint' }, { context: 'test' }],
      },
    });
  });

  test('an environment named like the trusted environment is refused', () => {
    const config = withEnvironment('dev', (env) => ({ ...env, name: 'gantry' }));
    expect(() => synthApp(config)).toThrow(
      /^gantry\.name: the GitHub environments of "gantry" would include "gantry"/,
    );
  });

  test('three approvals give prod-approval-1, prod-approval-2, then prod, each with its own group', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      approval: {
        requiredApprovals: 3,
        reviewerGroups: [{ teams: ['platform-leads'] }, { teams: ['security'] }, { users: ['cto'] }],
      },
    }));
    const stack = readStack(synthApp(config), 'github');
    expect(reviewerTeams(stack, environment(stack, 'prod-approval-1'))).toEqual(['platform-leads']);
    expect(reviewerTeams(stack, environment(stack, 'prod-approval-2'))).toEqual(['security']);
    expect(environment(stack, 'prod').reviewers).toEqual([
      { users: [expect.stringMatching(/^\$\{data\.github_user\./)] },
    ]);
  });

  test('protected branches reach every environment of the chain', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      deploymentBranches: { protectedBranches: true },
    }));
    const stack = readStack(synthApp(config), 'github');
    for (const name of ['prod-approval', 'prod']) {
      expect(environment(stack, name).deployment_branch_policy).toEqual({
        protected_branches: true,
        custom_branch_policies: false,
      });
    }
  });

  test('fails when an apply environment has an empty branch policy', () => {
    const config = withEnvironment('staging', (env) => ({ ...env, deploymentBranches: { branches: [] } }));
    // The config validation names the field first...
    expect(() => synthApp(config)).toThrow(/^staging\.deploymentBranches: no branch or tag pattern given/);
    // ...and so do the stacks built one by one, without createStacks.
    expect(() => new GithubStack(Testing.app(), config)).toThrow(
      /^staging\.deploymentBranches: no branch or tag pattern given/,
    );
    const staging = config.environments[1];
    expect(
      () => new FoundationStack(Testing.app(), { organization: config.organization, environment: staging }),
    ).toThrow(/^staging\.deploymentBranches: no branch or tag pattern given/);
  });

  test('fails when more reviewer groups than approvals are given', () => {
    const config: GantryConfig = withEnvironment('staging', (env) => ({
      ...env,
      approval: { requiredApprovals: 1, reviewerGroups: [{ teams: ['a'] }, { teams: ['b'] }] },
    }));
    expect(() => synthApp(config)).toThrow(
      /staging\.approval\.reviewerGroups: 2 group\(s\) given for 1 required approval\(s\); each group gates one environment of the chain/,
    );
  });

  test('fails when reviewer groups of a chain overlap', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      approval: { requiredApprovals: 2, reviewerGroups: [{ teams: ['sre'] }, { teams: ['sre'] }] },
    }));
    expect(() => synthApp(config)).toThrow(/reviewer groups of a chain must be disjoint/);
  });

  test('fails when there are fewer groups than approvals', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      approval: { requiredApprovals: 2, reviewerGroups: [{ teams: ['sre'] }] },
    }));
    expect(() => synthApp(config)).toThrow(/1 group\(s\) given for 2 required approval/);
  });
});

describe('foundation stacks: the synthesized roles', () => {
  const outdir = synthApp();

  test.each(referenceConfig.environments.map((e) => e.name))(
    '%s: both roles hold the trust invariants and the apply role trusts only its environment',
    (name) => {
      const roles = Object.values(readStack(outdir, `${name}-foundation`).resource!.aws_iam_role);
      const tagged = (kind: string) =>
        roles.filter((r) => (r.tags as Record<string, string> | undefined)?.['gantry:role'] === kind);
      const [plan] = tagged('plan');
      const [apply] = tagged('apply');
      expect(tagged('apply')).toHaveLength(1);
      for (const [role, kind] of [
        [plan, 'plan'],
        [apply, 'apply'],
      ] as const) {
        expect(
          checkTrustPolicy(role.assume_role_policy, {
            roleKind: kind,
            roleName: role.name as string,
            maxSessionDurationSeconds: role.max_session_duration as number,
          }),
        ).toEqual([]);
      }
      const provider = `arn:aws:iam::${referenceConfig.environments.find((e) => e.name === name)!.accountId}:oidc-provider/token.actions.githubusercontent.com`;
      const assume = (sub: string) =>
        evaluate([apply.assume_role_policy as string], {
          action: 'sts:AssumeRoleWithWebIdentity',
          principal: { type: 'Federated', id: provider },
          context: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': sub,
          },
        });
      expect(assume(`repo:acme/platform:environment:${name}`)).toBe('allow');
      expect(assume(`repo:acme/platform:environment:${name}-approval`)).toBe('implicit-deny');
      expect(assume('repo:acme/platform:pull_request')).toBe('implicit-deny');
    },
  );
});
