/**
 * Finding 1 of the red-team review (docs/security.md, invariants 24 and 25), on the synthesized JSON with
 * the project's IAM evaluator: the role a pull request plans with cannot read data (another bucket's
 * objects, secrets, SecureString parameters, log events, queue messages, ...) even beside AWS's
 * ReadOnlyAccess, nor write a lock; it can read its own state. Environments that require an approval have
 * no such role unless the config opts in with a reason.
 */
import { referenceConfig } from '../../environments';
import type { GantryConfig } from '../../lib/config';
import { DATA_PLANE_READ_ACTIONS } from '../../lib/core/data-plane';
import { evaluate, type PolicyDocument } from '../iam-evaluator';
import { readStack, synthApp, type StackJson } from '../util';

/**
 * What AWS's ReadOnlyAccess grants that matters here: every Get/List/Describe, and the data reads it is
 * known for (the review found each of them in its document). An excerpt, so an Allow a Deny must beat.
 */
const READ_ONLY_ACCESS: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['*:Get*', '*:List*', '*:Describe*', '*:BatchGet*'], Resource: '*' },
    {
      Effect: 'Allow',
      Action: [
        's3:GetObject',
        'ssm:GetParameter*',
        'secretsmanager:GetSecretValue',
        'dynamodb:Scan',
        'dynamodb:Query',
        'logs:FilterLogEvents',
        'logs:StartQuery',
        'sqs:ReceiveMessage',
        'lambda:GetFunction',
        'ecr:BatchGetImage',
        'kms:Decrypt',
      ],
      Resource: '*',
    },
  ],
};

/** Every environment on an S3 backend, staging's pull requests planned by choice. */
const config: GantryConfig = {
  ...referenceConfig,
  environments: referenceConfig.environments.map((env) => ({
    ...env,
    stateBackend: {
      bucket: `acme-${env.name}-tfstate`,
      kmsKeyId: `arn:aws:kms:${env.region}:${env.accountId}:key/0a1d0000-0000-4000-8000-00000000${env.name === 'dev' ? '0001' : env.name === 'staging' ? '0002' : '0003'}`,
    },
    ...(env.name === 'staging'
      ? { approval: { ...env.approval, pullRequestPlans: { reason: 'staging holds synthetic data only' } } }
      : {}),
  })),
};
const outdir = synthApp(config);

type Resources = Record<string, Record<string, Record<string, unknown>>>;

function roles(stack: StackJson): Array<{ key: string; name: string; trust: string; documents: string[] }> {
  const resources = stack.resource as Resources;
  return Object.entries(resources.aws_iam_role).map(([key, role]) => ({
    key,
    name: String(role.name),
    trust: String(role.assume_role_policy),
    documents: Object.values(resources.aws_iam_role_policy ?? {})
      .filter((p) => p.role === `\${aws_iam_role.${key}.name}`)
      .map((p) => String(p.policy)),
  }));
}

const pullRequestToken = (env: string) => ({
  action: 'sts:AssumeRoleWithWebIdentity',
  principal: {
    type: 'Federated' as const,
    id: `arn:aws:iam::${accountOf(env)}:oidc-provider/token.actions.githubusercontent.com`,
  },
  context: {
    'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
    'token.actions.githubusercontent.com:sub': 'repo:acme/platform:pull_request',
  },
});
const accountOf = (env: string) => config.environments.find((e) => e.name === env)!.accountId;

describe.each(config.environments.map((e) => e.name))('%s-foundation plan roles', (env) => {
  const stack = readStack(outdir, `${env}-foundation`);
  const all = roles(stack);
  const environment = config.environments.find((e) => e.name === env)!;
  const region = environment.region;
  const account = environment.accountId;
  const bucket = `arn:aws:s3:::acme-${env}-tfstate`;
  const pullRequestRole = all.find((r) => r.name === `acme-${env}-gh-plan-pr`);
  const branchRole = all.find((r) => r.name === `acme-${env}-gh-plan`)!;

  test(
    env === 'prod'
      ? 'prod has no pull-request role: no role of it trusts a pull request'
      : 'a pull request can assume only the pull-request role',
    () => {
      const trusting = all
        .filter((r) => evaluate([r.trust], pullRequestToken(env)) === 'allow')
        .map((r) => r.name);
      expect(trusting).toEqual(env === 'prod' ? [] : [`acme-${env}-gh-plan-pr`]);
      expect(evaluate([branchRole.trust], pullRequestToken(env))).toBe('implicit-deny');
    },
  );

  const cases: Array<[string, string, string]> = [
    ["another bucket's object", 's3:GetObject', 'arn:aws:s3:::acme-customer-exports/2026/orders.csv'],
    ['another state file in the bucket', 's3:GetObject', `${bucket}/gantry/github.tfstate`],
    [
      'a secret',
      'secretsmanager:GetSecretValue',
      `arn:aws:secretsmanager:${region}:${account}:secret:acme/${env}/database-url-AbCdEf`,
    ],
    [
      'a SecureString parameter',
      'ssm:GetParameter',
      `arn:aws:ssm:${region}:${account}:parameter/acme/${env}/stripe-key`,
    ],
    ['parameters by path', 'ssm:GetParametersByPath', `arn:aws:ssm:${region}:${account}:parameter/acme`],
    [
      'log events',
      'logs:FilterLogEvents',
      `arn:aws:logs:${region}:${account}:log-group:/gantry/acme-${env}/services/api`,
    ],
    [
      'a log query',
      'logs:StartQuery',
      `arn:aws:logs:${region}:${account}:log-group:/gantry/acme-${env}/services/api`,
    ],
    ['queue messages', 'sqs:ReceiveMessage', `arn:aws:sqs:${region}:${account}:acme-${env}-jobs`],
    ['table items', 'dynamodb:Scan', `arn:aws:dynamodb:${region}:${account}:table/sessions`],
    ['function code', 'lambda:GetFunction', `arn:aws:lambda:${region}:${account}:function:billing`],
    ['image layers', 'ecr:BatchGetImage', `arn:aws:ecr:${region}:${account}:repository/acme/api`],
    ['a decryption with another key', 'kms:Decrypt', `arn:aws:kms:${region}:${account}:key/other`],
  ];

  const decide = (documents: string[], action: string, resource: string) =>
    evaluate([READ_ONLY_ACCESS, ...documents], { action, resource, context: {} });

  for (const [role, label] of [
    [branchRole, 'the default-branch plan role'],
    ...(pullRequestRole ? [[pullRequestRole, 'the pull-request plan role'] as const] : []),
  ] as const) {
    test.each(cases)(`${label} cannot read %s, ReadOnlyAccess notwithstanding`, (_what, action, resource) => {
      expect(decide(role.documents, action, resource)).toBe('deny');
    });

    test(`${label} reads its own state and the state's key`, () => {
      for (const stack of ['foundation', 'services']) {
        expect(decide(role.documents, 's3:GetObject', `${bucket}/gantry/${env}-${stack}.tfstate`)).toBe(
          'allow',
        );
      }
      expect(decide(role.documents, 'kms:Decrypt', environment.stateBackend!.kmsKeyId!)).toBe('allow');
      // Metadata reads stay open: a plan describes what it manages.
      expect(
        decide(
          role.documents,
          'ecs:DescribeServices',
          `arn:aws:ecs:${region}:${account}:service/acme-${env}/api`,
        ),
      ).toBe('allow');
    });
  }

  if (pullRequestRole) {
    test('the pull-request plan role writes and deletes no lock file, nor any object, whatever else it is given', () => {
      const lock = `${bucket}/gantry/${env}-services.tfstate.tflock`;
      const broad: PolicyDocument = { Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*' } };
      for (const action of ['s3:PutObject', 's3:DeleteObject']) {
        expect(
          evaluate([READ_ONLY_ACCESS, broad, ...pullRequestRole.documents], {
            action,
            resource: lock,
            context: {},
          }),
        ).toBe('deny');
      }
    });
  }

  test('the default-branch plan role may still take and release its lock', () => {
    const lock = `${bucket}/gantry/${env}-services.tfstate.tflock`;
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      expect(evaluate(branchRole.documents, { action, resource: lock, context: {} })).toBe('allow');
    }
  });

  test('the deny covers every data-plane read Gantry lists', () => {
    const deny = JSON.parse(
      branchRole.documents.find((d) => d.includes('DenyDataPlaneReads'))!,
    ) as PolicyDocument;
    const statement = [deny.Statement].flat()[0];
    expect(statement.Action).toEqual([...DATA_PLANE_READ_ACTIONS]);
  });
});

test('the reference configuration plans only dev from pull requests', () => {
  const reference = synthApp(referenceConfig);
  const pullRequestRoles = ['dev', 'staging', 'prod'].flatMap((env) =>
    roles(readStack(reference, `${env}-foundation`))
      .filter((r) => r.name.endsWith('-gh-plan-pr'))
      .map((r) => r.name),
  );
  expect(pullRequestRoles).toEqual(['acme-dev-gh-plan-pr']);
});
