/**
 * What both CodeBuild constructs share: the project in private subnets behind an egress-only security
 * group, its KMS-encrypted log group (`prevent_destroy`), its service role with one literal inline
 * policy measured against IAM's limit, and the checks of the common props.
 */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CodebuildProject, type CodebuildProjectConfig } from '@cdktf/provider-aws/lib/codebuild-project';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { Lazy, Token } from 'cdktf';
import { Construct } from 'constructs';
import type { IamPolicyStatement } from '../../core/grants';
import { LOG_RETENTION_DAYS } from '../../core/aws-limits';
import { FieldProblems, show, type FieldProblem } from '../../core/errors';
import {
  accountIdProblem,
  CONNECTION_ARN,
  GITHUB_REPOSITORY,
  regionProblem,
  privateNetworkProblems,
} from '../../core/identifiers';
import { inlinePolicySizeProblem } from '../../core/inline-policy-size';
import { roleArn } from '../../core/naming';
import { isKnown, literalProblem } from '../../core/tokens';
import {
  arnsOf,
  buildRoleStatements,
  codeBuildTrustPolicy,
  policyDocument,
  projectArn,
  type Arns,
  logGroupArns,
  type BuildRoleInputs,
  type RunnerPolicyStatement,
} from './policies';

/** Compute types accepted for a Linux container build. */
export const CODEBUILD_COMPUTE_TYPES = [
  'BUILD_GENERAL1_SMALL',
  'BUILD_GENERAL1_MEDIUM',
  'BUILD_GENERAL1_LARGE',
  'BUILD_GENERAL1_XLARGE',
  'BUILD_GENERAL1_2XLARGE',
] as const;

/** A current standard Linux image (Amazon Linux 2023, Node 18/20/22). */
export const DEFAULT_CODEBUILD_IMAGE = 'aws/codebuild/amazonlinux-x86_64-standard:5.0';

/** How a build runs: the settings the configuration's `runners.*` entries hold too. */
export interface BuildSettings {
  /** CodeConnections (or CodeStar connection) ARN authorising CodeBuild on GitHub. */
  readonly connectionArn: string;
  /** @default 'BUILD_GENERAL1_SMALL' */
  readonly computeType?: string;
  /** @default DEFAULT_CODEBUILD_IMAGE */
  readonly image?: string;
  /** Build timeout in minutes (5..2160). @default 60 */
  readonly timeoutMinutes?: number;
}

/** Where a build project lives and what it checks out. */
export interface BuildProjectProps extends BuildSettings {
  /** Account of the project (for the literal ARNs in its policies). */
  readonly accountId: string;
  readonly region: string;
  /** CodeBuild project name, e.g. `runnerProjectName(org, env)` or `deployProjectName(org, env)`. */
  readonly projectName: string;
  /** Name of the project's service role. @default `<projectName>-build` */
  readonly roleName?: string;
  /** `owner/name` of the GitHub repository the project checks out. */
  readonly repository: string;
  /** VPC the builds run in. */
  readonly vpcId: string;
  /** Private subnets of the builds (no public IP is ever assigned). */
  readonly subnetIds: readonly string[];
  /** Customer-managed KMS key for the project's artifacts and its log group. */
  readonly kmsKeyArn: string;
  /** Retention of the project's log group, in days (a CloudWatch value). @default 90 */
  readonly logRetentionDays?: number;
  /** TCP ports the builds may reach (egress to anywhere); nothing may connect in. @default [443] */
  readonly egressTcpPorts?: readonly number[];
  /** Permissions boundary of the service role. @default none */
  readonly permissionsBoundaryArn?: string;
}

const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(?:aws|\d{12}):policy\/[\w+=,.@/-]+$/;

/** Problems of the settings (shared with the configuration's `runners.*`). */
export function buildSettingsProblems(settings: BuildSettings): FieldProblem[] {
  const problems = new FieldProblems();
  if (isKnown(settings.connectionArn)) {
    problems.check(
      typeof settings.connectionArn === 'string' && CONNECTION_ARN.test(settings.connectionArn),
      'connectionArn',
      `${show(settings.connectionArn)} is not a CodeConnections ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)`,
    );
  }
  const computeType = settings.computeType ?? 'BUILD_GENERAL1_SMALL';
  problems.check(
    (CODEBUILD_COMPUTE_TYPES as readonly string[]).includes(computeType),
    'computeType',
    `${show(computeType)} is not one of ${CODEBUILD_COMPUTE_TYPES.join(', ')}`,
  );
  const image = settings.image ?? DEFAULT_CODEBUILD_IMAGE;
  problems.check(
    typeof image === 'string' && image.length > 0 && !/\s/.test(image),
    'image',
    `${show(image)} is not an image name`,
  );
  if (settings.timeoutMinutes !== undefined) {
    const timeout = settings.timeoutMinutes;
    problems.check(
      Number.isInteger(timeout) && timeout >= 5 && timeout <= 2160,
      'timeoutMinutes',
      `${show(timeout)} must be an integer from 5 to 2160 (CodeBuild's limits)`,
    );
  }
  return problems.list;
}

/** Problems of the common props. */
export function buildProjectProblems(props: BuildProjectProps): FieldProblem[] {
  const problems = new FieldProblems();
  const why = 'the policies name it literally';
  problems.addIf('accountId', literalProblem(props.accountId, accountIdProblem, why));
  problems.addIf('region', literalProblem(props.region, regionProblem, why));
  problems.check(
    typeof props.projectName === 'string' && PROJECT_NAME.test(props.projectName),
    'projectName',
    `${show(props.projectName)} must be 2-255 letters, digits, '-' or '_', starting with a letter or digit`,
  );
  const roleName = props.roleName ?? `${props.projectName}-build`;
  problems.check(
    ROLE_NAME.test(roleName),
    'roleName',
    `${show(roleName)} is not an IAM role name of at most 64 characters`,
  );
  problems.check(
    typeof props.repository === 'string' && GITHUB_REPOSITORY.test(props.repository),
    'repository',
    `${show(props.repository)} is not of the form owner/name (no wildcards)`,
  );
  problems.addAll('', buildSettingsProblems(props));
  problems.addAll('', privateNetworkProblems(props.vpcId, props.subnetIds));
  const retention = props.logRetentionDays ?? 90;
  problems.check(
    LOG_RETENTION_DAYS.has(retention),
    'logRetentionDays',
    `${show(retention)} is not a CloudWatch retention (one of ${[...LOG_RETENTION_DAYS].join(', ')})`,
  );
  for (const port of props.egressTcpPorts ?? [443]) {
    problems.check(
      Number.isInteger(port) && port >= 1 && port <= 65535,
      'egressTcpPorts',
      `${show(port)} is outside 1..65535`,
    );
  }
  if (props.permissionsBoundaryArn !== undefined && isKnown(props.permissionsBoundaryArn)) {
    problems.check(
      POLICY_ARN.test(props.permissionsBoundaryArn),
      'permissionsBoundaryArn',
      `${show(props.permissionsBoundaryArn)} is not an IAM policy ARN`,
    );
  }
  return problems.list;
}

export function managedPolicyArnProblems(arns: readonly string[] | undefined): FieldProblem[] {
  const problems = new FieldProblems();
  for (const arn of (arns ?? []).filter(isKnown)) {
    problems.check(POLICY_ARN.test(arn), 'managedPolicyArns', `${show(arn)} is not an IAM policy ARN`);
  }
  return problems.list;
}

/** The parts every project has, as created by `createBuildProject`. */
export interface BuildProjectParts {
  readonly projectName: string;
  readonly arns: Arns;
  readonly projectArn: string;
  readonly roleName: string;
  readonly roleArn: string;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly logGroupName: string;
  readonly securityGroup: SecurityGroup;
  readonly project: CodebuildProject;
  /** Statements added after creation (`addToRolePolicy`), rendered into the same inline policy. */
  readonly extraStatements: RunnerPolicyStatement[];
}

/**
 * The project, its log group, security group and role. `project` gives what differs between a runner and
 * a deploy project (description, source buildspec, concurrency, privileged mode); `role` the inputs of the
 * role's statements.
 */
/** What a role needs beyond the common statements (the deploy project's secrets and parameter). */
export type BuildRoleExtras = Omit<
  BuildRoleInputs,
  'projectName' | 'logGroupName' | 'connectionArn' | 'subnetIds'
>;

/** What differs between a runner's project and a deploy project. */
export interface BuildProjectShape {
  readonly description: string;
  /** @default 1 (a shallow clone) */
  readonly gitCloneDepth?: number;
  readonly privileged: boolean;
  readonly buildspec?: string;
  readonly extra?: Partial<CodebuildProjectConfig>;
}

export function createBuildProject(
  scope: Construct,
  props: BuildProjectProps,
  role: BuildRoleExtras,
  project: BuildProjectShape,
): BuildProjectParts {
  const arns = arnsOf(props.accountId, props.region);
  const roleName = props.roleName ?? `${props.projectName}-build`;
  const logGroupName = `/aws/codebuild/${props.projectName}`;
  const logGroup = new CloudwatchLogGroup(scope, 'logs', {
    name: logGroupName,
    retentionInDays: props.logRetentionDays ?? 90,
    kmsKeyId: props.kmsKeyArn,
    lifecycle: { preventDestroy: true },
  });

  const securityGroup = new SecurityGroup(scope, 'security-group', {
    name: `${props.projectName}-build`,
    description: `CodeBuild ${props.projectName}: egress only`,
    vpcId: props.vpcId,
    revokeRulesOnDelete: true,
  });
  for (const port of [...new Set(props.egressTcpPorts ?? [443])].sort((a, b) => a - b)) {
    new VpcSecurityGroupEgressRule(scope, `egress-tcp-${port}`, {
      securityGroupId: securityGroup.id,
      description: `Builds reach TCP ${port}`,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      cidrIpv4: '0.0.0.0/0',
    });
  }

  const iamRole = new IamRole(scope, 'role', {
    name: roleName,
    description: `Service role of CodeBuild project ${props.projectName}`,
    assumeRolePolicy: codeBuildTrustPolicy(arns, props.projectName),
    maxSessionDuration: 3600,
    ...(props.permissionsBoundaryArn ? { permissionsBoundary: props.permissionsBoundaryArn } : {}),
  });
  // A list read at plan time (e.g. from SSM) is one list token: the policy then names the account's subnets.
  const subnetIds =
    Token.isUnresolved(props.subnetIds) || props.subnetIds.some((s) => Token.isUnresolved(s))
      ? undefined
      : props.subnetIds;
  const base = buildRoleStatements(arns, {
    ...role,
    projectName: props.projectName,
    logGroupName,
    connectionArn: props.connectionArn,
    subnetIds,
  });
  const extraStatements: RunnerPolicyStatement[] = [];
  const document = (): string => policyDocument([...base, ...extraStatements]);
  const policy = new IamRolePolicy(scope, 'policy', {
    name: 'build',
    role: iamRole.name,
    policy: Lazy.stringValue({ produce: document }),
  });
  scope.node.addValidation({
    validate: () => {
      const problem = inlinePolicySizeProblem(roleName, [document()]);
      return problem ? [`${scope.node.path}: ${problem}`] : [];
    },
  });

  const image = props.image ?? DEFAULT_CODEBUILD_IMAGE;
  const codebuild = new CodebuildProject(scope, 'project', {
    name: props.projectName,
    description: project.description.slice(0, 255),
    serviceRole: iamRole.arn,
    buildTimeout: props.timeoutMinutes ?? 60,
    encryptionKey: props.kmsKeyArn,
    artifacts: { type: 'NO_ARTIFACTS' },
    environment: {
      type: image.includes('aarch64') ? 'ARM_CONTAINER' : 'LINUX_CONTAINER',
      computeType: props.computeType ?? 'BUILD_GENERAL1_SMALL',
      image,
      imagePullCredentialsType: 'CODEBUILD',
      privilegedMode: project.privileged,
    },
    source: {
      type: 'GITHUB',
      location: `https://github.com/${props.repository}.git`,
      auth: { type: 'CODECONNECTIONS', resource: props.connectionArn },
      gitCloneDepth: project.gitCloneDepth ?? 1,
      reportBuildStatus: false,
      ...(project.buildspec ? { buildspec: project.buildspec } : {}),
    },
    logsConfig: {
      cloudwatchLogs: { status: 'ENABLED', groupName: logGroup.name },
      s3Logs: { status: 'DISABLED' },
    },
    vpcConfig: {
      vpcId: props.vpcId,
      subnets: [...props.subnetIds],
      securityGroupIds: [securityGroup.id],
    },
    ...project.extra,
    // The role must be able to reach the VPC and the connection before CodeBuild validates them.
    dependsOn: [policy],
  });
  return {
    projectName: props.projectName,
    arns,
    projectArn: projectArn(arns, props.projectName),
    roleName,
    roleArn: roleArn(props.accountId, props.region, roleName),
    role: iamRole,
    logGroup,
    logGroupName,
    securityGroup,
    project: codebuild,
    extraStatements,
  };
}

/**
 * What `GithubActionsRunner` and `DeployProject` both are: a CodeBuild project (made by
 * `createBuildProject` in the subclass's constructor, through `build`) with its literal names and ARNs,
 * its service role's inline policy open to more statements, and its log group.
 */
export abstract class BuildProjectConstruct extends Construct {
  private parts?: BuildProjectParts;

  protected build(props: BuildProjectProps, role: BuildRoleExtras, project: BuildProjectShape): void {
    this.parts = createBuildProject(this, props, role, project);
  }

  private get built(): BuildProjectParts {
    if (!this.parts) throw new Error(`${this.node.path}: the CodeBuild project is not built yet`);
    return this.parts;
  }

  public get projectName(): string {
    return this.built.projectName;
  }

  /** Computed from configuration: `arn:<partition>:codebuild:<region>:<account>:project/<name>`. */
  public get projectArn(): string {
    return this.built.projectArn;
  }

  public get roleName(): string {
    return this.built.roleName;
  }

  /** Computed from configuration, so policies naming it stay literal. */
  public get roleArn(): string {
    return this.built.roleArn;
  }

  public get logGroupName(): string {
    return this.built.logGroupName;
  }

  public get securityGroupId(): string {
    return this.built.securityGroup.id;
  }

  public get project(): CodebuildProject {
    return this.built.project;
  }

  /** The service role (what the builds run with). */
  public get role(): IamRole {
    return this.built.role;
  }

  /** ARNs of the project's log group and its streams (for a policy that reads them). */
  public get logGroupArns(): string[] {
    return logGroupArns(this.built.arns, this.logGroupName);
  }

  /** The ARNs these are computed from. */
  protected get arns(): Arns {
    return this.built.arns;
  }

  /**
   * Adds literal statements to the service role's inline policy: the rights the builds have. Keep them
   * to what the builds need.
   */
  public addToRolePolicy(...statements: IamPolicyStatement[]): void {
    this.built.extraStatements.push(...(statements as RunnerPolicyStatement[]));
  }
}
