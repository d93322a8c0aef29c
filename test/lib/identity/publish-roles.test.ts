import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Testing, type TerraformStack } from 'cdktf';
import { GithubOidcProvider } from '../../../lib/identity/github-oidc-provider';
import { PublishRoles, type PublishRolesProps } from '../../../lib/identity/publish-roles';
import { roleKind } from '../../../lib/policy/private/iam-documents';
import { checkTrustPolicy } from '../../../lib/policy/trust-policy';
import { evaluate, type EvaluationRequest } from '../../iam-evaluator';
import { ACCOUNT, OIDC_PROVIDER, REGION, policyStack, violations } from '../policy/fixtures';

const repo = (service: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/acme/${service}`;

type Change = Partial<PublishRolesProps>;

function build(change: Change = {}, extend?: (stack: TerraformStack, roles: PublishRoles) => void) {
  const stack = policyStack((s) => {
    const oidcProvider = new GithubOidcProvider(s, 'oidc', { accountId: ACCOUNT, region: REGION });
    const roles = new PublishRoles(s, 'publish', {
      accountId: ACCOUNT,
      region: REGION,
      oidcProvider,
      publisher: {
        roleName: 'acme-dev-gh-publish',
        repository: 'acme/platform',
        repositoryArns: [repo('api'), repo('worker')],
      },
      branchPublisher: {
        roleName: 'acme-dev-gh-publish-main',
        repository: 'acme/platform',
        branch: 'main',
        repositoryArns: [repo('api'), repo('worker')],
      },
      sources: [
        {
          roleName: 'acme-dev-gh-publish-admin',
          repository: 'acme/admin',
          repositoryArns: [repo('admin-api'), repo('admin-web')],
        },
      ],
      ...change,
    });
    extend?.(s, roles);
  });
  return stack;
}

interface Synthesized {
  resource: Record<string, Record<string, Record<string, unknown>>>;
}

const stack = build();
const out = JSON.parse(Testing.synth(stack, true)) as Synthesized;
const roleNamed = (name: string) => {
  const found = Object.entries(out.resource.aws_iam_role).find(([, r]) => r.name === name);
  if (!found) throw new Error(`no role ${name}`);
  return found;
};
/** The trust policy and the inline push policy of a role. */
function documents(name: string): { trust: string; push: string } {
  const [id, role] = roleNamed(name);
  const push = Object.values(out.resource.aws_iam_role_policy).find((p) =>
    String(p.role).includes(`aws_iam_role.${id}.`),
  );
  if (!push) throw new Error(`no push policy for ${name}`);
  return { trust: role.assume_role_policy as string, push: push.policy as string };
}
const main = documents('acme-dev-gh-publish');
const admin = documents('acme-dev-gh-publish-admin');
const branch = documents('acme-dev-gh-publish-main');

function token(sub: string): EvaluationRequest {
  return {
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { type: 'Federated', id: OIDC_PROVIDER },
    context: {
      'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      'token.actions.githubusercontent.com:sub': sub,
    },
  };
}
const push = (resource: string, action = 'ecr:PutImage'): EvaluationRequest => ({
  action,
  resource,
  context: {},
});

describe("PublishRoles: trust of this repository's publish role", () => {
  test.each([
    ['a v* tag of the repository', 'repo:acme/platform:ref:refs/tags/v1.4.0', 'allow'],
    ['a pre-release v* tag', 'repo:acme/platform:ref:refs/tags/v2.0.0-rc.1', 'allow'],
    ['a tag not starting with v', 'repo:acme/platform:ref:refs/tags/1.4.0', 'implicit-deny'],
    ['the default branch', 'repo:acme/platform:ref:refs/heads/main', 'implicit-deny'],
    ['a branch named like a tag', 'repo:acme/platform:ref:refs/heads/v1.4.0', 'implicit-deny'],
    ['a pull request', 'repo:acme/platform:pull_request', 'implicit-deny'],
    ['an environment job', 'repo:acme/platform:environment:prod', 'implicit-deny'],
    ["another repository's v* tag", 'repo:acme/platform-tools:ref:refs/tags/v1.4.0', 'implicit-deny'],
    ["a fork's v* tag", 'repo:mallory/platform:ref:refs/tags/v1.4.0', 'implicit-deny'],
    ["a source repository's v* tag", 'repo:acme/admin:ref:refs/tags/v1.4.0', 'implicit-deny'],
  ])('%s -> %s', (_name, sub, decision) => {
    expect(evaluate([main.trust], token(sub))).toBe(decision);
  });

  test("the role may push to its own services' repositories and nothing else", () => {
    expect(evaluate([main.push], push(repo('api')))).toBe('allow');
    expect(evaluate([main.push], push(repo('worker'), 'ecr:CompleteLayerUpload'))).toBe('allow');
    expect(evaluate([main.push], { action: 'ecr:GetAuthorizationToken', context: {} })).toBe('allow');
    expect(evaluate([main.push], push(repo('admin-api')))).toBe('implicit-deny');
    expect(evaluate([main.push], push(repo('api'), 'ecr:DeleteRepository'))).toBe('implicit-deny');
    expect(evaluate([main.push], push(repo('api'), 'ecr:BatchDeleteImage'))).toBe('implicit-deny');
    expect(evaluate([main.push], push(`arn:aws:s3:::acme-state/dev-services`, 's3:GetObject'))).toBe(
      'implicit-deny',
    );
  });
});

describe("PublishRoles: the default branch's publish role (push builds)", () => {
  test.each([
    ['a push to the default branch', 'repo:acme/platform:ref:refs/heads/main', 'allow'],
    ['another branch', 'repo:acme/platform:ref:refs/heads/feature', 'implicit-deny'],
    ['a branch under the default one', 'repo:acme/platform:ref:refs/heads/main/x', 'implicit-deny'],
    ['a branch named like it with a suffix', 'repo:acme/platform:ref:refs/heads/main2', 'implicit-deny'],
    ['a tag named like the branch', 'repo:acme/platform:ref:refs/tags/main', 'implicit-deny'],
    ['a v* tag of the repository', 'repo:acme/platform:ref:refs/tags/v1.4.0', 'implicit-deny'],
    ['a pull request', 'repo:acme/platform:pull_request', 'implicit-deny'],
    ['an environment job', 'repo:acme/platform:environment:dev', 'implicit-deny'],
    ["another repository's default branch", 'repo:acme/admin:ref:refs/heads/main', 'implicit-deny'],
    ["a fork's default branch", 'repo:mallory/platform:ref:refs/heads/main', 'implicit-deny'],
    ['a tag of another repository', 'repo:acme/admin:ref:refs/tags/v1.4.0', 'implicit-deny'],
  ])('%s -> %s', (_name, sub, decision) => {
    expect(evaluate([branch.trust], token(sub))).toBe(decision);
  });

  test('is tagged publish-branch and matches the branch exactly (StringEquals)', () => {
    const [, role] = roleNamed('acme-dev-gh-publish-main');
    expect(role.tags).toEqual({ 'gantry:role': 'publish-branch' });
    const trust = JSON.parse(branch.trust) as {
      Statement: { Condition: Record<string, Record<string, unknown>> }[];
    };
    expect(trust.Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub']).toBe(
      'repo:acme/platform:ref:refs/heads/main',
    );
    expect(trust.Statement[0].Condition.StringLike).toBeUndefined();
  });

  test("may push only the services this repository builds, not a source repository's", () => {
    expect(evaluate([branch.push], push(repo('api')))).toBe('allow');
    expect(evaluate([branch.push], push(repo('worker'), 'ecr:UploadLayerPart'))).toBe('allow');
    expect(evaluate([branch.push], push(repo('admin-api')))).toBe('implicit-deny');
    expect(evaluate([branch.push], push(repo('api'), 'ecr:BatchDeleteImage'))).toBe('implicit-deny');
    expect(evaluate([branch.push], push(repo('api'), 'ecr:PutLifecyclePolicy'))).toBe('implicit-deny');
  });

  test('checkTrustPolicy (publish-branch) refuses a pattern, another branch, a tag, a pull request or two repositories', () => {
    const aud = { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' };
    const sub = (subs: string[]) => ({ 'token.actions.githubusercontent.com:sub': subs });
    const trustOf = (subs: string[], operator = 'StringEquals') => ({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: OIDC_PROVIDER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition:
            operator === 'StringEquals'
              ? { StringEquals: { ...aud, ...sub(subs) } }
              : { StringEquals: aud, [operator]: sub(subs) },
        },
      ],
    });
    const findings = (subs: string[], operator?: string) =>
      checkTrustPolicy(trustOf(subs, operator), {
        roleKind: 'publish-branch',
        roleName: 'r',
        branch: 'main',
      }).map((f) => f.invariant);
    expect(findings(['repo:acme/platform:ref:refs/heads/main'])).toEqual([]);
    expect(findings(['repo:acme/platform:ref:refs/heads/*'], 'StringLike')).toEqual([4]);
    expect(findings(['repo:acme/platform:ref:refs/heads/main'], 'StringLike')).toEqual([4]);
    expect(findings(['repo:acme/platform:ref:refs/heads/develop'])).toEqual([4]);
    expect(findings(['repo:acme/platform:ref:refs/tags/v1.4.0'])).toEqual([4]);
    expect(findings(['repo:acme/platform:pull_request'])).toEqual([4]);
    expect(findings(['repo:acme/platform:environment:dev'])).toEqual([4]);
    expect(
      findings(['repo:acme/platform:ref:refs/heads/main', 'repo:acme/admin:ref:refs/heads/main']),
    ).toEqual([4]);
    // The tag publish rules refuse a branch: a publish-main role without its tag is checked as one.
    expect(
      checkTrustPolicy(trustOf(['repo:acme/platform:ref:refs/heads/main']), { roleKind: 'publish' }).map(
        (f) => f.invariant,
      ),
    ).toEqual([4]);
  });

  test('its trust rules need its tag: without it, or with another publish name, the tag rules hold', () => {
    const kind = (name: string, tags?: Record<string, string>) =>
      roleKind({ address: 'aws_iam_role.r', type: 'aws_iam_role', name: 'r', body: { name, tags } });
    expect(kind('acme-dev-gh-publish-main', { 'gantry:role': 'publish-branch' })).toBe('publish-branch');
    expect(kind('acme-dev-gh-publish-main')).toBe('publish');
    expect(kind('acme-dev-gh-publish-admin', { 'gantry:role': 'publish-branch' })).toBe('publish');
    expect(kind('acme-dev-gh-apply', { 'gantry:role': 'publish-branch' })).toBe('apply');
  });

  test('GANTRY-IAM-014 reports the branch publish role given any other right', () => {
    const widened = build({}, (s, roles) => {
      new IamRolePolicy(s, 'extra', {
        name: 'extra',
        role: roles.branchPublisherRole!.name,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecs:UpdateService', Resource: '*' }],
        }),
      });
    });
    const found = violations(widened).filter((v) => v.ruleId === 'GANTRY-IAM-014');
    expect(found.map((v) => v.address)).toEqual(['aws_iam_role_policy.extra']);
  });

  test.each([
    [{ branch: 'main*' }, 'branchPublisher.branch: "main*" must be one literal branch name'],
    [
      { branch: 'refs/heads/main' },
      'branchPublisher.branch: "refs/heads/main" must be one literal branch name',
    ],
    [
      { roleName: 'acme-dev-gh-publish' },
      'branchPublisher.roleName: "acme-dev-gh-publish" is not an IAM role name of its own',
    ],
    [
      { repositoryArns: [repo('admin-api')] },
      'branchPublisher.repositoryArns[0]: "arn:aws:ecr:eu-west-1:111111111111:repository/acme/admin-api" is pushed by source repository "acme/admin"',
    ],
  ] as const)('refuses a bad branch publisher (%#)', (change, message) => {
    const branchPublisher = {
      roleName: 'acme-dev-gh-publish-main',
      repository: 'acme/platform',
      branch: 'main',
      repositoryArns: [repo('api')],
      ...change,
    };
    expect(() => build({ branchPublisher })).toThrow(message);
  });
});

describe("PublishRoles: a source repository's role", () => {
  test("accepts only the source repository's v* tags", () => {
    expect(evaluate([admin.trust], token('repo:acme/admin:ref:refs/tags/v3.1.0'))).toBe('allow');
    expect(evaluate([admin.trust], token('repo:acme/admin:ref:refs/heads/main'))).toBe('implicit-deny');
    expect(evaluate([admin.trust], token('repo:acme/admin:pull_request'))).toBe('implicit-deny');
    expect(evaluate([admin.trust], token('repo:acme/platform:ref:refs/tags/v3.1.0'))).toBe('implicit-deny');
  });

  test("a tag of the source repository cannot push another repository's service", () => {
    expect(evaluate([admin.push], push(repo('admin-api')))).toBe('allow');
    expect(evaluate([admin.push], push(repo('admin-web')))).toBe('allow');
    expect(evaluate([admin.push], push(repo('api')))).toBe('implicit-deny');
    expect(evaluate([admin.push], push(repo('worker'), 'ecr:InitiateLayerUpload'))).toBe('implicit-deny');
  });
});

describe('PublishRoles: checks', () => {
  test('the synthesized roles pass the trust checker and every policy rule', () => {
    for (const doc of [main.trust, admin.trust]) {
      expect(checkTrustPolicy(doc, { roleKind: 'publish', maxSessionDurationSeconds: 3600 })).toEqual([]);
    }
    expect(
      checkTrustPolicy(branch.trust, {
        roleKind: 'publish-branch',
        branch: 'main',
        maxSessionDurationSeconds: 3600,
      }),
    ).toEqual([]);
    expect(violations(stack)).toEqual([]);
  });

  test('checkTrustPolicy refuses a publish role trusting a branch, a pull request or two repositories', () => {
    const trustOf = (subs: string[]) => ({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: OIDC_PROVIDER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
            StringLike: { 'token.actions.githubusercontent.com:sub': subs },
          },
        },
      ],
    });
    const findings = (subs: string[]) =>
      checkTrustPolicy(trustOf(subs), { roleKind: 'publish', roleName: 'r' }).map((f) => f.invariant);
    expect(findings(['repo:acme/platform:ref:refs/tags/v*'])).toEqual([]);
    expect(findings(['repo:acme/platform:ref:refs/heads/main'])).toEqual([4]);
    expect(findings(['repo:acme/platform:pull_request'])).toEqual([4]);
    expect(findings(['repo:acme/platform:environment:prod'])).toEqual([4]);
    expect(findings(['repo:acme/platform:ref:refs/tags/v*', 'repo:acme/admin:ref:refs/tags/v*'])).toEqual([
      4,
    ]);
    expect(findings(['repo:acme/*:ref:refs/tags/v*'])).toContain(3);
  });

  test('GANTRY-IAM-014 reports a publish role given any other right', () => {
    const widened = build({}, (s, roles) => {
      new IamRolePolicy(s, 'extra', {
        name: 'extra',
        role: roles.publisherRole!.name,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecr:DeleteRepository', Resource: repo('api') }],
        }),
      });
    });
    const found = violations(widened).filter((v) => v.ruleId === 'GANTRY-IAM-014');
    expect(found.map((v) => v.address)).toEqual(['aws_iam_role_policy.extra']);
    expect(found[0].found).toContain('ecr:DeleteRepository');
  });

  test.each([
    [
      { publisher: undefined, branchPublisher: undefined, sources: [] },
      'give a publisher, a branch publisher or at least one source repository',
    ],
    [
      {
        sources: [
          { roleName: 'acme-dev-gh-publish-admin', repository: 'acme/admin', repositoryArns: [repo('api')] },
        ],
      },
      'is already pushed by "acme/platform"',
    ],
    [
      {
        sources: [
          {
            roleName: 'acme-dev-gh-publish-admin',
            repository: 'acme/*',
            repositoryArns: [repo('admin-api')],
          },
        ],
      },
      'sources[0].repository: "acme/*" must be one owner/name without wildcards',
    ],
    [
      {
        sources: [
          {
            roleName: 'acme-dev-gh-publish-admin',
            repository: 'acme/admin',
            repositoryArns: [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*`],
          },
        ],
      },
      'is not a literal ECR repository ARN',
    ],
  ] as const)('refuses bad props (%#)', (change, message) => {
    expect(() => build(change as Change)).toThrow(message);
  });
});
