import { ActionsEnvironmentSecret } from '@cdktf/provider-github/lib/actions-environment-secret';
import { ActionsEnvironmentVariable } from '@cdktf/provider-github/lib/actions-environment-variable';
import { DataGithubTeam } from '@cdktf/provider-github/lib/data-github-team';
import { RepositoryEnvironment } from '@cdktf/provider-github/lib/repository-environment';
import { RepositoryEnvironmentDeploymentPolicy } from '@cdktf/provider-github/lib/repository-environment-deployment-policy';
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { GithubEnvironment, type GithubEnvironmentProps } from '../../../lib/github/github-environment';

const base: GithubEnvironmentProps = {
  repository: 'platform',
  environment: 'staging',
  reviewers: { teams: ['platform-reviewers'], userIds: [42] },
  deploymentBranches: { branches: ['main'] },
};

function synth(props: Partial<GithubEnvironmentProps> = {}): string {
  return Testing.synthScope((scope) => {
    new GithubEnvironment(scope, 'env', { ...base, ...props });
  });
}

describe('GithubEnvironment', () => {
  test('gates with reviewers, self-review prevented and admin bypass off', () => {
    const out = synth();
    expect(out).toHaveResourceWithProperties(RepositoryEnvironment, {
      repository: 'platform',
      environment: 'staging',
      prevent_self_review: true,
      can_admins_bypass: false,
      wait_timer: 0,
      reviewers: [{ teams: [expect.stringMatching(/^\$\{data\.github_team\..*\.id\}$/)], users: [42] }],
      deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
    });
    expect(out).toHaveDataSourceWithProperties(DataGithubTeam, {
      slug: 'platform-reviewers',
    });
  });

  test('resolves user logins with the github_user data source', () => {
    const out = JSON.parse(synth({ reviewers: { users: ['octocat'] } }));
    const [user] = Object.values(out.data.github_user) as Array<{ username: string }>;
    expect(user.username).toBe('octocat');
    const [env] = Object.values(out.resource.github_repository_environment) as Array<{ reviewers: unknown }>;
    expect(env.reviewers).toEqual([{ users: [expect.stringMatching(/^\$\{data\.github_user\..*\.id\}$/)] }]);
  });

  test('without reviewers has no reviewers block and still no admin bypass', () => {
    const out = JSON.parse(synth({ reviewers: undefined, environment: 'dev' }));
    const [env] = Object.values(out.resource.github_repository_environment) as Array<Record<string, unknown>>;
    expect(env.reviewers).toBeUndefined();
    expect(env.can_admins_bypass).toBe(false);
  });

  test('names branch and tag patterns as deployment policies', () => {
    const out = synth({ deploymentBranches: { branches: ['main', 'release/*'], tags: ['v*'] } });
    expect(out).toHaveResourceWithProperties(RepositoryEnvironmentDeploymentPolicy, {
      branch_pattern: 'main',
    });
    expect(out).toHaveResourceWithProperties(RepositoryEnvironmentDeploymentPolicy, {
      branch_pattern: 'release/*',
    });
    expect(out).toHaveResourceWithProperties(RepositoryEnvironmentDeploymentPolicy, { tag_pattern: 'v*' });
    expect(
      Object.keys(JSON.parse(out).resource.github_repository_environment_deployment_policy),
    ).toHaveLength(3);
  });

  test('protected branches use the protected_branches policy and no custom pattern', () => {
    const out = synth({ deploymentBranches: { protectedBranches: true } });
    expect(out).toHaveResourceWithProperties(RepositoryEnvironment, {
      deployment_branch_policy: { protected_branches: true, custom_branch_policies: false },
    });
    expect(JSON.parse(out).resource.github_repository_environment_deployment_policy).toBeUndefined();
  });

  test('sets the wait timer and the variables', () => {
    const out = synth({ waitTimerMinutes: 30, variables: { AWS_REGION: 'eu-west-1' } });
    expect(out).toHaveResourceWithProperties(RepositoryEnvironment, { wait_timer: 30 });
    expect(out).toHaveResourceWithProperties(ActionsEnvironmentVariable, {
      variable_name: 'AWS_REGION',
      value: 'eu-west-1',
      environment: expect.stringContaining('github_repository_environment.'),
    });
  });

  test('takes secrets as references only', () => {
    const out = Testing.synthScope((scope) => {
      const token = new TerraformVariable(scope, 'ledger_token', { type: 'string', sensitive: true });
      new GithubEnvironment(scope, 'env', { ...base, secrets: { LEDGER_TOKEN: token.stringValue } });
    });
    expect(out).toHaveResourceWithProperties(ActionsEnvironmentSecret, {
      secret_name: 'LEDGER_TOKEN',
      plaintext_value: '${var.ledger_token}',
    });
  });

  const rejected: Array<[string, Partial<GithubEnvironmentProps>, RegExp]> = [
    ['a literal secret value', { secrets: { TOKEN: 'hunter2' } }, /env\.secrets\.TOKEN: is a literal value/],
    [
      'no deployment branch policy',
      { deploymentBranches: { branches: [] } },
      /env\.deploymentBranches: no branch or tag pattern given/,
    ],
    [
      'a match-everything branch pattern',
      { deploymentBranches: { branches: ['*'] } },
      /"\*" matches every ref/,
    ],
    [
      'seven reviewers',
      { reviewers: { users: ['a', 'b', 'c', 'd'], teams: ['e', 'f', 'g'] } },
      /7 reviewers given, GitHub allows at most 6/,
    ],
    ['self-review allowed on a reviewed environment', { preventSelfReview: false }, /env\.preventSelfReview/],
    ['a wait timer over 30 days', { waitTimerMinutes: 50000 }, /waitTimerMinutes: 50000/],
    ['an owner/name repository', { repository: 'acme/platform' }, /env\.repository/],
    ['a GITHUB_ variable', { variables: { GITHUB_TOKEN: 'x' } }, /"GITHUB_TOKEN" must match/],
    ['a duplicate reviewer', { reviewers: { teams: ['sre', 'SRE'] } }, /lists a reviewer twice/],
  ];

  test.each(rejected)('fails on %s', (_name, change, message) => {
    const stack = new TerraformStack(Testing.app(), 'bad');
    expect(() => new GithubEnvironment(stack, 'env', { ...base, ...change })).toThrow(message);
  });
});
