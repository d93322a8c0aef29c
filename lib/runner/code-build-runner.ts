import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CodebuildProject } from '@cdktf/provider-aws/lib/codebuild-project';
import { CodebuildWebhook } from '@cdktf/provider-aws/lib/codebuild-webhook';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { Lazy, Token } from 'cdktf';
import { Construct } from 'constructs';
import { LOG_RETENTION_DAYS } from '../core/aws-limits';
import { GantryConfigError, ProblemList, show } from '../core/errors';
import { inlinePolicySizeProblem } from '../core/inline-policy-size';
import { roleArn, ssmParameterArn } from '../core/naming';
import { Policy } from '../policy/policy';
import { deployBuildspec } from './private/buildspec';
import {
  arnsOf,
  buildRoleStatements,
  codeBuildTrustPolicy,
  logGroupArns,
  policyDocument,
  projectArn,
  secretKind,
  starterStatements,
  type Arns,
  type RunnerPolicyStatement,
} from './private/policies';

export type { RunnerPolicyStatement } from './private/policies';
export { START_BUILD_OVERRIDE_KEYS } from './private/policies';

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

interface CodeBuildRunnerCommonProps {
  /** Account of the project (for the literal ARNs in its policies). */
  readonly accountId: string;
  readonly region: string;
  /** CodeBuild project name, e.g. `runnerProjectName(org, env)` or `deployProjectName(org, env)`. */
  readonly projectName: string;
  /** Name of the project's service role. @default `<projectName>-build` */
  readonly roleName?: string;
  /** `owner/name` of the GitHub repository the project checks out. */
  readonly repository: string;
  /** CodeConnections (or CodeStar connection) ARN authorising CodeBuild on GitHub. */
  readonly connectionArn: string;
  /** VPC the builds run in. */
  readonly vpcId: string;
  /** Private subnets of the builds (no public IP is ever assigned). */
  readonly subnetIds: readonly string[];
  /** Customer-managed KMS key for the project's artifacts and its log group. */
  readonly kmsKeyArn: string;
  /** Retention of the project's log group, in days (a CloudWatch value). @default 90 */
  readonly logRetentionDays?: number;
  /** @default 'BUILD_GENERAL1_SMALL' */
  readonly computeType?: string;
  /** @default DEFAULT_CODEBUILD_IMAGE */
  readonly image?: string;
  /** Build timeout in minutes (5..2160). @default 60 */
  readonly timeoutMinutes?: number;
  /** TCP ports the builds may reach (egress to anywhere); nothing may connect in. @default [443] */
  readonly egressTcpPorts?: readonly number[];
  /** Permissions boundary of the service role. @default none */
  readonly permissionsBoundaryArn?: string;
}

/** A CodeBuild-hosted GitHub Actions runner: jobs say `runs-on: codebuild-<project>-<run id>-<attempt>`. */
export interface GithubActionsRunnerProps extends CodeBuildRunnerCommonProps {
  readonly mode: 'github-actions';
  /** Only jobs of these workflows start a runner. @default every workflow of the repository */
  readonly workflowNames?: readonly string[];
  /** Docker-in-Docker for image builds; needs a reason of 10+ characters. @default off */
  readonly privileged?: { readonly reason: string };
}

/** The project that runs `gantry plan` then `gantry apply` with the environment's apply rights. */
export interface DeployProjectProps extends CodeBuildRunnerCommonProps {
  readonly mode: 'deploy';
  /** Environment name, exported to the build as `GANTRY_ENVIRONMENT`. */
  readonly environmentName: string;
  /** Stacks the build plans and applies, in order. */
  readonly stacks: readonly string[];
  /** Secrets Manager secret ARN or SSM parameter ARN holding `GANTRY_LEDGER_URL`. */
  readonly ledgerUrlSecretArn: string;
  /** The ref built when a caller gives no source version. @default 'refs/heads/main' */
  readonly defaultSourceVersion?: string;
  /** Managed policies of the service role: the environment's apply permissions. @default none */
  readonly managedPolicyArns?: readonly string[];
  /** Node.js of the build (`runtime-versions`). @default '20' */
  readonly nodejsVersion?: string;
  /** Synthesizes the stacks before the runtime runs. @default 'npm run synth' */
  readonly synthCommand?: string;
  /** The runtime, never fetched from a registry (`--no`). @default 'npx --no -- gantry' */
  readonly runtimeCommand?: string;
  /**
   * Name of an SSM parameter (created here, `String`, initially `{"commit":"","tags":{}}`, its value
   * owned by the workflow) through which a caller hands the build image tags bound to a commit: the
   * starter may only `PutParameter` it, the build reads it as `GANTRY_IMAGE_TAGS`, and `gantry plan`
   * applies the tags only at that commit. E.g. `imageTagsParameterName(org, env)`.
   * @default none: the build deploys the image tags of the commit
   */
  readonly imageTagsParameterName?: string;
  /**
   * Secrets Manager ARN of a GitHub token that can read the repository's Actions runs (fine-grained:
   * `Actions: read`). The buildspec maps it to `GANTRY_GITHUB_TOKEN` (and the repository to
   * `GANTRY_GITHUB_REPOSITORY`), the service role may `GetSecretValue` it only, and `gantry apply`
   * uses it to verify an environment's N >= 2 approvals on the GitHub run that started the build
   * (named in the image-tags parameter). Needed when the environment requires 2 or more approvals.
   * @default none
   */
  readonly githubTokenSecretArn?: string;
}

/** The image-tags parameter's value before any workflow wrote it: no commit, no tags. */
export const INITIAL_IMAGE_TAGS_VALUE = '{"commit":"","tags":{}}';

export type CodeBuildRunnerProps = GithubActionsRunnerProps | DeployProjectProps;

const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ACCOUNT_ID = /^\d{12}$/;
const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const CONNECTION_ARN =
  /^arn:aws[a-z-]*:(?:codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(?:aws|\d{12}):policy\/[\w+=,.@/-]+$/;
const SSM_PARAMETER_NAME = /^(?:\/[A-Za-z0-9_.-]+)+$/;
const MIN_REASON_LENGTH = 10;

/**
 * A CodeBuild project in an environment's account, in one of two modes:
 *
 * - `github-actions`: a runner for GitHub Actions jobs. A webhook starts a build on every
 *   `WORKFLOW_JOB_QUEUED` event of the repository (optionally only for some workflows); the job's
 *   `runs-on: codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}` label routes it here.
 * - `deploy`: the project that runs `gantry plan` and `gantry apply` with the environment's apply
 *   rights. Its buildspec is defined here, not in the repository, and callers are given only
 *   `starterPolicyStatements()`: start it (choosing the commit) and read its builds and logs, with an
 *   explicit Deny of every override of what runs or with which rights.
 *
 * Both run in private subnets behind a dedicated egress-only security group, log to a KMS-encrypted
 * log group with a retention (`prevent_destroy`), encrypt artifacts with the environment's key, and
 * never run privileged unless a runner is given a reason.
 */
export class CodeBuildRunner extends Construct {
  public readonly mode: CodeBuildRunnerProps['mode'];
  public readonly projectName: string;
  /** Computed from configuration: `arn:<partition>:codebuild:<region>:<account>:project/<name>`. */
  public readonly projectArn: string;
  public readonly roleName: string;
  /** Computed from configuration, so policies naming it stay literal. */
  public readonly roleArn: string;
  public readonly logGroupName: string;
  public readonly securityGroupId: string;
  /** The deploy project's buildspec (YAML); `undefined` for a runner. */
  public readonly buildspec?: string;
  /** The runner's `runs-on` label prefix, `codebuild-<project>`; `undefined` for a deploy project. */
  public readonly labelPrefix?: string;
  /** The deploy project's image-tags parameter name, when it has one. */
  public readonly imageTagsParameterName?: string;
  /** Computed from configuration: `arn:<partition>:ssm:<region>:<account>:parameter/...`. */
  public readonly imageTagsParameterArn?: string;

  private readonly arns: Arns;
  private readonly extraStatements: RunnerPolicyStatement[] = [];

  constructor(scope: Construct, id: string, props: CodeBuildRunnerProps) {
    super(scope, id);
    validate(this.node.path, props);
    const computeType = props.computeType ?? 'BUILD_GENERAL1_SMALL';
    const image = props.image ?? DEFAULT_CODEBUILD_IMAGE;
    const deploy = props.mode === 'deploy' ? props : undefined;
    const runner = props.mode === 'github-actions' ? props : undefined;

    this.mode = props.mode;
    this.arns = arnsOf(props.accountId, props.region);
    this.projectName = props.projectName;
    this.projectArn = projectArn(this.arns, props.projectName);
    this.roleName = props.roleName ?? `${props.projectName}-build`;
    this.roleArn = roleArn(props.accountId, props.region, this.roleName);
    this.logGroupName = `/aws/codebuild/${props.projectName}`;
    if (deploy?.imageTagsParameterName) {
      this.imageTagsParameterName = deploy.imageTagsParameterName;
      this.imageTagsParameterArn = ssmParameterArn(
        props.accountId,
        props.region,
        deploy.imageTagsParameterName,
      );
      new SsmParameter(this, 'image-tags', {
        name: deploy.imageTagsParameterName,
        description: `Image tags of a dispatch for ${props.projectName}, bound to its commit (written by the apply workflow)`,
        type: 'String',
        value: INITIAL_IMAGE_TAGS_VALUE,
        // The workflow owns the value: Terraform creates the parameter and never resets it.
        lifecycle: { ignoreChanges: ['value'] },
      });
    }

    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: this.logGroupName,
      retentionInDays: props.logRetentionDays ?? 90,
      kmsKeyId: props.kmsKeyArn,
      lifecycle: { preventDestroy: true },
    });

    const securityGroup = new SecurityGroup(this, 'security-group', {
      name: `${props.projectName}-build`,
      description: `CodeBuild ${props.projectName}: egress only`,
      vpcId: props.vpcId,
      revokeRulesOnDelete: true,
    });
    this.securityGroupId = securityGroup.id;
    for (const port of [...new Set(props.egressTcpPorts ?? [443])].sort((a, b) => a - b)) {
      new VpcSecurityGroupEgressRule(this, `egress-tcp-${port}`, {
        securityGroupId: securityGroup.id,
        description: `Builds reach TCP ${port}`,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        cidrIpv4: '0.0.0.0/0',
      });
    }

    const role = new IamRole(this, 'role', {
      name: this.roleName,
      description: `Service role of CodeBuild project ${props.projectName}`,
      assumeRolePolicy: codeBuildTrustPolicy(this.arns, props.projectName),
      maxSessionDuration: 3600,
      ...(props.permissionsBoundaryArn ? { permissionsBoundary: props.permissionsBoundaryArn } : {}),
    });
    // A list read at plan time (e.g. from SSM) is one list token: the policy then names the account's subnets.
    const subnetIds =
      Token.isUnresolved(props.subnetIds) || props.subnetIds.some((s) => Token.isUnresolved(s))
        ? undefined
        : props.subnetIds;
    const base = buildRoleStatements(this.arns, {
      projectName: props.projectName,
      logGroupName: this.logGroupName,
      connectionArn: props.connectionArn,
      subnetIds,
      ledgerUrlSecretArn: deploy?.ledgerUrlSecretArn,
      imageTagsParameterArn: this.imageTagsParameterArn,
      githubTokenSecretArn: deploy?.githubTokenSecretArn,
    });
    const document = (): string => policyDocument([...base, ...this.extraStatements]);
    const policy = new IamRolePolicy(this, 'policy', {
      name: 'build',
      role: role.name,
      policy: Lazy.stringValue({ produce: document }),
    });
    this.node.addValidation({
      validate: () => {
        const problem = inlinePolicySizeProblem(this.roleName, [document()]);
        return problem ? [`${this.node.path}: ${problem}`] : [];
      },
    });
    [...new Set(deploy?.managedPolicyArns ?? [])].forEach((arn, i) => {
      const attachment = new IamRolePolicyAttachment(this, `managed-policy-${i}`, {
        role: role.name,
        policyArn: arn,
      });
      Policy.acceptExplicitAdministratorAccess(attachment, arn, `${this.node.path}.managedPolicyArns`);
    });

    const repositoryUrl = `https://github.com/${props.repository}.git`;
    if (deploy) {
      this.buildspec = deployBuildspec({
        environmentName: deploy.environmentName,
        stacks: deploy.stacks,
        ledgerUrlSecretArn: deploy.ledgerUrlSecretArn,
        nodejsVersion: deploy.nodejsVersion ?? '20',
        synthCommand: deploy.synthCommand ?? 'npm run synth',
        runtimeCommand: deploy.runtimeCommand ?? 'npx --no -- gantry',
        imageTagsParameterName: this.imageTagsParameterName,
        githubTokenSecretArn: deploy.githubTokenSecretArn,
        repository: props.repository,
      });
    }

    const project = new CodebuildProject(this, 'project', {
      name: props.projectName,
      description: deploy
        ? `Gantry deploy project of ${deploy.environmentName}: plans and applies ${deploy.stacks.join(', ')}`
        : `GitHub Actions runner for ${props.repository}${
            runner?.privileged ? ` (privileged: ${runner.privileged.reason.trim()})` : ''
          }`.slice(0, 255),
      serviceRole: role.arn,
      buildTimeout: props.timeoutMinutes ?? 60,
      ...(deploy ? { concurrentBuildLimit: 1 } : {}),
      encryptionKey: props.kmsKeyArn,
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: {
        type: image.includes('aarch64') ? 'ARM_CONTAINER' : 'LINUX_CONTAINER',
        computeType,
        image,
        imagePullCredentialsType: 'CODEBUILD',
        privilegedMode: runner?.privileged !== undefined,
      },
      source: {
        type: 'GITHUB',
        location: repositoryUrl,
        auth: { type: 'CODECONNECTIONS', resource: props.connectionArn },
        gitCloneDepth: 1,
        reportBuildStatus: false,
        ...(this.buildspec ? { buildspec: this.buildspec } : {}),
      },
      ...(deploy ? { sourceVersion: deploy.defaultSourceVersion ?? 'refs/heads/main' } : {}),
      logsConfig: {
        cloudwatchLogs: { status: 'ENABLED', groupName: logGroup.name },
        s3Logs: { status: 'DISABLED' },
      },
      vpcConfig: {
        vpcId: props.vpcId,
        subnets: [...props.subnetIds],
        securityGroupIds: [securityGroup.id],
      },
      // The role must be able to reach the VPC and the connection before CodeBuild validates them.
      dependsOn: [policy],
    });

    if (runner?.privileged) {
      // Privileged mode is the one part of invariant 15 a runner may waive, and only with a reason.
      Policy.suppress(project, 'GANTRY-CB-001', `privileged mode: ${runner.privileged.reason.trim()}`);
    }
    if (runner) {
      this.labelPrefix = `codebuild-${props.projectName}`;
      const filters = [{ type: 'EVENT', pattern: 'WORKFLOW_JOB_QUEUED' }];
      if (runner.workflowNames && runner.workflowNames.length > 0) {
        filters.push({ type: 'WORKFLOW_NAME', pattern: workflowNamePattern(runner.workflowNames) });
      }
      new CodebuildWebhook(this, 'webhook', {
        projectName: project.name,
        buildType: 'BUILD',
        filterGroup: [{ filter: filters }],
      });
    }
  }

  /**
   * What a caller needs to run this deploy project and nothing more: `StartBuild` and
   * `BatchGetBuilds` on this project, log reads on its log group, `ssm:PutParameter` on its
   * image-tags parameter (when it has one), and an explicit Deny of
   * `StartBuild` whenever the request overrides the buildspec, source, environment variables,
   * service role, image, compute type, privileged mode, ... (see `START_BUILD_OVERRIDE_KEYS`).
   */
  starterPolicyStatements(): RunnerPolicyStatement[] {
    if (this.mode !== 'deploy') {
      throw new GantryConfigError(
        `${this.node.path}: starterPolicyStatements() is for a deploy project; a github-actions runner is started by its webhook`,
      );
    }
    return starterStatements(this.arns, this.projectName, this.logGroupName, this.imageTagsParameterArn);
  }

  /** Adds statements to the service role's inline policy (e.g. a scoped `iam:PassRole`). */
  addToRolePolicy(...statements: RunnerPolicyStatement[]): void {
    this.extraStatements.push(...statements);
  }

  /** ARNs of the project's log group and its streams (for a policy that reads them). */
  get logGroupArns(): string[] {
    return logGroupArns(this.arns, this.logGroupName);
  }
}

/** `^(?:Build|Deploy app)$`, each name escaped: WORKFLOW_NAME patterns are regular expressions. */
export function workflowNamePattern(names: readonly string[]): string {
  const escaped = [...new Set(names)].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `^(?:${escaped.join('|')})$`;
}

function validate(path: string, props: CodeBuildRunnerProps): void {
  const problems = new ProblemList();
  const known = (v: unknown) => !(typeof v === 'string' && Token.isUnresolved(v));
  if (known(props.accountId))
    problems.check(
      ACCOUNT_ID.test(props.accountId),
      `${path}.accountId`,
      `${show(props.accountId)} is not a 12-digit AWS account id`,
    );
  problems.check(
    PROJECT_NAME.test(props.projectName),
    `${path}.projectName`,
    `${show(props.projectName)} must be 2-255 letters, digits, '-' or '_', starting with a letter or digit`,
  );
  const roleName = props.roleName ?? `${props.projectName}-build`;
  problems.check(
    ROLE_NAME.test(roleName),
    `${path}.roleName`,
    `${show(roleName)} is not an IAM role name of at most 64 characters`,
  );
  problems.check(
    REPOSITORY.test(props.repository),
    `${path}.repository`,
    `${show(props.repository)} is not of the form owner/name (no wildcards)`,
  );
  if (known(props.connectionArn))
    problems.check(
      CONNECTION_ARN.test(props.connectionArn),
      `${path}.connectionArn`,
      `${show(props.connectionArn)} is not a CodeConnections ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)`,
    );
  problems.check(
    props.subnetIds.length > 0,
    `${path}.subnetIds`,
    'no subnet given, at least one private subnet is needed',
  );
  const retention = props.logRetentionDays ?? 90;
  problems.check(
    LOG_RETENTION_DAYS.has(retention),
    `${path}.logRetentionDays`,
    `${show(retention)} is not a CloudWatch retention (one of ${[...LOG_RETENTION_DAYS].join(', ')})`,
  );
  const computeType = props.computeType ?? 'BUILD_GENERAL1_SMALL';
  problems.check(
    (CODEBUILD_COMPUTE_TYPES as readonly string[]).includes(computeType),
    `${path}.computeType`,
    `${show(computeType)} is not one of ${CODEBUILD_COMPUTE_TYPES.join(', ')}`,
  );
  const image = props.image ?? DEFAULT_CODEBUILD_IMAGE;
  problems.check(
    image.length > 0 && !/\s/.test(image),
    `${path}.image`,
    `${show(image)} is not an image name`,
  );
  const timeout = props.timeoutMinutes ?? 60;
  problems.check(
    Number.isInteger(timeout) && timeout >= 5 && timeout <= 2160,
    `${path}.timeoutMinutes`,
    `${show(timeout)} must be an integer from 5 to 2160`,
  );
  for (const port of props.egressTcpPorts ?? [443]) {
    problems.check(
      Number.isInteger(port) && port >= 1 && port <= 65535,
      `${path}.egressTcpPorts`,
      `${show(port)} is outside 1..65535`,
    );
  }

  if (props.mode === 'github-actions') {
    if (props.privileged !== undefined) {
      const reason = props.privileged.reason?.trim() ?? '';
      problems.check(
        reason.length >= MIN_REASON_LENGTH,
        `${path}.privileged.reason`,
        `${show(props.privileged.reason)}: privileged mode needs a reason of at least ${MIN_REASON_LENGTH} characters (e.g. "builds container images with docker")`,
      );
    }
    for (const name of props.workflowNames ?? []) {
      problems.check(
        typeof name === 'string' && name.trim().length > 0 && !/[\r\n]/.test(name),
        `${path}.workflowNames`,
        `${show(name)} is not a workflow name (non-empty, one line)`,
      );
    }
  } else if (props.mode === 'deploy') {
    problems.check(
      STACK_NAME.test(props.environmentName),
      `${path}.environmentName`,
      `${show(props.environmentName)} must be letters, digits, '-' or '_'`,
    );
    problems.check(
      props.stacks.length > 0,
      `${path}.stacks`,
      'no stack given, the deploy project needs at least one',
    );
    for (const stack of props.stacks) {
      problems.check(
        STACK_NAME.test(stack),
        `${path}.stacks`,
        `${show(stack)} is not a stack id (letters, digits, '-' or '_'; it is a word of the build's shell command)`,
      );
    }
    problems.check(
      secretKind(props.ledgerUrlSecretArn) !== undefined,
      `${path}.ledgerUrlSecretArn`,
      `${show(redact(props.ledgerUrlSecretArn))} is not a Secrets Manager secret ARN or SSM parameter ARN; the ledger URL is read at build time, never given as a literal`,
    );
    for (const arn of props.managedPolicyArns ?? []) {
      problems.check(
        POLICY_ARN.test(arn),
        `${path}.managedPolicyArns`,
        `${show(arn)} is not an IAM policy ARN`,
      );
    }
    if (props.imageTagsParameterName !== undefined) {
      problems.check(
        SSM_PARAMETER_NAME.test(props.imageTagsParameterName),
        `${path}.imageTagsParameterName`,
        `${show(props.imageTagsParameterName)} is not an SSM parameter name (/<path>/<name>: letters, digits, '_', '.', '-')`,
      );
    }
    if (props.githubTokenSecretArn !== undefined) {
      problems.check(
        secretKind(props.githubTokenSecretArn) === 'secretsmanager',
        `${path}.githubTokenSecretArn`,
        `${props.githubTokenSecretArn.startsWith('arn:') ? show(props.githubTokenSecretArn) : '(value not shown)'} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); the token is read at build time, never given as a literal`,
      );
    }
    const ref = props.defaultSourceVersion ?? 'refs/heads/main';
    problems.check(
      ref.length > 0 && !/[\s*?]/.test(ref),
      `${path}.defaultSourceVersion`,
      `${show(ref)} must be a ref or commit without wildcards or spaces`,
    );
  } else {
    problems.add(
      `${path}.mode`,
      `${show((props as { mode: unknown }).mode)} is not "github-actions" or "deploy"`,
    );
  }
  problems.throwIfAny();
}

/** A value that looks like a connection string is shown without its credentials. */
function redact(value: string): string {
  return typeof value === 'string' ? value.replace(/\/\/[^@/]*@/, '//***@') : value;
}
