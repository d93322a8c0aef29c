/**
 * The IAM statements of a CodeBuild runner, all literal (computed from configuration: account,
 * region, deterministic names), so the synthesized policies carry no Terraform interpolation.
 */
import { partitionOf } from '../../core/naming';

/** One IAM policy statement, as written in a policy document. */
export interface RunnerPolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/**
 * The `codebuild:` condition keys a `StartBuild` request sets when it overrides what the build runs or
 * with which rights. Each is denied with `Null: false` ("the request sets it"), one statement per key
 * (keys in one `Null` block would all have to be set). A key names the project member an override
 * replaces: `imageOverride` is `codebuild:environment.image`, `artifactsOverride` is
 * `codebuild:artifacts`. `codebuild:source` and `codebuild:environment`, the keys of whole
 * sections, are denied too: they can only widen the Deny.
 *
 * Checked 2026-11-22. Every key is listed for `codebuild:StartBuild` in "Actions, resources, and
 * condition keys for AWS CodeBuild"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodebuild.html, read
 * through its copy in iann0036/iam-dataset `aws/iam_definition.json`). Which override sets which key
 * is documented for two of them
 * (https://docs.aws.amazon.com/codebuild/latest/userguide/action-context-keys.html):
 * `buildspecOverride` sets `codebuild:source.buildspec` (Null only), `environmentVariablesOverride`
 * sets `codebuild:environment.environmentVariables.name`. For the others it follows from the key's
 * name, and that a section key is set by the overrides inside it is likewise not spelled out.
 *
 * `sourceAuthOverride.resource` (the connection or token the source is fetched with) sets
 * `codebuild:source.auth.resource`, listed for StartBuild (re-checked 2026-11 with the same copy).
 *
 * No key of its own: `sourceTypeOverride`, `gitCloneDepthOverride`, `gitSubmodulesConfigOverride`,
 * `reportBuildStatusOverride` (denied only if CodeBuild sets `codebuild:source` for them);
 * `timeoutInMinutesOverride`, `queuedTimeoutInMinutesOverride`, `debugSessionEnabled`,
 * `secondarySourcesVersionOverride` (not denied: CodeBuild defines no condition key for a timeout or a
 * debug session at all). None of them changes the buildspec, image, role, variables or source
 * location of the caller's one project; a debug session is reached through Session Manager, and
 * `starterStatements` denies the caller `ssm:StartSession` and `ssm:ResumeSession` outright.
 * `sourceVersion` (the commit), the one thing a caller may choose, has no key either.
 */
export const START_BUILD_OVERRIDE_KEYS = [
  'codebuild:source',
  'codebuild:source.buildspec',
  'codebuild:source.location',
  'codebuild:source.auth.type',
  'codebuild:source.auth.resource',
  'codebuild:source.insecureSsl',
  'codebuild:source.buildStatusConfig.context',
  'codebuild:source.buildStatusConfig.targetUrl',
  'codebuild:secondarySources',
  'codebuild:environment',
  'codebuild:environment.environmentVariables',
  'codebuild:environment.environmentVariables.name',
  'codebuild:environment.image',
  'codebuild:environment.type',
  'codebuild:environment.computeType',
  'codebuild:environment.privilegedMode',
  'codebuild:environment.certificate',
  'codebuild:environment.imagePullCredentialsType',
  'codebuild:environment.registryCredential',
  'codebuild:environment.fleet.fleetArn',
  'codebuild:serviceRole',
  'codebuild:encryptionKey',
  'codebuild:artifacts',
  'codebuild:secondaryArtifacts',
  'codebuild:cache',
  'codebuild:logsConfig',
  'codebuild:autoRetryLimit',
] as const;

export interface Arns {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

export function arnsOf(accountId: string, region: string): Arns {
  return { partition: partitionOf(region), region, accountId };
}

export function projectArn(a: Arns, projectName: string): string {
  return `arn:${a.partition}:codebuild:${a.region}:${a.accountId}:project/${projectName}`;
}

export function logGroupArns(a: Arns, logGroupName: string): string[] {
  const group = `arn:${a.partition}:logs:${a.region}:${a.accountId}:log-group:${logGroupName}`;
  return [group, `${group}:log-stream:*`];
}

/** `Sid`s must be alphanumeric: `codebuild:environment.image` -> `EnvironmentImage`. */
function sidOf(key: string): string {
  return key
    .replace(/^codebuild:/, '')
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * What a caller (the GitHub apply role) needs to run the deploy project and nothing more: start it,
 * read its builds and logs, write its image-tags parameter (when it has one); and an explicit Deny
 * of every `StartBuild` that carries an override, and of Session Manager sessions (a debug session
 * into a build), so another policy granting them cannot reopen those paths either.
 */
export function starterStatements(
  a: Arns,
  projectName: string,
  logGroupName: string,
  imageTagsParameterArn?: string,
): RunnerPolicyStatement[] {
  const project = projectArn(a, projectName);
  return [
    {
      Sid: 'StartDeployProject',
      Effect: 'Allow',
      Action: ['codebuild:StartBuild', 'codebuild:BatchGetBuilds'],
      Resource: project,
    },
    {
      Sid: 'ReadDeployLogs',
      Effect: 'Allow',
      Action: ['logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:DescribeLogStreams'],
      Resource: logGroupArns(a, logGroupName),
    },
    // The one input a caller hands the build besides the commit: the image tags of a dispatch,
    // bound to that commit. Write only (no read, no delete), on exactly that parameter.
    ...(imageTagsParameterArn
      ? [
          {
            Sid: 'WriteImageTags',
            Effect: 'Allow',
            Action: 'ssm:PutParameter',
            Resource: imageTagsParameterArn,
          } satisfies RunnerPolicyStatement,
        ]
      : []),
    // A build started with debugSessionEnabled is entered through Session Manager: never by the starter.
    {
      Sid: 'DenyDebugSessions',
      Effect: 'Deny',
      Action: ['ssm:StartSession', 'ssm:ResumeSession'],
      Resource: '*',
    },
    ...START_BUILD_OVERRIDE_KEYS.map((key): RunnerPolicyStatement => ({
      Sid: `DenyOverride${sidOf(key)}`,
      Effect: 'Deny',
      Action: 'codebuild:StartBuild',
      Resource: project,
      Condition: { Null: { [key]: 'false' } },
    })),
  ];
}

/** Trust of a project's service role: CodeBuild, for this project of this account only. */
export function codeBuildTrustPolicy(a: Arns, projectName: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'CodeBuildForThisProject',
        Effect: 'Allow',
        Principal: { Service: 'codebuild.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': a.accountId },
          ArnLike: { 'aws:SourceArn': projectArn(a, projectName) },
        },
      },
    ],
  });
}

export interface BuildRoleInputs {
  readonly projectName: string;
  readonly logGroupName: string;
  readonly connectionArn: string;
  /** Subnet ids when known at synth; otherwise the account's subnets. */
  readonly subnetIds?: readonly string[];
  readonly ledgerUrlSecretArn?: string;
  /** The image-tags parameter the buildspec maps to `GANTRY_IMAGE_TAGS` (`parameter-store`). */
  readonly imageTagsParameterArn?: string;
  /** The GitHub token secret the buildspec maps to `GANTRY_GITHUB_TOKEN` (`secrets-manager`). */
  readonly githubTokenSecretArn?: string;
}

/**
 * What every build needs: write its own log group, create its network interfaces in the given
 * subnets, use the CodeConnections connection; a deploy project also reads the ledger URL secret.
 */
export function buildRoleStatements(a: Arns, input: BuildRoleInputs): RunnerPolicyStatement[] {
  const ec2 = `arn:${a.partition}:ec2:${a.region}:${a.accountId}`;
  const subnets =
    input.subnetIds && input.subnetIds.length > 0
      ? input.subnetIds.map((id) => `${ec2}:subnet/${id}`)
      : [`${ec2}:subnet/*`];
  const [group] = logGroupArns(a, input.logGroupName);
  const statements: RunnerPolicyStatement[] = [
    {
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [group, `${group}:*`],
    },
    {
      // EC2 offers no resource-level permission for these read-only calls.
      Sid: 'DescribeNetwork',
      Effect: 'Allow',
      Action: [
        'ec2:DescribeDhcpOptions',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeVpcs',
      ],
      Resource: '*',
    },
    {
      Sid: 'ManageBuildNetworkInterfaces',
      Effect: 'Allow',
      Action: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface'],
      Resource: [`${ec2}:network-interface/*`, `${ec2}:security-group/*`, ...subnets],
    },
    {
      Sid: 'AttachBuildNetworkInterfaces',
      Effect: 'Allow',
      Action: 'ec2:CreateNetworkInterfacePermission',
      Resource: `${ec2}:network-interface/*`,
      Condition: {
        StringEquals: { 'ec2:AuthorizedService': 'codebuild.amazonaws.com' },
        ArnEquals: { 'ec2:Subnet': subnets },
      },
    },
    {
      Sid: 'UseSourceConnection',
      Effect: 'Allow',
      Action: [
        'codeconnections:GetConnection',
        'codeconnections:GetConnectionToken',
        'codeconnections:UseConnection',
        'codestar-connections:GetConnection',
        'codestar-connections:GetConnectionToken',
        'codestar-connections:UseConnection',
      ],
      Resource: input.connectionArn,
    },
  ];
  const secret = input.ledgerUrlSecretArn;
  if (secret !== undefined) {
    statements.push(
      secretKind(secret) === 'secretsmanager'
        ? {
            Sid: 'ReadLedgerUrl',
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            // Given as a partial ARN (no random suffix), the secret's full ARN adds `-XXXXXX`.
            Resource: [secret, `${secret}-??????`],
          }
        : {
            Sid: 'ReadLedgerUrl',
            Effect: 'Allow',
            Action: 'ssm:GetParameters',
            Resource: secret,
          },
    );
  }
  if (input.imageTagsParameterArn !== undefined) {
    // CodeBuild resolves `env.parameter-store` with GetParameters.
    statements.push({
      Sid: 'ReadImageTags',
      Effect: 'Allow',
      Action: 'ssm:GetParameters',
      Resource: input.imageTagsParameterArn,
    });
  }
  if (input.githubTokenSecretArn !== undefined) {
    statements.push({
      Sid: 'ReadGithubToken',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      // Given as a partial ARN (no random suffix), the secret's full ARN adds `-XXXXXX`.
      Resource: [input.githubTokenSecretArn, `${input.githubTokenSecretArn}-??????`],
    });
  }
  return statements;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const PARAMETER_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+$/;

/** `secretsmanager` or `ssm` for a reference ARN, `undefined` for anything else (a literal value). */
export function secretKind(arn: string): 'secretsmanager' | 'ssm' | undefined {
  if (SECRET_ARN.test(arn)) return 'secretsmanager';
  if (PARAMETER_ARN.test(arn)) return 'ssm';
  return undefined;
}

/** `/acme/dev/ledger-url` for `arn:aws:ssm:<region>:<account>:parameter/acme/dev/ledger-url`. */
export function parameterName(arn: string): string {
  return `/${arn.replace(/^arn:[^:]+:ssm:[^:]+:\d{12}:parameter\//, '')}`;
}

export function policyDocument(statements: readonly RunnerPolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}
