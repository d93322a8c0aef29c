import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, Testing, TerraformStack } from 'cdktf';
import {
  DeployRoles,
  type ApplyRoleProps,
  type DeployRolesProps,
  type PlanRoleProps,
} from '../../../lib/identity/deploy-roles';
import { GithubOidcProvider } from '../../../lib/identity/github-oidc-provider';
import { checkTrustPolicy } from '../../../lib/policy/trust-policy';
import { evaluate, type EvaluationRequest } from '../../iam-evaluator';

const ACCOUNT = '333333333333';
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;

interface Synthesized {
  resource: Record<string, Record<string, Record<string, unknown>>>;
}

/** A change to the base props; `plan` and `apply` are merged into the base's. */
type Change = Partial<Omit<DeployRolesProps, 'plan' | 'apply'>> & {
  plan?: Partial<PlanRoleProps>;
  apply?: Partial<ApplyRoleProps>;
};

function withChange(base: DeployRolesProps, change: Change): DeployRolesProps {
  return {
    ...base,
    ...change,
    plan: { ...base.plan, ...change.plan },
    apply: { ...base.apply, ...change.apply },
  };
}

function synth(change: Change = {}, extend?: (roles: DeployRoles) => void): Synthesized {
  const app = new App({ outdir: Testing.app().outdir });
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const provider = new GithubOidcProvider(stack, 'oidc', { accountId: ACCOUNT, region: 'eu-west-1' });
  const roles = new DeployRoles(stack, 'roles', withChange(baseProps(provider), change));
  extend?.(roles);
  return JSON.parse(Testing.synth(stack, true)) as Synthesized;
}

function baseProps(oidcProvider: GithubOidcProvider): DeployRolesProps {
  return {
    accountId: ACCOUNT,
    region: 'eu-west-1',
    oidcProvider,
    repository: 'acme/platform',
    ownerId: 1000001,
    repositoryId: 2000002,
    plan: { roleName: 'acme-prod-gh-plan', defaultBranch: 'main' },
    apply: {
      roleName: 'acme-prod-gh-apply',
      environment: 'prod',
      deploymentBranches: { branches: ['main'] },
      managedPolicyArns: ['arn:aws:iam::aws:policy/PowerUserAccess'],
    },
  };
}

function role(out: Synthesized, kind: 'plan' | 'apply'): Record<string, unknown> {
  const found = Object.values(out.resource.aws_iam_role).filter(
    (r) => (r.tags as Record<string, string>)['gantry:role'] === kind,
  );
  expect(found).toHaveLength(1);
  return found[0];
}

const trust = (out: Synthesized, kind: 'plan' | 'apply') => role(out, kind).assume_role_policy as string;

/** A GitHub OIDC token's claims as IAM condition keys, presented by this account's provider. */
function token(sub: string | undefined, extra: Record<string, string> = {}): EvaluationRequest {
  return {
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { type: 'Federated', id: PROVIDER_ARN },
    context: {
      'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      ...(sub !== undefined ? { 'token.actions.githubusercontent.com:sub': sub } : {}),
      ...extra,
    },
  };
}

describe('DeployRoles: apply role trust (names)', () => {
  const policy = trust(synth(), 'apply');

  test.each([
    ['environment prod of acme/platform', 'repo:acme/platform:environment:prod', 'allow'],
    ['another environment', 'repo:acme/platform:environment:staging', 'implicit-deny'],
    ['the prod-approval gate', 'repo:acme/platform:environment:prod-approval', 'implicit-deny'],
    ['pull_request', 'repo:acme/platform:pull_request', 'implicit-deny'],
    ['the default branch', 'repo:acme/platform:ref:refs/heads/main', 'implicit-deny'],
    ['a feature branch', 'repo:acme/platform:ref:refs/heads/feature/x', 'implicit-deny'],
    ['another repository of the same owner', 'repo:acme/platform-tools:environment:prod', 'implicit-deny'],
    ['a same-named repository of another owner', 'repo:evil/platform:environment:prod', 'implicit-deny'],
    ['a fork (its own workflows)', 'repo:mallory/platform:environment:prod', 'implicit-deny'],
    [
      'an id-form subject in name mode',
      'repo:acme@1000001/platform@2000002:environment:prod',
      'implicit-deny',
    ],
    ['an environment name differing in case', 'repo:acme/platform:environment:Prod', 'implicit-deny'],
  ])('%s -> %s', (_name, sub, decision) => {
    expect(evaluate([policy], token(sub))).toBe(decision);
  });

  test('a token without sub, or with another audience, is denied', () => {
    expect(evaluate([policy], token(undefined))).toBe('implicit-deny');
    expect(
      evaluate(
        [policy],
        token('repo:acme/platform:environment:prod', {
          'token.actions.githubusercontent.com:aud': 'https://github.com/acme',
        }),
      ),
    ).toBe('implicit-deny');
  });

  test('another account’s GitHub provider is denied', () => {
    const request = token('repo:acme/platform:environment:prod');
    expect(
      evaluate([policy], {
        ...request,
        principal: { type: 'Federated', id: PROVIDER_ARN.replace(ACCOUNT, '111111111111') },
      }),
    ).toBe('implicit-deny');
  });

  test('has one Allow statement, matched with StringEquals, and holds every trust invariant', () => {
    const doc = JSON.parse(policy) as {
      Statement: Array<{ Effect: string; Condition: Record<string, unknown> }>;
    };
    expect(doc.Statement).toHaveLength(1);
    expect(Object.keys(doc.Statement[0].Condition)).toEqual(['StringEquals']);
    expect(
      checkTrustPolicy(policy, { roleKind: 'apply', environment: 'prod', maxSessionDurationSeconds: 3600 }),
    ).toEqual([]);
  });
});

describe('DeployRoles: apply role trust (immutable ids)', () => {
  const policy = trust(synth({ subjectFormat: 'id' }), 'apply');

  test.each([
    ['the right names and ids', 'repo:acme@1000001/platform@2000002:environment:prod', 'allow'],
    ['the names form', 'repo:acme/platform:environment:prod', 'implicit-deny'],
    [
      'the right names with another repository id (recreated repo)',
      'repo:acme@1000001/platform@9999999:environment:prod',
      'implicit-deny',
    ],
    [
      'the right names with another owner id (recreated owner)',
      'repo:acme@7777777/platform@2000002:environment:prod',
      'implicit-deny',
    ],
    ['another environment', 'repo:acme@1000001/platform@2000002:environment:staging', 'implicit-deny'],
    ['pull_request', 'repo:acme@1000001/platform@2000002:pull_request', 'implicit-deny'],
  ])('%s -> %s', (_name, sub, decision) => {
    expect(evaluate([policy], token(sub))).toBe(decision);
  });

  test('the migration format trusts both forms, still only for environment:prod', () => {
    const both = trust(synth({ subjectFormat: 'name-and-id' }), 'apply');
    expect(evaluate([both], token('repo:acme/platform:environment:prod'))).toBe('allow');
    expect(evaluate([both], token('repo:acme@1000001/platform@2000002:environment:prod'))).toBe('allow');
    expect(evaluate([both], token('repo:acme@1000001/platform@1:environment:prod'))).toBe('implicit-deny');
    expect(evaluate([both], token('repo:acme/platform:pull_request'))).toBe('implicit-deny');
    expect(JSON.parse(both).Statement).toHaveLength(1);
  });
});

describe('DeployRoles: reusable workflow pin', () => {
  const ref = 'acme/platform/.github/workflows/terraform-apply.yml@refs/heads/main';
  const policy = trust(synth({ apply: { workflowRef: ref } }), 'apply');
  const key = 'token.actions.githubusercontent.com:job_workflow_ref';

  test('allows the right environment from the pinned workflow only', () => {
    expect(evaluate([policy], token('repo:acme/platform:environment:prod', { [key]: ref }))).toBe('allow');
    expect(
      evaluate(
        [policy],
        token('repo:acme/platform:environment:prod', { [key]: ref.replace('main', 'feature') }),
      ),
    ).toBe('implicit-deny');
    expect(evaluate([policy], token('repo:acme/platform:environment:prod'))).toBe('implicit-deny');
    expect(JSON.parse(policy).Statement).toHaveLength(1);
  });
});

describe('DeployRoles: plan role', () => {
  const out = synth();
  const policy = trust(out, 'plan');

  test.each([
    ['pull_request', 'repo:acme/platform:pull_request', 'implicit-deny'],
    ['main', 'repo:acme/platform:ref:refs/heads/main', 'allow'],
    ['a feature branch', 'repo:acme/platform:ref:refs/heads/feature/x', 'implicit-deny'],
    ['a branch named like main', 'repo:acme/platform:ref:refs/heads/main-old', 'implicit-deny'],
    ['a tag', 'repo:acme/platform:ref:refs/tags/v1.0.0', 'implicit-deny'],
    ['environment:prod', 'repo:acme/platform:environment:prod', 'implicit-deny'],
    ['pull_request of another repository', 'repo:acme/other:pull_request', 'implicit-deny'],
    [
      'pull_request of a same-named repository of another owner',
      'repo:evil/platform:pull_request',
      'implicit-deny',
    ],
  ])('%s -> %s', (_name, sub, decision) => {
    expect(evaluate([policy], token(sub))).toBe(decision);
  });

  test('is tagged, lasts one hour and gets ReadOnlyAccess', () => {
    expect(role(out, 'plan')).toMatchObject({
      name: 'acme-prod-gh-plan',
      max_session_duration: 3600,
      tags: { 'gantry:role': 'plan' },
    });
    const attachments = Object.values(out.resource.aws_iam_role_policy_attachment).map((a) => a.policy_arn);
    expect(attachments).toContain('arn:aws:iam::aws:policy/ReadOnlyAccess');
  });

  test('with local state has no state statement, and denies every data-plane read', () => {
    const policies = Object.values(out.resource.aws_iam_role_policy ?? {});
    expect(policies.map((p) => p.name)).toEqual(['deny-data-reads']);
    const doc = String(policies[0].policy);
    for (const action of [
      's3:GetObject',
      'secretsmanager:GetSecretValue',
      'ssm:GetParameter',
      'logs:FilterLogEvents',
    ]) {
      expect(evaluate([doc], { action, resource: 'arn:aws:s3:::anything/at-all', context: {} })).toBe('deny');
    }
  });

  test('with a trusted environment, trusts that environment of the repository instead of the branch', () => {
    const policy = trust(synth({ plan: { trustedEnvironment: 'gantry' } }), 'plan');
    expect(evaluate([policy], token('repo:acme/platform:environment:gantry'))).toBe('allow');
    expect(evaluate([policy], token('repo:acme/platform:ref:refs/heads/main'))).toBe('implicit-deny');
    expect(evaluate([policy], token('repo:acme/platform:environment:prod'))).toBe('implicit-deny');
    expect(evaluate([policy], token('repo:acme/platform:pull_request'))).toBe('implicit-deny');
  });

  test('pullRequests adds a role pull requests alone can assume, denied data reads and object writes', () => {
    const withPr = synth({ plan: { pullRequests: { roleName: 'acme-prod-gh-plan-pr' } } });
    const roles = Object.entries(withPr.resource.aws_iam_role);
    const [key, pr] = roles.find(([, r]) => r.name === 'acme-prod-gh-plan-pr')!;
    const prTrust = pr.assume_role_policy as string;
    expect(evaluate([prTrust], token('repo:acme/platform:pull_request'))).toBe('allow');
    expect(evaluate([prTrust], token('repo:acme/platform:ref:refs/heads/main'))).toBe('implicit-deny');
    expect(evaluate([prTrust], token('repo:evil/platform:pull_request'))).toBe('implicit-deny');
    const docs = Object.values(withPr.resource.aws_iam_role_policy)
      .filter((p) => p.role === `\${aws_iam_role.${key}.name}`)
      .map((p) => String(p.policy));
    const anything = { Statement: { Effect: 'Allow' as const, Action: '*', Resource: '*' } };
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 'sqs:ReceiveMessage']) {
      expect(evaluate([anything, ...docs], { action, resource: 'arn:aws:s3:::b/k', context: {} })).toBe(
        'deny',
      );
    }
  });

  test('with an S3 backend may read the state and only Get/Put/Delete its .tflock', () => {
    const withState = synth({
      plan: {
        stateAccess: {
          bucket: 'acme-prod-tfstate',
          objectKeys: ['gantry/prod-foundation.tfstate', 'gantry/prod-services.tfstate'],
          kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0c3d0000-0000-4000-8000-000000000003`,
        },
      },
    });
    const statePolicy = Object.values(withState.resource.aws_iam_role_policy).find(
      (p) => p.name === 'terraform-state',
    )!;
    const doc = statePolicy.policy as string;
    expect(doc).not.toContain('${');
    const s3 = (action: string, key: string) => ({
      action,
      resource: `arn:aws:s3:::acme-prod-tfstate/${key}`,
      context: {},
    });
    const stateKey = 'gantry/prod-foundation.tfstate';
    expect(evaluate([doc], s3('s3:GetObject', stateKey))).toBe('allow');
    expect(evaluate([doc], s3('s3:PutObject', stateKey))).toBe('implicit-deny');
    expect(evaluate([doc], s3('s3:DeleteObject', stateKey))).toBe('implicit-deny');
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      expect(evaluate([doc], s3(action, `${stateKey}.tflock`))).toBe('allow');
    }
    expect(evaluate([doc], s3('s3:GetObject', 'gantry/other-foundation.tfstate'))).toBe('implicit-deny');
    expect(evaluate([doc], s3('s3:PutObject', 'gantry/other.tfstate.tflock'))).toBe('implicit-deny');
    expect(
      evaluate([doc], {
        action: 'kms:Decrypt',
        resource: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0c3d0000-0000-4000-8000-000000000003`,
        context: {},
      }),
    ).toBe('allow');
  });
});

describe('DeployRoles: a state key named by alias (kmsKeyAliasArn)', () => {
  const ALIAS_ARN = 'arn:aws:kms:eu-central-1:444444444444:alias/acme-tooling-tfstate';
  const STATE_KEY = 'arn:aws:kms:eu-central-1:444444444444:key/0c3d0000-0000-4000-8000-000000000004';
  const out = synth({
    plan: {
      pullRequests: { roleName: 'acme-prod-gh-plan-pr' },
      stateAccess: {
        bucket: 'acme-tooling-tfstate-444444444444',
        objectKeys: ['gantry/prod-foundation.tfstate', 'gantry/prod-services.tfstate'],
        kmsKeyAliasArn: ALIAS_ARN,
      },
    },
  });
  /** The inline documents of a role, beside an Allow of everything a Deny must beat. */
  const documentsOf = (name: string) => {
    const [key] = Object.entries(out.resource.aws_iam_role).find(([, r]) => r.name === name)!;
    return Object.values(out.resource.aws_iam_role_policy)
      .filter((p) => p.role === `\${aws_iam_role.${key}.name}`)
      .map((p) => String(p.policy));
  };
  const anything = { Statement: { Effect: 'Allow' as const, Action: '*', Resource: '*' } };
  const viaS3 = { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' };
  const decrypt = (resource: string, context: Record<string, string | string[]>) => ({
    action: 'kms:Decrypt',
    resource,
    context,
  });

  test('the plan roles may use the key whose aliases include it, through S3 of its region only', () => {
    for (const name of ['acme-prod-gh-plan', 'acme-prod-gh-plan-pr']) {
      const docs = documentsOf(name);
      const aliased = { 'kms:ResourceAliases': ['alias/acme-tooling-tfstate', 'alias/other'], ...viaS3 };
      expect(evaluate(docs, decrypt(STATE_KEY, aliased))).toBe('allow');
      // Not directly, not through another service, not a key without the alias or in another account.
      expect(
        evaluate(docs, decrypt(STATE_KEY, { 'kms:ResourceAliases': ['alias/acme-tooling-tfstate'] })),
      ).toBe('implicit-deny');
      expect(
        evaluate(
          docs,
          decrypt(STATE_KEY, {
            'kms:ResourceAliases': ['alias/acme-tooling-tfstate'],
            'kms:ViaService': 'secretsmanager.eu-central-1.amazonaws.com',
          }),
        ),
      ).toBe('implicit-deny');
      expect(evaluate(docs, decrypt(STATE_KEY, { 'kms:ResourceAliases': ['alias/other'], ...viaS3 }))).toBe(
        'deny',
      );
      expect(
        evaluate(
          docs,
          decrypt('arn:aws:kms:eu-central-1:555555555555:key/k', {
            'kms:ResourceAliases': ['alias/acme-tooling-tfstate'],
            ...viaS3,
          }),
        ),
      ).toBe('implicit-deny');
    }
  });

  test('the Deny spares only keys carrying the alias: a key without aliases, or with others, stays denied', () => {
    for (const name of ['acme-prod-gh-plan', 'acme-prod-gh-plan-pr']) {
      const docs = [anything, ...documentsOf(name)];
      expect(
        evaluate(docs, decrypt(STATE_KEY, { 'kms:ResourceAliases': ['alias/acme-tooling-tfstate'] })),
      ).toBe('allow');
      expect(evaluate(docs, decrypt(STATE_KEY, { 'kms:ResourceAliases': [] }))).toBe('deny');
      expect(evaluate(docs, decrypt(STATE_KEY, {}))).toBe('deny');
      expect(evaluate(docs, decrypt(STATE_KEY, { 'kms:ResourceAliases': ['alias/acme-prod-secrets'] }))).toBe(
        'deny',
      );
      // Every other data-plane read is denied as strictly as with a key ARN.
      expect(
        evaluate(docs, {
          action: 's3:GetObject',
          resource: 'arn:aws:s3:::acme-tooling-tfstate-444444444444/x',
          context: {},
        }),
      ).toBe('deny');
      expect(
        evaluate(docs, {
          action: 's3:GetObject',
          resource: 'arn:aws:s3:::acme-tooling-tfstate-444444444444/gantry/prod-services.tfstate',
          context: {},
        }),
      ).toBe('allow');
    }
  });

  test('the default-branch plan role generates data keys for its lock; the pull-request role only decrypts', () => {
    const generate = {
      ...decrypt(STATE_KEY, { 'kms:ResourceAliases': ['alias/acme-tooling-tfstate'], ...viaS3 }),
    };
    const request = { ...generate, action: 'kms:GenerateDataKey' };
    expect(evaluate(documentsOf('acme-prod-gh-plan'), request)).toBe('allow');
    expect(evaluate(documentsOf('acme-prod-gh-plan-pr'), request)).toBe('implicit-deny');
  });

  test.each([
    [
      'a key ARN',
      { kmsKeyAliasArn: STATE_KEY },
      /plan\.stateAccess\.kmsKeyAliasArn: .* is not a KMS alias ARN/,
    ],
    [
      'an alias pattern',
      { kmsKeyAliasArn: 'arn:aws:kms:eu-central-1:444444444444:alias/acme-*' },
      /plan\.stateAccess\.kmsKeyAliasArn/,
    ],
    ['a bare alias', { kmsKeyAliasArn: 'alias/acme-tooling-tfstate' }, /plan\.stateAccess\.kmsKeyAliasArn/],
    [
      'both a key ARN and an alias ARN',
      { kmsKeyArn: STATE_KEY, kmsKeyAliasArn: ALIAS_ARN },
      /plan\.stateAccess\.kmsKeyAliasArn: given with kmsKeyArn/,
    ],
  ])('fails on %s', (_name, key, message) => {
    expect(() =>
      synth({ plan: { stateAccess: { bucket: 'acme-state', objectKeys: ['gantry/x.tfstate'], ...key } } }),
    ).toThrow(message);
  });
});

describe('DeployRoles: apply role permissions', () => {
  test('attaches the given managed policies and boundary, tagged apply, one hour', () => {
    const out = synth({
      apply: { permissionsBoundaryArn: `arn:aws:iam::${ACCOUNT}:policy/gantry-boundary` },
    });
    expect(role(out, 'apply')).toMatchObject({
      name: 'acme-prod-gh-apply',
      max_session_duration: 3600,
      permissions_boundary: `arn:aws:iam::${ACCOUNT}:policy/gantry-boundary`,
      tags: { 'gantry:role': 'apply' },
    });
    const attachments = Object.values(out.resource.aws_iam_role_policy_attachment).map((a) => a.policy_arn);
    expect(attachments).toEqual(
      expect.arrayContaining([
        'arn:aws:iam::aws:policy/PowerUserAccess',
        'arn:aws:iam::aws:policy/ReadOnlyAccess',
      ]),
    );
    expect(attachments).toHaveLength(2);
  });

  test('passRoles grants iam:PassRole only on the named roles, only to the named service', () => {
    const taskRole = `arn:aws:iam::${ACCOUNT}:role/acme-prod-api-task`;
    const out = synth({
      apply: { passRoles: [{ roleArns: [taskRole], service: 'ecs-tasks.amazonaws.com' }] },
    });
    const [inline] = Object.values(out.resource.aws_iam_role_policy).filter((p) => p.name === 'gantry-apply');
    const doc = inline.policy as string;
    const pass = (resource: string, service?: string) =>
      evaluate([doc], {
        action: 'iam:PassRole',
        resource,
        context: service ? { 'iam:PassedToService': service } : {},
      });
    expect(pass(taskRole, 'ecs-tasks.amazonaws.com')).toBe('allow');
    expect(pass(taskRole, 'ec2.amazonaws.com')).toBe('implicit-deny');
    expect(pass(taskRole)).toBe('implicit-deny');
    expect(pass(`arn:aws:iam::${ACCOUNT}:role/admin`, 'ecs-tasks.amazonaws.com')).toBe('implicit-deny');
  });

  test('notificationTopicArns grants sns:Publish on exactly those topics, nothing when none is given', () => {
    const topic = `arn:aws:sns:eu-west-1:${ACCOUNT}:acme-prod-deploys`;
    const inline = (out: Synthesized) =>
      Object.values(out.resource.aws_iam_role_policy ?? {}).filter((p) => p.name === 'gantry-apply');
    const [policy] = inline(synth({ apply: { notificationTopicArns: [topic] } }));
    const publish = (resource: string) =>
      evaluate([policy.policy as string], { action: 'sns:Publish', resource, context: {} });
    expect(publish(topic)).toBe('allow');
    expect(publish(`arn:aws:sns:eu-west-1:${ACCOUNT}:acme-prod-alerts`)).toBe('implicit-deny');
    expect(publish(`arn:aws:sns:eu-west-1:222222222222:acme-prod-deploys`)).toBe('implicit-deny');
    expect(
      evaluate([policy.policy as string], { action: 'sns:Subscribe', resource: topic, context: {} }),
    ).toBe('implicit-deny');
    expect(inline(synth({ apply: { notificationTopicArns: [] } }))).toEqual([]);
  });

  test('statements and addToApplyPolicy render into one literal JSON policy at synth', () => {
    const out = synth(
      {
        apply: {
          statements: [
            {
              Effect: 'Allow',
              Action: 'ecs:UpdateService',
              Resource: `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/acme-prod/*`,
            },
          ],
        },
      },
      (roles) =>
        roles.addToApplyPolicy({
          Sid: 'StartDeploy',
          Effect: 'Allow',
          Action: 'codebuild:StartBuild',
          Resource: `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/acme-prod-deploy`,
        }),
    );
    const inline = Object.values(out.resource.aws_iam_role_policy).filter((p) => p.name === 'gantry-apply');
    expect(inline).toHaveLength(1);
    expect(inline[0].role).toContain('aws_iam_role.roles_apply');
    const doc = inline[0].policy as string;
    expect(doc).not.toContain('${');
    expect(JSON.parse(doc).Statement.map((s: { Action: string }) => s.Action)).toEqual([
      'ecs:UpdateService',
      'codebuild:StartBuild',
    ]);
  });

  test('addToApplyPolicy creates the inline policy when there was none', () => {
    const out = synth({}, (roles) =>
      roles.addToApplyPolicy({ Effect: 'Allow', Action: 'ecs:DescribeServices', Resource: '*' }),
    );
    expect(
      Object.values(out.resource.aws_iam_role_policy).filter((p) => p.name === 'gantry-apply'),
    ).toHaveLength(1);
  });

  test('exposes the computed role ARNs and names', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'arns');
    const provider = new GithubOidcProvider(stack, 'oidc', { accountId: ACCOUNT, region: 'eu-west-1' });
    const roles = new DeployRoles(stack, 'roles', baseProps(provider));
    expect(roles.planRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/acme-prod-gh-plan`);
    expect(roles.applyRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/acme-prod-gh-apply`);
    expect(roles.applyRoleName).toBe('acme-prod-gh-apply');
  });
});

describe('DeployRoles: rejected input', () => {
  const cases: Array<[string, Change, RegExp]> = [
    [
      'an empty deployment branch policy',
      { apply: { deploymentBranches: { branches: [], tags: [] } } },
      /roles\.apply\.deploymentBranches: no branch or tag pattern given/,
    ],
    [
      'a missing deployment branch policy',
      { apply: { deploymentBranches: undefined as never } },
      /roles\.apply\.deploymentBranches: no deployment branch policy given/,
    ],
    [
      'a session longer than one hour',
      { maxSessionDurationSeconds: 7200 },
      /maxSessionDurationSeconds: 7200 must be/,
    ],
    ['a wildcard repository', { repository: 'acme/*' }, /repository: "acme\/\*" is not owner\/name/],
    ['a wildcard default branch', { plan: { defaultBranch: 'release/*' } }, /plan\.defaultBranch/],
    ['a wildcard environment', { apply: { environment: 'prod*' } }, /apply\.environment: "prod\*"/],
    [
      'a short account id',
      { accountId: '12345' },
      /^test\/roles\.accountId: "12345" is not a 12-digit AWS account id$/,
    ],
    ['a misspelt region', { region: 'eu-wst-1' }, /^test\/roles\.region: "eu-wst-1" is not an AWS region/],
    [
      'the id format without ids',
      { subjectFormat: 'id', ownerId: undefined },
      /needs ownerId and repositoryId/,
    ],
    [
      'a PassRole on a wildcard ARN',
      {
        apply: {
          passRoles: [{ roleArns: ['arn:aws:iam::333333333333:role/*'], service: 'ecs-tasks.amazonaws.com' }],
        },
      },
      /apply\.passRoles\[0\]\.roleArns\[0\]/,
    ],
    [
      'a PassRole to no service',
      { apply: { passRoles: [{ roleArns: ['arn:aws:iam::333333333333:role/x'], service: '*' }] } },
      /apply\.passRoles\[0\]\.service/,
    ],
    [
      'a statement granting "*"',
      { apply: { statements: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
      /apply\.statements\[0\]\.Action: "\*" grants every action/,
    ],
    [
      'a statement granting iam:PassRole directly',
      { apply: { statements: [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }] } },
      /through passRoles/,
    ],
    [
      'a statement with an interpolation',
      {
        apply: {
          statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '${aws_s3_bucket.b.arn}' }],
        },
      },
      /Terraform interpolation/,
    ],
    [
      'a managed policy that is not an ARN',
      { apply: { managedPolicyArns: ['PowerUserAccess'] } },
      /apply\.managedPolicyArns\[0\]/,
    ],
    [
      'a notification topic of another account',
      { apply: { notificationTopicArns: ['arn:aws:sns:eu-west-1:222222222222:acme-prod-deploys'] } },
      /^test\/roles\.apply\.notificationTopicArns\[0\]: "arn:aws:sns:eu-west-1:222222222222:acme-prod-deploys" is a topic of account 222222222222; give a standard topic of account 333333333333 in partition aws/,
    ],
    ['identical role names', { apply: { roleName: 'acme-prod-gh-plan' } }, /the roles must differ/],
    [
      'state keys with a wildcard',
      { plan: { stateAccess: { bucket: 'acme-state', objectKeys: ['gantry/*'] } } },
      /plan\.stateAccess\.objectKeys/,
    ],
  ];

  test.each(cases)('fails on %s', (_name, change, message) => {
    expect(() => synth(change)).toThrow(message);
  });

  test('addToApplyPolicy refuses a statement granting every action', () => {
    expect(() =>
      synth({}, (roles) => roles.addToApplyPolicy({ Effect: 'Allow', Action: '*:*', Resource: '*' })),
    ).toThrow(/addToApplyPolicy\[0\]\.Action/);
  });

  test('an OIDC provider ARN that is a Terraform reference is refused', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'ref');
    const provider = new GithubOidcProvider(stack, 'oidc', { accountId: ACCOUNT, region: 'eu-west-1' });
    expect(
      () =>
        new DeployRoles(stack, 'roles', {
          ...baseProps(provider),
          oidcProvider: { providerArn: provider.provider!.arn, dependables: [] },
        }),
    ).toThrow(/trust policies must be literal JSON/);
  });
});
