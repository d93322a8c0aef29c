/**
 * The deploy project role's apply rights, on the synthesized JSON of every reference services stack
 * (and of a `loadBalancer.create`, a `network.fromSsm` and an S3-state variant): every resource type
 * the stack holds has a row in `SERVICES_STACK_PERMISSIONS`, every action of that row is allowed by the
 * role's policies on an ARN built here from the stack's own resources, and nothing of another
 * environment, another project or the role itself is.
 */
import { referenceConfig } from '../../../environments';
import {
  SERVICES_RELEASE_PERMISSIONS,
  SERVICES_STACK_PERMISSIONS,
  servicesApplyStatements,
  targetGroupNamePrefix,
  type PermissionGroup,
} from '../../../lib/runner';
import { servicesStackScope } from '../../../stacks/services-apply-scope';
import {
  evaluate,
  type EvaluationRequest,
  type PolicyDocument,
  type PolicyStatement,
} from '../../iam-evaluator';
import { readStack, synthApp, withCreatedLoadBalancer, withEnvironment, type StackJson } from '../../util';

type Body = Record<string, unknown>;

const fromSsmDev = withEnvironment('dev', (env) => ({
  ...env,
  network: { fromSsm: { prefix: '/acme/dev/' } },
}));
const s3Staging = withEnvironment('staging', (env) => ({
  ...env,
  stateBackend: { bucket: 'acme-staging-terraform', kmsKeyId: 'alias/acme-staging-state' },
}));

/** dev without a deploy project: the GitHub apply role runs `gantry deploy` itself. */
const githubApplyDev = withEnvironment('dev', (env) => ({
  ...env,
  runners: { githubActions: env.runners?.githubActions },
}));

const outdirs = {
  reference: synthApp(),
  githubApply: synthApp(githubApplyDev),
  created: synthApp(withCreatedLoadBalancer()),
  fromSsm: synthApp(fromSsmDev),
  s3: synthApp(s3Staging),
};

/** Each services stack checked: the reference three and the variants. */
const CASES = [
  { name: 'dev', outdir: outdirs.reference, env: 'dev', config: referenceConfig },
  { name: 'staging', outdir: outdirs.reference, env: 'staging', config: referenceConfig },
  { name: 'prod', outdir: outdirs.reference, env: 'prod', config: referenceConfig },
  {
    name: 'prod, loadBalancer.create',
    outdir: outdirs.created,
    env: 'prod',
    config: withCreatedLoadBalancer(),
  },
  { name: 'dev, network.fromSsm', outdir: outdirs.fromSsm, env: 'dev', config: fromSsmDev },
  { name: 'staging, S3 state', outdir: outdirs.s3, env: 'staging', config: s3Staging },
] as const;

function entries(stack: StackJson, type: string): Array<[string, Body]> {
  const section = type.startsWith('data.') ? stack.data : stack.resource;
  return Object.entries(section?.[type.replace(/^data\./, '')] ?? {});
}

function bodies(stack: StackJson, type: string): Body[] {
  return entries(stack, type).map(([, b]) => b);
}

/** The resource types (`data.<type>` for data sources) a synthesized stack holds. */
function typesOf(stack: StackJson): string[] {
  return [
    ...Object.keys(stack.resource ?? {}),
    ...Object.keys(stack.data ?? {}).map((t) => `data.${t}`),
  ].sort();
}

function provider(stack: StackJson): { region: string; account: string; tag: string } {
  const aws = (stack.provider?.aws ?? [])[0] as {
    region: string;
    allowed_account_ids: string[];
    default_tags: Array<{ tags: Record<string, string> }>;
  };
  return {
    region: aws.region,
    account: aws.allowed_account_ids[0],
    tag: aws.default_tags[0].tags['gantry:stack'],
  };
}

/** The deploy project role of a foundation stack: its inline and attached (Gantry-made) policies. */
function deployRole(foundation: StackJson, roleName: string): { arn: string; documents: string[] } {
  const roles = entries(foundation, 'aws_iam_role').filter(([, r]) => r.name === roleName);
  expect(roles).toHaveLength(1);
  const ref = `\${aws_iam_role.${roles[0][0]}.name}`;
  const inline = bodies(foundation, 'aws_iam_role_policy')
    .filter((p) => p.role === ref)
    .map((p) => p.policy as string);
  const attached = bodies(foundation, 'aws_iam_role_policy_attachment')
    .filter((a) => a.role === ref)
    .map((a) => {
      const match = /^\$\{aws_iam_policy\.([^.]+)\.arn\}$/.exec(a.policy_arn as string);
      // Only the policies Gantry derived: no AWS managed (or other) policy on the reference role.
      expect(match).not.toBeNull();
      return foundation.resource?.aws_iam_policy?.[match![1]].policy as string;
    });
  const account = provider(foundation).account;
  return { arn: `arn:aws:iam::${account}:role/${roleName}`, documents: [...inline, ...attached] };
}

/** The statements of the services key's policy that name the deploy role (not the root delegation). */
function keyPolicyFor(services: StackJson, roleArn: string): PolicyDocument {
  const [key] = bodies(services, 'aws_kms_key');
  const doc = JSON.parse(key.policy as string) as { Statement: PolicyStatement[] };
  const named = doc.Statement.filter((s) => {
    const aws = (s.Principal as { AWS?: string | string[] } | undefined)?.AWS;
    return aws !== undefined && ([] as string[]).concat(aws).includes(roleArn);
  });
  return { Version: '2012-10-17', Statement: named };
}

const HEX16 = '0123456789abcdef';

/** ECR repository ARNs, from the synthesized foundation stacks: the environment's and its upstreams'. */
interface Repositories {
  readonly own: string[];
  readonly upstream: string[];
}

function repositoryArnsOf(outdir: string, env: string): string[] {
  const foundation = readStack(outdir, `${env}-foundation`);
  const { region, account } = provider(foundation);
  return bodies(foundation, 'aws_ecr_repository').map(
    (r) => `arn:aws:ecr:${region}:${account}:repository/${r.name as string}`,
  );
}

function repositoriesOf(outdir: string, env: string, config: typeof referenceConfig): Repositories {
  const names = config.environments.map((e) => e.name);
  return {
    own: repositoryArnsOf(outdir, env),
    upstream: names.slice(0, names.indexOf(env)).flatMap((e) => repositoryArnsOf(outdir, e)),
  };
}

/**
 * The requests the actions of `group` make for the resources of `type` in `services`, with ARNs built
 * from the stack's own resources (names, listener ARNs, tags), independently of how the policy names
 * them.
 */
function requestsFor(
  group: PermissionGroup,
  type: string,
  services: StackJson,
  repositories: Repositories = { own: [], upstream: [] },
): Array<Omit<EvaluationRequest, 'action'>> {
  const { region, account, tag } = provider(services);
  const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${account}:${rest}`;
  const cluster = bodies(services, 'aws_ecs_cluster')[0]?.name as string;
  const lb = bodies(services, 'aws_lb')[0]?.name as string | undefined;
  const listenerArns = bodies(services, 'aws_lb_listener_rule')
    .map((r) => r.listener_arn as string)
    .map((l) =>
      l.startsWith('arn:') ? l : arn('elasticloadbalancing', `listener/app/${lb}/${HEX16}/fedcba9876543210`),
    );
  const when = group.when;
  const context: Record<string, string | string[]> = {};
  if (when === 'creating') context['aws:RequestTag/gantry:stack'] = tag;
  if (when === 'tagged') context['aws:ResourceTag/gantry:stack'] = tag;
  if (when && typeof when === 'object' && 'createAction' in when)
    context['ec2:CreateAction'] = when.createAction[0];
  if (when && typeof when === 'object' && 'serviceName' in when)
    context['iam:AWSServiceName'] = when.serviceName;
  if (when === 'in-cluster') context['ecs:cluster'] = arn('ecs', `cluster/${cluster}`);
  const at = (resources: string[]) => resources.map((resource) => ({ resource, context }));
  const migrations = bodies(services, 'aws_ecs_task_definition').filter((t) =>
    (t.family as string).endsWith('-migrate'),
  );
  switch (group.on) {
    case 'any':
      return [{ context }];
    case 'cluster':
      return at([arn('ecs', `cluster/${cluster}`)]);
    case 'services':
      return at(
        bodies(services, 'aws_ecs_service').map((s) => arn('ecs', `service/${cluster}/${s.name as string}`)),
      );
    case 'task-definitions':
      return at(
        bodies(services, 'aws_ecs_task_definition').map((t) =>
          arn('ecs', `task-definition/${t.family as string}:1`),
        ),
      );
    case 'migration-task-definitions':
      return at(migrations.map((t) => arn('ecs', `task-definition/${t.family as string}:3`)));
    case 'cluster-tasks':
      return at([arn('ecs', `task/${cluster}/0123456789abcdef0123456789abcdef`)]);
    case 'passed-roles':
      // A release passes the roles of the migration task definitions (RunTask), the apply those of all.
      return (type === 'release' ? migrations : bodies(services, 'aws_ecs_task_definition')).flatMap((t) =>
        [t.task_role_arn, t.execution_role_arn].map((resource) => ({
          resource: resource as string,
          context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        })),
      );
    case 'log-groups':
      return at(
        bodies(services, 'aws_cloudwatch_log_group').flatMap((g) => [
          arn('logs', `log-group:${g.name as string}`),
          arn('logs', `log-group:${g.name as string}:*`),
        ]),
      );
    case 'alarms':
      return at(
        bodies(services, 'aws_cloudwatch_metric_alarm').map((a) =>
          arn('cloudwatch', `alarm:${a.alarm_name as string}`),
        ),
      );
    case 'scaling-alarms':
      return at(
        bodies(services, 'aws_ecs_service').map((s) =>
          arn(
            'cloudwatch',
            `alarm:TargetTracking-service/${cluster}/${s.name as string}-AlarmHigh-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`,
          ),
        ),
      );
    case 'target-groups':
      return at(
        bodies(services, 'aws_lb_target_group').map((g) =>
          arn('elasticloadbalancing', `targetgroup/${g.name as string}/${HEX16}`),
        ),
      );
    case 'listener':
      return at(listenerArns);
    case 'listener-rules':
      return at(listenerArns.map((l) => `${l.replace(':listener/', ':listener-rule/')}/0a1b2c3d4e5f6a7b`));
    case 'load-balancer':
      return at([arn('elasticloadbalancing', `loadbalancer/app/${lb}/${HEX16}`)]);
    case 'load-balancer-listeners':
      return at([arn('elasticloadbalancing', `listener/app/${lb}/${HEX16}/fedcba9876543210`)]);
    case 'vpc':
      return at(
        bodies(services, 'aws_security_group').map((g) => {
          const vpc = g.vpc_id as string;
          return arn('ec2', `vpc/${vpc.startsWith('vpc-') ? vpc : 'vpc-0ffee0000000000a1'}`);
        }),
      );
    case 'security-groups':
      return at([arn('ec2', 'security-group/sg-0123456789abcdef0')]);
    case 'security-group-rules':
      return at([arn('ec2', 'security-group-rule/sgr-0123456789abcdef0')]);
    case 'scalable-targets':
      return bodies(services, 'aws_appautoscaling_target').map((t) => {
        const dimension: Record<string, string> =
          when === 'ecs-desired-count'
            ? {
                'application-autoscaling:service-namespace': t.service_namespace as string,
                'application-autoscaling:scalable-dimension': t.scalable_dimension as string,
              }
            : {};
        return {
          resource: arn('application-autoscaling', 'scalable-target/0123456789abcdef0123456789abcdef'),
          context: dimension,
        };
      });
    case 'services-key': {
      const alias = bodies(services, 'aws_kms_alias')[0].name as string;
      const resource = arn('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab');
      // Granted by the key policy: a key that has no alias yet. By the role: the key with the alias.
      return [
        { resource, context: group.grantedBy === 'key-policy' ? {} : { 'kms:ResourceAliases': [alias] } },
      ];
    }
    case 'services-key-alias':
      return at(bodies(services, 'aws_kms_alias').map((a) => arn('kms', a.name as string)));
    case 'network-parameters':
      return at(
        bodies(services, 'data.aws_ssm_parameter').map((p) =>
          arn('ssm', `parameter/${(p.name as string).replace(/^\//, '')}`),
        ),
      );
    case 'user-pools':
      return at(
        bodies(services, 'aws_lb_listener_rule')
          .flatMap((r) => r.action as Body[])
          .flatMap((a) =>
            a.authenticate_cognito ? [(a.authenticate_cognito as Body).user_pool_arn as string] : [],
          ),
      );
    case 'service-linked-role': {
      const slr = when as { serviceName: string; roleName: string };
      return at([`arn:aws:iam::${account}:role/aws-service-role/${slr.serviceName}/${slr.roleName}`]);
    }
    case 'registry-token':
      return repositories.own.length > 0 ? [{ context }] : [];
    case 'repositories':
      return at(repositories.own);
    case 'promotion-target-repositories':
      return at(repositories.upstream.length > 0 ? repositories.own : []);
    case 'upstream-repositories':
      return at(repositories.upstream);
    default:
      throw new Error(`no request built for ${group.on} (${type}): add it to this test`);
  }
}

describe.each(CASES)('deploy role of $name', ({ outdir, env, config }) => {
  const services = readStack(outdir, `${env}-services`);
  const foundation = readStack(outdir, `${env}-foundation`);
  const role = deployRole(foundation, `acme-${env}-deploy-build`);
  const keyPolicy = keyPolicyFor(services, role.arn);
  const types = typesOf(services);

  test('every resource type of the services stack has its permissions in the table', () => {
    const missing = types.filter((t) => SERVICES_STACK_PERMISSIONS[t] === undefined);
    expect(missing).toEqual([]);
  });

  test('the scope the stack factory derives lists exactly the types the stack holds', () => {
    const environment = config.environments.find((e) => e.name === env)!;
    expect([...servicesStackScope(config.organization, environment).resourceTypes].sort()).toEqual(types);
  });

  test('the role can do every action of the table on the resources of its stack', () => {
    let checked = 0;
    const refused: string[] = [];
    for (const type of types) {
      for (const group of SERVICES_STACK_PERMISSIONS[type]) {
        const requests = requestsFor(group, type, services);
        for (const request of requests) {
          for (const action of group.actions) {
            const documents = group.grantedBy === 'key-policy' ? [keyPolicy] : role.documents;
            const principal =
              group.grantedBy === 'key-policy' ? { type: 'AWS' as const, id: role.arn } : undefined;
            const decision = evaluate(documents, { ...request, action, ...(principal ? { principal } : {}) });
            checked += 1;
            if (decision !== 'allow')
              refused.push(`${type}: ${action} on ${request.resource ?? '(no resource)'} -> ${decision}`);
          }
        }
      }
    }
    expect(refused).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  test('the role can do what gantry deploy calls: follow the rollouts, run and wait for the migration tasks, read and promote the images', () => {
    const refused: string[] = [];
    let migrationRuns = 0;
    const repositories = repositoriesOf(outdir, env, config);
    expect(repositories.own.length).toBeGreaterThan(0);
    for (const group of SERVICES_RELEASE_PERMISSIONS) {
      for (const request of requestsFor(group, 'release', services, repositories)) {
        for (const action of group.actions) {
          if (action === 'ecs:RunTask') migrationRuns += 1;
          const decision = evaluate(role.documents, { ...request, action });
          if (decision !== 'allow') refused.push(`${action} on ${request.resource} -> ${decision}`);
        }
      }
    }
    expect(refused).toEqual([]);
    // api has a migration in every reference environment.
    expect(migrationRuns).toBe(1);
  });

  test('no PowerUserAccess or AdministratorAccess: every attached policy is one Gantry derived', () => {
    const [roleKey] = entries(foundation, 'aws_iam_role').find(
      ([, r]) => r.name === `acme-${env}-deploy-build`,
    )!;
    const attached = bodies(foundation, 'aws_iam_role_policy_attachment')
      .filter((a) => a.role === `\${aws_iam_role.${roleKey}.name}`)
      .map((a) => a.policy_arn as string);
    expect(attached).toHaveLength(3);
    for (const arn of attached) expect(arn).toMatch(/^\$\{aws_iam_policy\./);
  });
});

describe('deploy role of dev: what it may not do', () => {
  const outdir = outdirs.reference;
  const foundation = readStack(outdir, 'dev-foundation');
  const role = deployRole(foundation, 'acme-dev-deploy-build');
  // As if someone attached AdministratorAccess: the explicit Denies must still hold.
  const everything: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  const decide = (
    action: string,
    resource: string,
    context: Record<string, string> = {},
    extra: PolicyDocument[] = [],
  ) => evaluate([...role.documents, ...extra], { action, resource, context });
  const dev = '111111111111';
  const staging = '222222222222';

  test.each([
    'codebuild:UpdateProject',
    'codebuild:DeleteProject',
    'codebuild:CreateWebhook',
    'codebuild:UpdateWebhook',
    'codebuild:DeleteWebhook',
    'codebuild:StartBuild',
  ])('%s on its own project is denied, even with AdministratorAccess attached', (action) => {
    const own = `arn:aws:codebuild:eu-west-1:${dev}:project/acme-dev-deploy`;
    expect(decide(action, own)).toBe('deny');
    expect(decide(action, own, {}, [everything])).toBe('deny');
    // Another project: nothing grants it (implicit), and the guard is about its own.
    expect(decide(action, `arn:aws:codebuild:eu-west-1:${dev}:project/acme-dev-runner`)).toBe(
      'implicit-deny',
    );
  });

  test.each([
    'cloudtrail:StopLogging',
    'cloudtrail:DeleteTrail',
    'cloudtrail:UpdateTrail',
    'cloudtrail:PutEventSelectors',
  ])('%s on any trail is denied, even with AdministratorAccess attached', (action) => {
    expect(decide(action, `arn:aws:cloudtrail:eu-west-1:${dev}:trail/organization`, {}, [everything])).toBe(
      'deny',
    );
  });

  test.each([
    'iam:PutRolePolicy',
    'iam:AttachRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:DetachRolePolicy',
    'iam:UpdateAssumeRolePolicy',
    'iam:PutRolePermissionsBoundary',
    'iam:DeleteRolePermissionsBoundary',
  ])('%s on its own role is denied, even with AdministratorAccess attached', (action) => {
    expect(decide(action, role.arn, {}, [everything])).toBe('deny');
  });

  test('it cannot rewrite its derived policies either', () => {
    const own = `arn:aws:iam::${dev}:policy/acme-dev-deploy-build-apply-services`;
    for (const action of ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion'])
      expect(decide(action, own, {}, [everything])).toBe('deny');
  });

  test.each([
    ['ecs:UpdateService', `arn:aws:ecs:eu-west-1:${staging}:service/acme-staging/api`],
    ['ecs:UpdateService', `arn:aws:ecs:eu-west-1:${dev}:service/acme-other/api`],
    ['ecs:DeleteCluster', `arn:aws:ecs:eu-west-1:${dev}:cluster/acme-staging`],
    ['ecs:RegisterTaskDefinition', `arn:aws:ecs:eu-west-1:${dev}:task-definition/other-api:1`],
    ['logs:PutRetentionPolicy', `arn:aws:logs:eu-west-1:${dev}:log-group:/aws/codebuild/acme-dev-deploy`],
    ['logs:DeleteLogGroup', `arn:aws:logs:eu-west-1:${dev}:log-group:/gantry/acme-dev/services/api`],
    ['cloudwatch:DeleteAlarms', `arn:aws:cloudwatch:eu-west-1:${dev}:alarm:billing-alarm`],
    [
      'elasticloadbalancing:DeleteTargetGroup',
      `arn:aws:elasticloadbalancing:eu-west-1:${dev}:targetgroup/other-api/${HEX16}`,
    ],
    [
      'elasticloadbalancing:DeleteRule',
      `arn:aws:elasticloadbalancing:eu-west-1:${dev}:listener-rule/app/other/0a1d000000000001/0a1d0000000000f1/${HEX16}`,
    ],
    // Its listener exists: the rules on it, not the listener or its load balancer.
    [
      'elasticloadbalancing:ModifyListener',
      `arn:aws:elasticloadbalancing:eu-west-1:${dev}:listener/app/acme-dev/0a1d000000000001/0a1d0000000000f1`,
    ],
    [
      'elasticloadbalancing:DeleteLoadBalancer',
      `arn:aws:elasticloadbalancing:eu-west-1:${dev}:loadbalancer/app/acme-dev/0a1d000000000001`,
    ],
    ['kms:ScheduleKeyDeletion', `arn:aws:kms:eu-west-1:${dev}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
    ['iam:PassRole', `arn:aws:iam::${dev}:role/acme-dev-gh-apply`],
    ['iam:PassRole', `arn:aws:iam::${dev}:role/acme-dev-deploy-build`],
    ['iam:CreateRole', `arn:aws:iam::${dev}:role/anything`],
    ['s3:GetObject', 'arn:aws:s3:::acme-dev-data/secret.json'],
  ])('%s on %s is not granted', (action, resource) => {
    expect(decide(action, resource)).toBe('implicit-deny');
  });

  test('it runs only the migration task definitions, only in its cluster, and passes only their roles to ECS tasks', () => {
    const cluster = `arn:aws:ecs:eu-west-1:${dev}:cluster/acme-dev`;
    const taskDefinition = (family: string) => `arn:aws:ecs:eu-west-1:${dev}:task-definition/${family}:7`;
    const run = (resource: string, context: Record<string, string>) =>
      decide('ecs:RunTask', resource, context);
    expect(run(taskDefinition('acme-dev-api-migrate'), { 'ecs:cluster': cluster })).toBe('allow');
    // The service's own task definition, another service's, another environment's, another family.
    for (const family of [
      'acme-dev-api',
      'acme-dev-admin-migrate',
      'acme-staging-api-migrate',
      'other-migrate',
    ])
      expect(run(taskDefinition(family), { 'ecs:cluster': cluster })).toBe('implicit-deny');
    expect(
      run(`arn:aws:ecs:eu-west-1:${staging}:task-definition/acme-dev-api-migrate:7`, {
        'ecs:cluster': cluster,
      }),
    ).toBe('implicit-deny');
    // Another cluster, or no cluster named.
    const elsewhere: Array<Record<string, string>> = [
      { 'ecs:cluster': `arn:aws:ecs:eu-west-1:${dev}:cluster/acme-other` },
      {},
    ];
    for (const context of elsewhere)
      expect(run(taskDefinition('acme-dev-api-migrate'), context)).toBe('implicit-deny');
    // Waiting for it: the tasks of its cluster only.
    const task = (c: string) => `arn:aws:ecs:eu-west-1:${dev}:task/${c}/0123456789abcdef0123456789abcdef`;
    expect(decide('ecs:DescribeTasks', task('acme-dev'), { 'ecs:cluster': cluster })).toBe('allow');
    expect(
      decide('ecs:DescribeTasks', task('acme-other'), {
        'ecs:cluster': `arn:aws:ecs:eu-west-1:${dev}:cluster/acme-other`,
      }),
    ).toBe('implicit-deny');
    for (const action of ['ecs:StopTask', 'ecs:StartTask', 'ecs:ExecuteCommand'])
      expect(decide(action, task('acme-dev'), { 'ecs:cluster': cluster })).toBe('implicit-deny');
    // RunTask passes the migration task's task and execution roles to ECS tasks, nothing else.
    const toTasks = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };
    for (const name of ['acme-dev-api-task', 'acme-dev-api-exec']) {
      const roleArn = `arn:aws:iam::${dev}:role/${name}`;
      expect(decide('iam:PassRole', roleArn, toTasks)).toBe('allow');
      expect(decide('iam:PassRole', roleArn, { 'iam:PassedToService': 'lambda.amazonaws.com' })).toBe(
        'implicit-deny',
      );
    }
    for (const name of ['acme-staging-api-task', 'acme-dev-deploy-build', 'acme-dev-gh-apply', 'admin'])
      expect(decide('iam:PassRole', `arn:aws:iam::${dev}:role/${name}`, toTasks)).toBe('implicit-deny');
  });

  test("another stack's security groups and keys are not its own", () => {
    const sg = `arn:aws:ec2:eu-west-1:${dev}:security-group/sg-0123456789abcdef0`;
    expect(decide('ec2:DeleteSecurityGroup', sg, { 'aws:ResourceTag/gantry:stack': 'dev-services' })).toBe(
      'allow',
    );
    expect(decide('ec2:DeleteSecurityGroup', sg, { 'aws:ResourceTag/gantry:stack': 'dev-foundation' })).toBe(
      'implicit-deny',
    );
    expect(decide('ec2:AuthorizeSecurityGroupIngress', sg)).toBe('implicit-deny');
    expect(decide('ec2:CreateTags', sg, { 'aws:ResourceTag/gantry:stack': 'staging-services' })).toBe(
      'implicit-deny',
    );
    const key = `arn:aws:kms:eu-west-1:${dev}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect(
      decide('kms:PutKeyPolicy', key, { 'kms:ResourceAliases': ['alias/acme-dev-services'] } as never),
    ).toBe('allow');
    for (const aliases of [['alias/acme-dev-foundation'], []]) {
      expect(decide('kms:PutKeyPolicy', key, { 'kms:ResourceAliases': aliases } as never)).toBe(
        'implicit-deny',
      );
    }
    // A key is created only with the stack's tag.
    expect(evaluate(role.documents, { action: 'kms:CreateKey', context: {} })).toBe('implicit-deny');
    expect(
      evaluate(role.documents, {
        action: 'kms:CreateKey',
        context: { 'aws:RequestTag/gantry:stack': 'dev-services' },
      }),
    ).toBe('allow');
  });
});

describe('the GitHub apply role of an environment without a deploy project', () => {
  const foundation = readStack(outdirs.githubApply, 'dev-foundation');
  const services = readStack(outdirs.githubApply, 'dev-services');
  const role = deployRole(foundation, 'acme-dev-gh-apply');
  const dev = '111111111111';
  const cluster = `arn:aws:ecs:eu-west-1:${dev}:cluster/acme-dev`;

  test('may do what gantry deploy calls beyond the apply', () => {
    const refused: string[] = [];
    const repositories = repositoriesOf(outdirs.githubApply, 'dev', githubApplyDev);
    for (const group of SERVICES_RELEASE_PERMISSIONS) {
      for (const request of requestsFor(group, 'release', services, repositories)) {
        for (const action of group.actions) {
          const decision = evaluate(role.documents, { ...request, action });
          if (decision !== 'allow') refused.push(`${action} on ${request.resource} -> ${decision}`);
        }
      }
    }
    expect(refused).toEqual([]);
  });

  test('runs only the migration task in its cluster, and passes only its roles', () => {
    const migrate = `arn:aws:ecs:eu-west-1:${dev}:task-definition/acme-dev-api-migrate:2`;
    const decide = (action: string, resource: string, context: Record<string, string>) =>
      evaluate(role.documents, { action, resource, context });
    expect(decide('ecs:RunTask', migrate, { 'ecs:cluster': cluster })).toBe('allow');
    expect(
      decide('ecs:RunTask', `arn:aws:ecs:eu-west-1:${dev}:task-definition/acme-dev-api:2`, {
        'ecs:cluster': cluster,
      }),
    ).toBe('implicit-deny');
    expect(
      decide('ecs:RunTask', migrate, { 'ecs:cluster': `arn:aws:ecs:eu-west-1:${dev}:cluster/acme-other` }),
    ).toBe('implicit-deny');
    const toTasks = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };
    expect(decide('iam:PassRole', `arn:aws:iam::${dev}:role/acme-dev-api-task`, toTasks)).toBe('allow');
    expect(decide('iam:PassRole', `arn:aws:iam::${dev}:role/acme-dev-api-exec`, toTasks)).toBe('allow');
    // The apply's own PassRole (RegisterTaskDefinition) stays with the configured policies.
    for (const name of ['acme-dev-admin-task', 'acme-dev-gh-apply', 'acme-dev-deploy-build'])
      expect(decide('iam:PassRole', `arn:aws:iam::${dev}:role/${name}`, toTasks)).toBe('implicit-deny');
  });

  test('with a deploy project the apply role gets none of it: it only starts the build', () => {
    const reference = deployRole(readStack(outdirs.reference, 'dev-foundation'), 'acme-dev-gh-apply');
    const migrate = `arn:aws:ecs:eu-west-1:${dev}:task-definition/acme-dev-api-migrate:2`;
    expect(
      evaluate(reference.documents, {
        action: 'ecs:RunTask',
        resource: migrate,
        context: { 'ecs:cluster': cluster },
      }),
    ).toBe('implicit-deny');
  });
});

describe('services apply statements', () => {
  const dev = referenceConfig.environments.find((e) => e.name === 'dev')!;
  const scope = servicesStackScope(referenceConfig.organization, dev);

  test('are literal, and Resource "*" only for actions with no resource type or a tag on create', () => {
    const statements = servicesApplyStatements(scope);
    expect(JSON.stringify(statements)).not.toContain('${');
    const star = statements.filter((s) => ([] as string[]).concat(s.Resource).includes('*'));
    expect(star.map((s) => s.Sid).sort()).toEqual([
      'UnscopedData',
      'UnscopedDataCreating',
      'UnscopedNetwork',
      'UnscopedServices',
    ]);
  });

  test('an unknown resource type fails instead of granting nothing for it', () => {
    expect(() => servicesApplyStatements({ ...scope, resourceTypes: ['aws_rds_cluster'] })).toThrow(
      /no permissions known for resource type "aws_rds_cluster"; add it to SERVICES_STACK_PERMISSIONS/,
    );
  });

  test('target groups are matched by the prefix fitName keeps, also when it hashes the name', () => {
    expect(targetGroupNamePrefix(scope)).toBe('acme-dev-');
    const long = { ...scope, organization: 'globexcorporation', environment: 'production-eu' };
    // `globexcorporation-production-eu-api` (35) becomes `globexcorporation-produ-<hash>`.
    expect(targetGroupNamePrefix(long)).toBe('globexcorporation-produ');
  });

  test('the S3 state: its key, lock and the state key by alias', () => {
    const staging = s3Staging.environments.find((e) => e.name === 'staging')!;
    const statements = servicesApplyStatements(servicesStackScope(s3Staging.organization, staging));
    const byId = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(byId.StateObject.Resource).toBe(
      'arn:aws:s3:::acme-staging-terraform/gantry/staging-services.tfstate',
    );
    expect(byId.StateLock.Resource).toBe(
      'arn:aws:s3:::acme-staging-terraform/gantry/staging-services.tfstate.tflock',
    );
    expect(byId.StateKey.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/acme-staging-state' },
      StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
    });
  });
});

describe('notification topics: sns:Publish for whoever runs gantry deploy', () => {
  const topic = 'arn:aws:sns:eu-west-1:333333333333:acme-prod-deploys';
  const publish = (documents: readonly string[], resource: string) =>
    evaluate(documents, { action: 'sns:Publish', resource, context: {} });
  const prodFoundation = readStack(outdirs.reference, 'prod-foundation');

  test('the deploy project role may publish to the configured topic, and to no other', () => {
    const role = deployRole(prodFoundation, 'acme-prod-deploy-build');
    expect(publish(role.documents, topic)).toBe('allow');
    for (const other of [
      'arn:aws:sns:eu-west-1:333333333333:acme-prod-alerts',
      'arn:aws:sns:eu-west-1:222222222222:acme-prod-deploys',
      'arn:aws:sns:us-east-1:333333333333:acme-prod-deploys',
    ])
      expect(publish(role.documents, other)).toBe('implicit-deny');
    expect(evaluate(role.documents, { action: 'sns:DeleteTopic', resource: topic, context: {} })).toBe(
      'implicit-deny',
    );
    // The GitHub apply role only starts the project: the project runs the deploy.
    expect(publish(deployRole(prodFoundation, 'acme-prod-gh-apply').documents, topic)).toBe('implicit-deny');
  });

  test('an environment without topics grants no sns action', () => {
    const dev = deployRole(readStack(outdirs.reference, 'dev-foundation'), 'acme-dev-deploy-build');
    expect(JSON.stringify(dev.documents)).not.toContain('sns:');
  });

  test('without a deploy project, the GitHub apply role may publish to the configured topic only', () => {
    const config = withEnvironment('prod', ({ runners: _, ...env }) => env);
    const foundation = readStack(synthApp(config), 'prod-foundation');
    const apply = deployRole(foundation, 'acme-prod-gh-apply');
    expect(publish(apply.documents, topic)).toBe('allow');
    expect(publish(apply.documents, 'arn:aws:sns:eu-west-1:333333333333:acme-prod-alerts')).toBe(
      'implicit-deny',
    );
  });
});

describe('the release ECR rights of the deploy roles', () => {
  const [dev, staging, prod] = ['dev', 'staging', 'prod'].map((env) => ({
    env,
    repositories: repositoryArnsOf(outdirs.reference, env),
    role: deployRole(readStack(outdirs.reference, `${env}-foundation`), `acme-${env}-deploy-build`),
  }));
  const decide = (role: { documents: string[] }, action: string, resource?: string) =>
    evaluate(role.documents, { action, ...(resource ? { resource } : {}), context: {} });
  const push = ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'];
  const read = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:DescribeImages'];

  test('staging pulls the images of dev and pushes its own; never pushes dev or reads prod', () => {
    for (const repository of dev.repositories) {
      for (const action of read) expect(decide(staging.role, action, repository)).toBe('allow');
      for (const action of push) expect(decide(staging.role, action, repository)).toBe('implicit-deny');
      expect(decide(staging.role, 'ecr:BatchDeleteImage', repository)).toBe('implicit-deny');
    }
    for (const repository of staging.repositories) {
      for (const action of [...read, ...push]) expect(decide(staging.role, action, repository)).toBe('allow');
      expect(decide(staging.role, 'ecr:BatchDeleteImage', repository)).toBe('implicit-deny');
      expect(decide(staging.role, 'ecr:SetRepositoryPolicy', repository)).toBe('implicit-deny');
    }
    for (const repository of prod.repositories) {
      for (const action of [...read, ...push])
        expect(decide(staging.role, action, repository)).toBe('implicit-deny');
    }
    expect(decide(staging.role, 'ecr:GetAuthorizationToken')).toBe('allow');
  });

  test('prod pulls dev and staging; dev, the first environment, is never promoted into, so it reads only', () => {
    for (const repository of [...dev.repositories, ...staging.repositories])
      expect(decide(prod.role, 'ecr:BatchGetImage', repository)).toBe('allow');
    for (const repository of dev.repositories) {
      for (const action of read) expect(decide(dev.role, action, repository)).toBe('allow');
      for (const action of push) expect(decide(dev.role, action, repository)).toBe('implicit-deny');
    }
    for (const repository of [...staging.repositories, ...prod.repositories])
      expect(decide(dev.role, 'ecr:BatchGetImage', repository)).toBe('implicit-deny');
  });

  test("another organisation's repository of the same account is not reachable", () => {
    const other = staging.repositories[0].replace(':repository/acme/', ':repository/other/');
    for (const action of [...read, ...push])
      expect(decide(staging.role, action, other)).toBe('implicit-deny');
  });
});
