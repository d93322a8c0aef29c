import { CodebuildWebhook } from '@cdktf/provider-aws/lib/codebuild-webhook';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { Testing, TerraformStack } from 'cdktf';
import { parse } from 'yaml';
import {
  DeployProject,
  GithubActionsRunner,
  INITIAL_IMAGE_TAGS_VALUE,
  START_BUILD_OVERRIDE_KEYS,
  actorIdPattern,
  workflowNamePattern,
  type DeployProjectProps,
  type GithubActionsRunnerProps,
} from '../../../lib/runner';
import type { Construct } from 'constructs';
import { GantryConfigError } from '../../../lib/core/errors';
import { SOURCE_CHECK } from '../../../lib/runner/private/buildspec';
import { evaluate, type PolicyDocument } from '../../iam-evaluator';

const common = {
  accountId: '111111111111',
  region: 'eu-west-1',
  repository: 'acme/platform',
  connectionArn:
    'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1d0000-0000-4000-8000-000000000001',
  vpcId: 'vpc-0a1d0000000000001',
  subnetIds: ['subnet-0a1d0000000000a01', 'subnet-0a1d0000000000b01'],
  kmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/0a1d0000-0000-4000-8000-00000000000k',
};

const runnerProps: CodeBuildRunnerProps = {
  ...common,
  mode: 'github-actions',
  projectName: 'acme-dev-runner',
  workflowNames: ['build'],
  actorIds: [3000001],
};

const deployProps: CodeBuildRunnerProps & { mode: 'deploy' } = {
  ...common,
  mode: 'deploy',
  projectName: 'acme-dev-deploy',
  environmentName: 'dev',
  stacks: ['dev-services'],
  ledgerUrlSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/dev/gantry-ledger-url',
};

interface Synth {
  resource: Record<string, Record<string, Record<string, unknown>>>;
}

/** The props of either construct, told apart by `mode` (a test-only tag, not a prop). */
type CodeBuildRunnerProps =
  | ({ readonly mode: 'github-actions' } & GithubActionsRunnerProps)
  | ({ readonly mode: 'deploy' } & DeployProjectProps);

/** Either construct, with the members the tests read of both. */
type CodeBuildRunner = Pick<GithubActionsRunner, keyof GithubActionsRunner> &
  Pick<DeployProject, keyof DeployProject>;

function create(scope: Construct, id: string, props: CodeBuildRunnerProps): CodeBuildRunner {
  const { mode, ...rest } = props;
  return (mode === 'deploy'
    ? new DeployProject(scope, id, rest as DeployProjectProps)
    : new GithubActionsRunner(scope, id, rest as GithubActionsRunnerProps)) as unknown as CodeBuildRunner;
}

function synth(props: CodeBuildRunnerProps): { json: Synth; text: string; runner: CodeBuildRunner } {
  let runner: CodeBuildRunner | undefined;
  const text = Testing.synthScope((scope) => {
    runner = create(scope, 'runner', props);
  });
  return { json: JSON.parse(text) as Synth, text, runner: runner! };
}

function only(json: Synth, type: string): Record<string, unknown> {
  const all = Object.values(json.resource[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0];
}

function expectConfigError(fn: () => unknown, ...fragments: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(GantryConfigError);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
}

describe('GithubActionsRunner', () => {
  test('webhook starts builds only on WORKFLOW_JOB_QUEUED events of the named workflows and actors', () => {
    const { text } = synth(runnerProps);
    expect(text).toHaveResourceWithProperties(CodebuildWebhook, {
      build_type: 'BUILD',
      filter_group: [
        {
          filter: [
            { type: 'EVENT', pattern: 'WORKFLOW_JOB_QUEUED' },
            { type: 'WORKFLOW_NAME', pattern: '^(?:build)$' },
            { type: 'ACTOR_ACCOUNT_ID', pattern: '^(?:3000001)$' },
          ],
        },
      ],
    });
    const actors = new RegExp(actorIdPattern([3000001, 42]));
    expect(['3000001', '42'].every((id) => actors.test(id))).toBe(true);
    expect(['30000011', '4', '142'].some((id) => actors.test(id))).toBe(false);
  });

  test.each([
    ['no workflow names', { workflowNames: [] }, 'runner.workflowNames: not given'],
    ['no actors', { actorIds: [] }, 'runner.actorIds: not given'],
  ])('a runner with %s is refused', (_what, change, message) => {
    expectConfigError(() => synth({ ...runnerProps, ...change }), message);
  });

  test('webhook is narrowed to the named workflows, with names escaped as a regular expression', () => {
    const { json } = synth({ ...runnerProps, workflowNames: ['Build', 'Deploy (prod)'] });
    const webhook = only(json, 'aws_codebuild_webhook') as { filter_group: Array<{ filter: unknown[] }> };
    expect(webhook.filter_group).toEqual([
      {
        filter: [
          { type: 'EVENT', pattern: 'WORKFLOW_JOB_QUEUED' },
          { type: 'WORKFLOW_NAME', pattern: '^(?:Build|Deploy \\(prod\\))$' },
          { type: 'ACTOR_ACCOUNT_ID', pattern: '^(?:3000001)$' },
        ],
      },
    ]);
    const pattern = new RegExp(workflowNamePattern(['Build', 'Deploy (prod)']));
    expect(['Build', 'Deploy (prod)'].every((n) => pattern.test(n))).toBe(true);
    expect(['Builds', 'Deploy prod', 'xBuild'].some((n) => pattern.test(n))).toBe(false);
  });

  test('the project checks out exactly the repository through the CodeConnections connection', () => {
    const { json } = synth(runnerProps);
    const project = only(json, 'aws_codebuild_project') as { source: Record<string, unknown> };
    expect(project.source).toMatchObject({
      type: 'GITHUB',
      location: 'https://github.com/acme/platform.git',
      auth: { type: 'CODECONNECTIONS', resource: common.connectionArn },
    });
    expect(project.source.buildspec).toBeUndefined();
  });

  test('label prefix is codebuild-<project>', () => {
    expect(synth(runnerProps).runner.labelPrefix).toBe('codebuild-acme-dev-runner');
  });

  test('privileged mode is off by default', () => {
    const { json } = synth(runnerProps);
    const project = only(json, 'aws_codebuild_project') as { environment: Record<string, unknown> };
    expect(project.environment).toMatchObject({
      privileged_mode: false,
      compute_type: 'BUILD_GENERAL1_SMALL',
      image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
      type: 'LINUX_CONTAINER',
    });
  });

  test('privileged mode is on with a reason, which the project records', () => {
    const { json } = synth({ ...runnerProps, privileged: { reason: 'builds container images with docker' } });
    const project = only(json, 'aws_codebuild_project') as {
      environment: Record<string, unknown>;
      description: string;
    };
    expect(project.environment.privileged_mode).toBe(true);
    expect(project.description).toContain('builds container images with docker');
  });

  test.each([[''], ['   '], ['docker']])('fails when privileged mode has reason %j', (reason) => {
    expectConfigError(
      () => synth({ ...runnerProps, privileged: { reason } }),
      'runner.privileged.reason',
      'at least 10 characters',
    );
  });

  test('has no concurrency limit (runners run jobs in parallel)', () => {
    const project = only(synth(runnerProps).json, 'aws_codebuild_project');
    expect(project.concurrent_build_limit).toBeUndefined();
  });
});

describe('DeployProject', () => {
  test('runs one build at a time with a 60-minute default timeout', () => {
    const project = only(synth(deployProps).json, 'aws_codebuild_project');
    expect(project).toMatchObject({
      concurrent_build_limit: 1,
      build_timeout: 60,
      source_version: 'refs/heads/main',
    });
    expect(
      only(synth({ ...deployProps, timeoutMinutes: 90 }).json, 'aws_codebuild_project').build_timeout,
    ).toBe(90);
  });

  test('has no webhook: only StartBuild runs it', () => {
    expect(synth(deployProps).json.resource.aws_codebuild_webhook).toBeUndefined();
  });

  type BuildSpec = {
    env: { variables: Record<string, string>; 'secrets-manager': Record<string, string> };
    phases: { install: { commands: string[] }; build: { commands: string[] } };
  };
  /** The gantry commands of the build phase, one per line. */
  const runtimeLines = (spec: BuildSpec) =>
    spec.phases.build.commands
      .flatMap((c) => c.split('\n'))
      .filter((l) => l.startsWith('npx --no -- gantry '));

  test('buildspec is defined in Terraform, plans then applies the stacks, and deploys <env>-services', () => {
    const { json, runner } = synth({ ...deployProps, stacks: ['dev-foundation', 'dev-services'] });
    const project = only(json, 'aws_codebuild_project') as { source: { buildspec: string } };
    expect(project.source.buildspec).toBe(runner.buildspec);
    const spec = parse(project.source.buildspec) as BuildSpec;
    expect(spec.phases.install.commands).toEqual([SOURCE_CHECK, 'npm ci --ignore-scripts']);
    const build = spec.phases.build.commands;
    expect(build).toContain('export GANTRY_COMMIT="$CODEBUILD_RESOLVED_SOURCE_VERSION"');
    expect(runtimeLines(spec)).toEqual([
      'npx --no -- gantry plan dev-foundation --no-synth',
      'npx --no -- gantry apply dev-foundation',
      'npx --no -- gantry deploy dev --no-synth --json || code=$?',
    ]);
    const deploy = build.findIndex((c) => c.includes('gantry deploy dev'));
    expect(build.indexOf('export GANTRY_STACK=dev-services')).toBe(deploy - 1);
    expect(spec.env.variables).toMatchObject({ GANTRY_ENVIRONMENT: 'dev' });
  });

  test('with deployServicesStack false, <env>-services is planned and applied like any stack', () => {
    const { runner } = synth({ ...deployProps, stacks: ['dev-services'], deployServicesStack: false });
    expect(runtimeLines(parse(runner.buildspec!) as BuildSpec)).toEqual([
      'npx --no -- gantry plan dev-services --no-synth',
      'npx --no -- gantry apply dev-services',
    ]);
  });

  test('buildspec reads the ledger URL from Secrets Manager and holds no secret literal', () => {
    const { runner } = synth(deployProps);
    const spec = parse(runner.buildspec!) as { env: Record<string, Record<string, string>> };
    expect(spec.env['secrets-manager']).toEqual({ GANTRY_LEDGER_URL: deployProps.ledgerUrlSecretArn });
    expect(spec.env.variables.GANTRY_LEDGER_URL).toBeUndefined();
    expect(runner.buildspec).not.toMatch(/postgres(ql)?:\/\/|rds-data:\/\/|password|AKIA/i);
    // Terraform would interpolate `${...}` inside the buildspec string.
    expect(runner.buildspec).not.toContain('${');
  });

  test('an SSM parameter ARN becomes a parameter-store reference by name', () => {
    const { runner } = synth({
      ...deployProps,
      ledgerUrlSecretArn: 'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/ledger-url',
    });
    const spec = parse(runner.buildspec!) as { env: Record<string, Record<string, string>> };
    expect(spec.env['parameter-store']).toEqual({ GANTRY_LEDGER_URL: '/acme/dev/ledger-url' });
    expect(spec.env['secrets-manager']).toBeUndefined();
  });

  test.each([
    ['postgres://gantry:hunter2@db.internal:5432/gantry', 'db.internal'],
    ['rds-data://arn:aws:rds:eu-west-1:111111111111:cluster:ledger', 'rds-data://'],
  ])('fails when the ledger URL is given as a literal (%s), without echoing it', (value, hidden) => {
    let message = '';
    try {
      synth({ ...deployProps, ledgerUrlSecretArn: value });
    } catch (e) {
      expect(e).toBeInstanceOf(GantryConfigError);
      message = (e as Error).message;
    }
    expect(message).toContain(
      'runner.ledgerUrlSecretArn: is not a Secrets Manager secret ARN or SSM parameter ARN',
    );
    expect(message).not.toContain(hidden);
    expect(message).not.toContain('hunter2');
  });

  test.each([['dev services'], ['dev;rm -rf /'], ['$(id)']])(
    'fails for stack id %j (it is a shell word)',
    (stack) => {
      expectConfigError(
        () => synth({ ...deployProps, stacks: [stack] }),
        'runner.stacks',
        JSON.stringify(stack),
      );
    },
  );

  test('fails without stacks', () => {
    expectConfigError(() => synth({ ...deployProps, stacks: [] }), 'runner.stacks');
  });

  test('service role holds the apply permissions: managed policies, boundary and added statements', () => {
    let runner: CodeBuildRunner | undefined;
    const text = Testing.synthScope((scope) => {
      runner = create(scope, 'runner', {
        ...deployProps,
        managedPolicyArns: ['arn:aws:iam::aws:policy/PowerUserAccess'],
        permissionsBoundaryArn: 'arn:aws:iam::111111111111:policy/acme-boundary',
      });
      runner.addToRolePolicy({
        Sid: 'PassTaskRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: 'arn:aws:iam::111111111111:role/acme-dev-api-task',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      });
    });
    expect(text).toHaveResourceWithProperties(IamRolePolicyAttachment, {
      policy_arn: 'arn:aws:iam::aws:policy/PowerUserAccess',
    });
    expect(text).toHaveResourceWithProperties(IamRole, {
      name: 'acme-dev-deploy-build',
      permissions_boundary: 'arn:aws:iam::111111111111:policy/acme-boundary',
    });
    const json = JSON.parse(text) as Synth;
    const policy = JSON.parse(only(json, 'aws_iam_role_policy').policy as string) as PolicyDocument;
    const request = (action: string, resource: string, context: Record<string, string> = {}) =>
      evaluate([policy], { action, resource, context });
    expect(
      request('iam:PassRole', 'arn:aws:iam::111111111111:role/acme-dev-api-task', {
        'iam:PassedToService': 'ecs-tasks.amazonaws.com',
      }),
    ).toBe('allow');
    expect(request('secretsmanager:GetSecretValue', `${deployProps.ledgerUrlSecretArn}-AbC123`)).toBe(
      'allow',
    );
    expect(
      request(
        'secretsmanager:GetSecretValue',
        'arn:aws:secretsmanager:eu-west-1:111111111111:secret:other-AbC123',
      ),
    ).toBe('implicit-deny');
    expect(runner!.roleArn).toBe('arn:aws:iam::111111111111:role/acme-dev-deploy-build');
  });
});

describe('DeployProject.grantStart (the GitHub apply role)', () => {
  const dev = synth(deployProps).runner;
  const staging = synth({
    ...deployProps,
    accountId: '222222222222',
    projectName: 'acme-staging-deploy',
    environmentName: 'staging',
    stacks: ['staging-services'],
    connectionArn:
      'arn:aws:codeconnections:eu-west-1:222222222222:connection/0b2d0000-0000-4000-8000-000000000002',
    ledgerUrlSecretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:acme/staging/gantry-ledger-url',
  }).runner;
  const policy: PolicyDocument = { Version: '2012-10-17', Statement: dev.starterPolicyStatements() };
  const decide = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
    evaluate([JSON.stringify(policy)], { action, resource, context });

  test('allows StartBuild and BatchGetBuilds on its own project, choosing the commit', () => {
    expect(decide('codebuild:StartBuild', dev.projectArn)).toBe('allow');
    expect(decide('codebuild:BatchGetBuilds', dev.projectArn)).toBe('allow');
  });

  test('cannot swap the connection the source is fetched with (codebuild:source.auth.resource)', () => {
    const other =
      'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1d0000-0000-4000-8000-00000000beef';
    expect(decide('codebuild:StartBuild', dev.projectArn, { 'codebuild:source.auth.resource': other })).toBe(
      'deny',
    );
  });

  test('cannot open a debug session into a build: Session Manager is denied, even if another policy allows it', () => {
    const allowAll = JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'ssm:*', Resource: '*' }] });
    const buildHost = 'arn:aws:ssm:eu-west-1:111111111111:managed-instance/mi-0123456789abcdef0';
    for (const action of ['ssm:StartSession', 'ssm:ResumeSession']) {
      expect(evaluate([JSON.stringify(policy), allowAll], { action, resource: buildHost, context: {} })).toBe(
        'deny',
      );
    }
  });

  test("cannot start another environment's project", () => {
    expect(staging.projectArn).toBe('arn:aws:codebuild:eu-west-1:222222222222:project/acme-staging-deploy');
    expect(decide('codebuild:StartBuild', staging.projectArn)).toBe('implicit-deny');
    expect(
      decide('codebuild:StartBuild', 'arn:aws:codebuild:eu-west-1:111111111111:project/acme-dev-runner'),
    ).toBe('implicit-deny');
  });

  test.each([
    ['buildspec', 'codebuild:source.buildspec', 'true'],
    ['environment-variable', 'codebuild:environment.environmentVariables.name', ['NODE_OPTIONS']],
    ['service-role', 'codebuild:serviceRole', 'arn:aws:iam::111111111111:role/admin'],
    ['image', 'codebuild:environment.image', 'evil/image:latest'],
    ['source location', 'codebuild:source.location', 'https://github.com/evil/fork.git'],
    ['privileged mode', 'codebuild:environment.privilegedMode', 'false'],
    ['encryption key', 'codebuild:encryptionKey', 'arn:aws:kms:eu-west-1:999999999999:key/x'],
    ['fleet', 'codebuild:environment.fleet.fleetArn', 'arn:aws:codebuild:eu-west-1:111111111111:fleet/x'],
  ])('cannot start its own project with a %s override', (_name, key, value) => {
    expect(decide('codebuild:StartBuild', dev.projectArn, { [key]: value })).toBe('deny');
  });

  test('every override key is denied by its own statement', () => {
    for (const key of START_BUILD_OVERRIDE_KEYS) {
      expect(decide('codebuild:StartBuild', dev.projectArn, { [key]: 'x' })).toBe('deny');
    }
    const sids = dev.starterPolicyStatements().map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
  });

  // The override members of the StartBuild API and the key, listed for codebuild:StartBuild in the
  // Service Authorization Reference (checked 2026-11-22), that the request carries when one is set.
  const keyOfOverride: Record<string, string | undefined> = {
    buildspecOverride: 'codebuild:source.buildspec',
    sourceLocationOverride: 'codebuild:source.location',
    sourceAuthOverride: 'codebuild:source.auth.type',
    insecureSslOverride: 'codebuild:source.insecureSsl',
    buildStatusConfigOverride: 'codebuild:source.buildStatusConfig.context',
    secondarySourcesOverride: 'codebuild:secondarySources',
    environmentVariablesOverride: 'codebuild:environment.environmentVariables',
    imageOverride: 'codebuild:environment.image',
    environmentTypeOverride: 'codebuild:environment.type',
    computeTypeOverride: 'codebuild:environment.computeType',
    privilegedModeOverride: 'codebuild:environment.privilegedMode',
    certificateOverride: 'codebuild:environment.certificate',
    imagePullCredentialsTypeOverride: 'codebuild:environment.imagePullCredentialsType',
    registryCredentialOverride: 'codebuild:environment.registryCredential',
    fleetOverride: 'codebuild:environment.fleet.fleetArn',
    serviceRoleOverride: 'codebuild:serviceRole',
    encryptionKeyOverride: 'codebuild:encryptionKey',
    artifactsOverride: 'codebuild:artifacts',
    secondaryArtifactsOverride: 'codebuild:secondaryArtifacts',
    cacheOverride: 'codebuild:cache',
    logsConfigOverride: 'codebuild:logsConfig',
    autoRetryLimitOverride: 'codebuild:autoRetryLimit',
    sourceTypeOverride: undefined,
    gitCloneDepthOverride: undefined,
    gitSubmodulesConfigOverride: undefined,
    reportBuildStatusOverride: undefined,
    timeoutInMinutesOverride: undefined,
    queuedTimeoutInMinutesOverride: undefined,
    debugSessionEnabled: undefined,
    secondarySourcesVersionOverride: undefined,
  };

  test('denies every StartBuild override that has a condition key', () => {
    const denied: readonly string[] = START_BUILD_OVERRIDE_KEYS;
    const undenied = Object.entries(keyOfOverride)
      .filter(([, key]) => key !== undefined && !denied.includes(key))
      .map(([override]) => override);
    expect(undenied).toEqual([]);
  });

  test('denies only keys StartBuild defines: no guessed key that would never match', () => {
    const sections: readonly string[] = ['codebuild:source', 'codebuild:environment'];
    const named = Object.values(keyOfOverride).filter((key): key is string => key !== undefined);
    const extra = START_BUILD_OVERRIDE_KEYS.filter((key) => !named.includes(key) && !sections.includes(key));
    // The second key of an override with two members: sourceAuthOverride's resource (the connection),
    // buildStatusConfigOverride's targetUrl, and the variables' names.
    expect(extra).toEqual([
      'codebuild:source.auth.resource',
      'codebuild:source.buildStatusConfig.targetUrl',
      'codebuild:environment.environmentVariables.name',
    ]);
    for (const undefinedKey of [
      'codebuild:source.type',
      'codebuild:fileSystemLocations',
      'codebuild:logsConfig.cloudWatchLogs.status',
    ]) {
      expect(START_BUILD_OVERRIDE_KEYS).not.toContain(undefinedKey);
    }
  });

  test('grants nothing else: no project changes, no other builds, logs of its own group only', () => {
    expect(decide('codebuild:UpdateProject', dev.projectArn)).toBe('implicit-deny');
    expect(decide('codebuild:StartBuildBatch', dev.projectArn)).toBe('implicit-deny');
    expect(decide('iam:PassRole', dev.roleArn)).toBe('implicit-deny');
    expect(
      decide(
        'logs:GetLogEvents',
        'arn:aws:logs:eu-west-1:111111111111:log-group:/aws/codebuild/acme-dev-deploy:log-stream:abc',
      ),
    ).toBe('allow');
    expect(
      decide(
        'logs:GetLogEvents',
        'arn:aws:logs:eu-west-1:111111111111:log-group:/aws/codebuild/acme-dev-runner:log-stream:abc',
      ),
    ).toBe('implicit-deny');
  });

  test('is literal JSON: no Terraform interpolation', () => {
    expect(JSON.stringify(policy)).not.toContain('${');
  });
});

describe('DeployProject image-tags parameter', () => {
  const withTags: typeof deployProps = {
    ...deployProps,
    imageTagsParameterName: '/acme/dev/gantry/image-tags',
  };
  const parameterArn = 'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/gantry/image-tags';

  test('creates the parameter, String, with no commit and no tags, its value owned by the workflow', () => {
    const { text, runner } = synth(withTags);
    expect(text).toHaveResourceWithProperties(SsmParameter, {
      name: '/acme/dev/gantry/image-tags',
      type: 'String',
      value: '{"commit":"","tags":{}}',
      lifecycle: { ignore_changes: ['value'] },
    });
    expect(INITIAL_IMAGE_TAGS_VALUE).toBe('{"commit":"","tags":{}}');
    expect(runner.imageTagsParameterArn).toBe(parameterArn);
  });

  test('the buildspec maps it to GANTRY_IMAGE_TAGS from Parameter Store, next to the ledger URL', () => {
    const secretLedger = parse(synth(withTags).runner.buildspec!) as { env: Record<string, unknown> };
    expect(secretLedger.env['parameter-store']).toEqual({
      GANTRY_IMAGE_TAGS: '/acme/dev/gantry/image-tags',
    });
    expect(secretLedger.env['secrets-manager']).toEqual({
      GANTRY_LEDGER_URL: deployProps.ledgerUrlSecretArn,
    });
    const ssmLedger = parse(
      synth({
        ...withTags,
        ledgerUrlSecretArn: 'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/ledger-url',
      }).runner.buildspec!,
    ) as { env: Record<string, unknown> };
    expect(ssmLedger.env['parameter-store']).toEqual({
      GANTRY_LEDGER_URL: '/acme/dev/ledger-url',
      GANTRY_IMAGE_TAGS: '/acme/dev/gantry/image-tags',
    });
  });

  test('the build role may GetParameters on it (what parameter-store needs), nothing more on SSM', () => {
    const { json } = synth(withTags);
    const policy = only(json, 'aws_iam_role_policy').policy as string;
    const request = (action: string, resource: string) =>
      evaluate([policy], { action, resource, context: {} });
    expect(request('ssm:GetParameters', parameterArn)).toBe('allow');
    expect(request('ssm:PutParameter', parameterArn)).toBe('implicit-deny');
    expect(request('ssm:GetParameters', 'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/other')).toBe(
      'implicit-deny',
    );
  });

  test('the starter may PutParameter on it only: no read, no delete, no other parameter', () => {
    const runner = synth(withTags).runner;
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: runner.starterPolicyStatements() });
    const decide = (action: string, resource: string, context: Record<string, string> = {}) =>
      evaluate([policy], { action, resource, context });
    expect(decide('ssm:PutParameter', parameterArn)).toBe('allow');
    for (const action of [
      'ssm:GetParameter',
      'ssm:GetParameters',
      'ssm:DeleteParameter',
      'ssm:LabelParameterVersion',
    ]) {
      expect(decide(action, parameterArn)).toBe('implicit-deny');
    }
    for (const other of [
      'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/gantry/image-tags-2',
      'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/ledger-url',
      'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/staging/gantry/image-tags',
      'arn:aws:ssm:eu-west-1:222222222222:parameter/acme/dev/gantry/image-tags',
    ]) {
      expect(decide('ssm:PutParameter', other)).toBe('implicit-deny');
    }
    // The StartBuild guard is unchanged.
    expect(decide('codebuild:StartBuild', runner.projectArn)).toBe('allow');
    for (const key of START_BUILD_OVERRIDE_KEYS) {
      expect(decide('codebuild:StartBuild', runner.projectArn, { [key]: 'x' })).toBe('deny');
    }
    expect(policy).not.toContain('${');
  });

  test('without it there is no parameter and no SSM right for the starter', () => {
    const { json, runner } = synth(deployProps);
    expect(json.resource.aws_ssm_parameter).toBeUndefined();
    const allowed = runner.starterPolicyStatements().filter((s) => s.Effect === 'Allow');
    expect(JSON.stringify(allowed)).not.toContain('ssm:');
    expect(runner.buildspec).not.toContain('GANTRY_IMAGE_TAGS');
  });

  test.each([['acme/dev/image-tags'], ['/acme/dev/'], ['/acme dev/x'], ['/acme/${var.x}']])(
    'fails for the parameter name %j',
    (name) => {
      expectConfigError(
        () => synth({ ...deployProps, imageTagsParameterName: name }),
        'runner.imageTagsParameterName',
      );
    },
  );
});

describe('DeployProject GitHub token for the approval check', () => {
  const tokenArn = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/dev/gantry-github-token';
  const withToken: typeof deployProps = { ...deployProps, githubTokenSecretArn: tokenArn };

  test('the buildspec maps the token from Secrets Manager and exports the repository', () => {
    const spec = parse(synth(withToken).runner.buildspec!) as {
      env: { variables: Record<string, string>; 'secrets-manager': Record<string, string> };
    };
    expect(spec.env['secrets-manager']).toEqual({
      GANTRY_LEDGER_URL: deployProps.ledgerUrlSecretArn,
      GANTRY_GITHUB_TOKEN: tokenArn,
    });
    expect(spec.env.variables.GANTRY_GITHUB_REPOSITORY).toBe('acme/platform');
  });

  test('the build role may read exactly that secret, nothing else of Secrets Manager', () => {
    const policy = only(synth(withToken).json, 'aws_iam_role_policy').policy as string;
    const decide = (action: string, resource: string) =>
      evaluate([policy], { action, resource, context: {} });
    expect(decide('secretsmanager:GetSecretValue', tokenArn)).toBe('allow');
    // The full ARN of the secret carries a random 6-character suffix.
    expect(decide('secretsmanager:GetSecretValue', `${tokenArn}-AbC123`)).toBe('allow');
    for (const other of [
      `${tokenArn}-2`,
      `${tokenArn}-extra-AbC123`,
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/dev/other',
      'arn:aws:secretsmanager:eu-west-1:222222222222:secret:acme/dev/gantry-github-token',
    ]) {
      expect(decide('secretsmanager:GetSecretValue', other)).toBe('implicit-deny');
    }
    for (const action of ['secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret']) {
      expect(decide(action, tokenArn)).toBe('implicit-deny');
    }
  });

  test('without it: no token in the buildspec, no right on it', () => {
    const { json, runner } = synth(deployProps);
    expect(runner.buildspec).not.toContain('GANTRY_GITHUB_TOKEN');
    expect(runner.buildspec).not.toContain('GANTRY_GITHUB_REPOSITORY');
    const policy = only(json, 'aws_iam_role_policy').policy as string;
    expect(
      evaluate([policy], { action: 'secretsmanager:GetSecretValue', resource: tokenArn, context: {} }),
    ).toBe('implicit-deny');
  });

  test('fails for an SSM parameter ARN: a Secrets Manager ARN is needed', () => {
    const arn = 'arn:aws:ssm:eu-west-1:111111111111:parameter/acme/dev/token';
    expectConfigError(
      () => synth({ ...deployProps, githubTokenSecretArn: arn }),
      `runner.githubTokenSecretArn: "${arn}" is not a Secrets Manager secret ARN`,
    );
  });

  test('fails for a literal token without echoing it', () => {
    let message = '';
    try {
      synth({ ...deployProps, githubTokenSecretArn: 'ghp_literal_token_value' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      'runner.githubTokenSecretArn: (value not shown) is not a Secrets Manager secret ARN',
    );
    expect(message).not.toContain('ghp_literal_token_value');
  });
});

describe('GithubActionsRunner and DeployProject', () => {
  test.each([runnerProps, deployProps])(
    '$mode: log group has the retention, the KMS key and prevent_destroy',
    (props) => {
      const { json } = synth({ ...props, logRetentionDays: 365 });
      expect(only(json, 'aws_cloudwatch_log_group')).toMatchObject({
        name: `/aws/codebuild/${props.projectName}`,
        retention_in_days: 365,
        kms_key_id: common.kmsKeyArn,
        lifecycle: { prevent_destroy: true },
      });
      expect(only(synth(props).json, 'aws_cloudwatch_log_group').retention_in_days).toBe(90);
    },
  );

  test.each([runnerProps, deployProps])(
    '$mode: project encrypted with the key, logs configured, in the VPC',
    (props) => {
      const project = only(synth(props).json, 'aws_codebuild_project') as Record<
        string,
        Record<string, unknown>
      > & {
        encryption_key: string;
      };
      expect(project.encryption_key).toBe(common.kmsKeyArn);
      expect(project.logs_config).toMatchObject({ cloudwatch_logs: { status: 'ENABLED' } });
      expect(project.vpc_config).toMatchObject({ vpc_id: common.vpcId, subnets: common.subnetIds });
      expect(project.artifacts).toEqual({ type: 'NO_ARTIFACTS' });
    },
  );

  test.each([runnerProps, deployProps])('$mode: security group has egress rules only', (props) => {
    const { json } = synth(props);
    expect(json.resource.aws_vpc_security_group_ingress_rule).toBeUndefined();
    const sg = only(json, 'aws_security_group');
    expect(sg.ingress).toBeUndefined();
    expect(Object.values(json.resource.aws_vpc_security_group_egress_rule)).toEqual([
      expect.objectContaining({ ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '0.0.0.0/0' }),
    ]);
  });

  test.each([runnerProps, deployProps])(
    '$mode: service role trusts CodeBuild for this project only',
    (props) => {
      const role = only(synth(props).json, 'aws_iam_role') as { assume_role_policy: string };
      const trust = role.assume_role_policy;
      const project = `arn:aws:codebuild:eu-west-1:111111111111:project/${props.projectName}`;
      const assume = (sourceArn: string, sourceAccount = '111111111111') =>
        evaluate([trust], {
          action: 'sts:AssumeRole',
          principal: { type: 'Service', id: 'codebuild.amazonaws.com' },
          context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceAccount },
        });
      expect(assume(project)).toBe('allow');
      expect(assume(`${project}-other`)).toBe('implicit-deny');
      expect(assume(project.replace('111111111111', '999999999999'), '999999999999')).toBe('implicit-deny');
    },
  );

  test.each([runnerProps, deployProps])('$mode: role policy is literal and scoped', (props) => {
    const policy = only(synth(props).json, 'aws_iam_role_policy').policy as string;
    expect(policy).not.toContain('${');
    const doc = JSON.parse(policy) as {
      Statement: Array<{ Effect: string; Action: string | string[]; Resource: string | string[] }>;
    };
    for (const s of doc.Statement) {
      const actions = ([] as string[]).concat(s.Action);
      // Deny statements (the deploy role's guard: the audit trail) may name every resource.
      if (s.Effect === 'Allow' && ([] as string[]).concat(s.Resource).includes('*')) {
        expect(actions.every((a) => a.startsWith('ec2:Describe'))).toBe(true);
      }
      expect(actions).not.toContain('*');
    }
  });

  test('compute type and image are configurable; an aarch64 image runs on ARM', () => {
    const project = only(
      synth({
        ...runnerProps,
        computeType: 'BUILD_GENERAL1_LARGE',
        image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
      }).json,
      'aws_codebuild_project',
    ) as { environment: Record<string, unknown> };
    expect(project.environment).toMatchObject({
      compute_type: 'BUILD_GENERAL1_LARGE',
      image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
      type: 'ARM_CONTAINER',
    });
  });

  test('two runners in one stack do not clash', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'two');
    create(stack, 'runner', runnerProps);
    create(stack, 'deploy', deployProps);
    const json = JSON.parse(Testing.synth(stack)) as Synth;
    expect(Object.keys(json.resource.aws_codebuild_project)).toHaveLength(2);
  });

  test.each<[string, Partial<CodeBuildRunnerProps>, string]>([
    ['compute type', { computeType: 'BUILD_GENERAL9_HUGE' }, 'runner.computeType'],
    ['timeout', { timeoutMinutes: 3 }, 'runner.timeoutMinutes'],
    ['timeout', { timeoutMinutes: 2161 }, 'runner.timeoutMinutes'],
    ['retention', { logRetentionDays: 10 }, 'runner.logRetentionDays'],
    ['connection', { connectionArn: 'arn:aws:iam::111111111111:role/x' }, 'runner.connectionArn'],
    ['repository', { repository: 'acme/*' }, 'runner.repository'],
    ['subnets', { subnetIds: [] }, 'runner.subnetIds'],
    ['account', { accountId: '1234' }, 'runner.accountId'],
    ['project name', { projectName: 'has space' }, 'runner.projectName'],
    ['egress port', { egressTcpPorts: [70000] }, 'runner.egressTcpPorts'],
  ])('fails for a bad %s', (_what, change, path) => {
    expectConfigError(() => synth({ ...deployProps, ...change } as CodeBuildRunnerProps), path);
    expectConfigError(() => synth({ ...runnerProps, ...change } as CodeBuildRunnerProps), path);
  });
});
