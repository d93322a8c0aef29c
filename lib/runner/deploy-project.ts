import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import type { Construct } from 'constructs';
import { FieldProblems, show, throwProblems, type FieldProblem } from '../core/errors';
import { MANAGED_POLICY_MAX_CHARS } from '../core/aws-limits';
import type { IPolicyGrantee } from '../core/grants';
import { managedPolicyGrantProblems, type ManagedPolicyGrant } from '../core/managed-policy-grants';
import { accountIdProblem, regionProblem } from '../core/identifiers';
import { policyIdOf, registryHost, ssmParameterArn } from '../core/naming';
import { isKnown } from '../core/tokens';
import { Policy } from '../policy/policy';
import {
  COSIGN_SOURCES,
  deployBuildspec,
  type CosignSource,
  type DeployCosignInputs,
} from './private/buildspec';
import { deployRoleGuardStatements } from './private/deploy-role-guard';
import {
  BuildProjectConstruct,
  buildProjectProblems,
  buildSettingsProblems,
  managedPolicyArnProblems,
  type BuildProjectProps,
  type BuildSettings,
} from './private/build-project';
import {
  policyDocument,
  secretKind,
  starterStatements,
  type RunnerPolicyStatement,
} from './private/policies';
import { servicesApplyPolicies, type ServicesStackScope } from './services-apply-permissions';

/** The deploy project's settings (the configuration's `runners.deploy`). */
export interface DeployProjectSettings extends BuildSettings {
  /** Secrets Manager secret ARN or SSM parameter ARN holding `GANTRY_LEDGER_URL`. */
  readonly ledgerUrlSecretArn: string;
  /**
   * Secrets Manager ARN of a GitHub token that can read the repository's Actions runs (fine-grained:
   * `Actions: read`). The buildspec maps it to `GANTRY_GITHUB_TOKEN` (and the repository to
   * `GANTRY_GITHUB_REPOSITORY`), the service role may `GetSecretValue` it only, and `gantry apply`
   * uses it to verify an environment's N >= 2 approvals on the GitHub run that started the build
   * (named in the image-tags parameter). Needed when the environment requires 2 or more approvals.
   * @default none
   */
  readonly githubTokenSecretArn?: string;
  /**
   * Where the build's cosign comes from, where its deploys need one (`releaseImages`: keyless signatures
   * verified, or images promoted from upstream). 'install': the install phase downloads the pinned cosign
   * (`COSIGN_BINARY`, v2.5.3, from github.com) and checks its SHA-256 before making it executable, failing
   * the build on any other digest; the build needs HTTPS egress to github.com. 'image': the build image's
   * own `cosign` on PATH (an image that has it, or a build without internet), which must be there. Either
   * way cosign logs in to the registries with the role's ECR token before `gantry deploy`, so the image
   * needs the AWS CLI. Ignored where no deploy needs cosign. @default 'install'
   */
  readonly cosign?: DeployCosignSource;
}

/** See `DeployProjectSettings.cosign`. */
export type DeployCosignSource = CosignSource;

/** An account's ECR registry in a region. */
export interface EcrRegistryRef {
  readonly accountId: string;
  readonly region: string;
}

/**
 * What the deploy of `<environmentName>-services` does with images beyond a digest look-up, and so whether
 * its build needs cosign and a registry login (the same facts the services stack's release facts record).
 */
export interface DeployReleaseImages {
  /**
   * Every deploy verifies keyless signatures with `cosign verify` (`release.requireSignatures` applies to
   * the environment). @default false
   */
  readonly verifiesSignatures?: boolean;
  /**
   * The registries a promotion copies from (`cosign copy`): those of the environments before this one that
   * run one of its services. @default none: nothing is promoted into this environment
   */
  readonly upstreamRegistries?: readonly EcrRegistryRef[];
}

export interface DeployProjectProps extends BuildProjectProps, DeployProjectSettings {
  /** Environment name, exported to the build as `GANTRY_ENVIRONMENT`. */
  readonly environmentName: string;
  /** Stacks the build plans and applies, in order. */
  readonly stacks: readonly string[];
  /**
   * Release `<environmentName>-services` (when it is one of `stacks`) with `gantry deploy
   * <environmentName>`: plan and apply, then follow the rollouts, run the migrations, verify, and roll
   * back to the last verified tags on failure; its outcome table is printed to the build log (lines
   * starting `gantry-summary| `). Needs the stack's release facts (`ServicesStack` records them) and
   * `grantServicesApply` with a scope that has `release` (what the deploy calls beyond the apply). false: `gantry plan` + `gantry apply`, as for every other stack. @default true
   */
  readonly deployServicesStack?: boolean;
  /** The ref built when a caller gives no source version. @default `refs/heads/<defaultBranch>` */
  readonly defaultSourceVersion?: string;
  /**
   * The repository's default branch: the build runs a commit only when it is reachable from it.
   * @default the branch of `defaultSourceVersion`, else 'main'
   */
  readonly defaultBranch?: string;
  /**
   * Managed policies of the service role, on top of the permissions `grantServicesApply` derives.
   * PowerUserAccess and AdministratorAccess here fail the policy (GANTRY-IAM-011): pass them, if at
   * all, in `additionalPolicies` with a reason. @default none
   */
  readonly managedPolicyArns?: readonly string[];
  /**
   * Managed policies a team needs beyond the derived permissions, each with its reason (10+
   * characters), recorded in the stack's metadata as a GANTRY-IAM-011 suppression (and GANTRY-IAM-007
   * for AdministratorAccess) on its attachment. @default none
   */
  readonly additionalPolicies?: readonly ManagedPolicyGrant[];
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
   * What `gantry deploy` does with images: with a keyless check or upstream registries (and
   * `deployServicesStack`), the build gets cosign (`cosign`) and, before the deploy, logs cosign in to
   * this environment's registry and each upstream one (registries named from these account ids and
   * regions, never from the handoff). E.g. from the `ServicesStackScope` given to `grantServicesApply`:
   * its `release.images.upstream`. @default no cosign in the build
   */
  readonly releaseImages?: DeployReleaseImages;
}

/** The image-tags parameter's value before any workflow wrote it: no commit, no tags. */
export const INITIAL_IMAGE_TAGS_VALUE = '{"commit":"","tags":{}}';

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const SSM_PARAMETER_NAME = /^(?:\/[A-Za-z0-9_.-]+)+$/;

/**
 * The CodeBuild project that runs `gantry plan` and `gantry apply` (and `gantry deploy` for
 * `<env>-services`) with an environment's apply rights.
 * Its buildspec is defined here, in Terraform, not in the repository, and callers get only
 * `grantStart(grantee)`: start it (choosing the commit) and read its builds and logs, with an explicit
 * Deny of every override of what runs or with which rights. Runs in private subnets behind an
 * egress-only security group, logs to a KMS-encrypted log group with a retention, encrypts artifacts
 * with the environment's key, one build at a time.
 */
export class DeployProject extends BuildProjectConstruct {
  /** The buildspec (YAML) the project runs. */
  public readonly buildspec: string;
  /** The image-tags parameter name, when it has one. */
  public readonly imageTagsParameterName?: string;
  /** Computed from configuration: `arn:<partition>:ssm:<region>:<account>:parameter/...`. */
  public readonly imageTagsParameterArn?: string;

  constructor(scope: Construct, id: string, props: DeployProjectProps) {
    super(scope, id);
    throwProblems(this.node.path, deployProjectProblems(props));
    if (props.imageTagsParameterName) {
      this.imageTagsParameterName = props.imageTagsParameterName;
      this.imageTagsParameterArn = ssmParameterArn(
        props.accountId,
        props.region,
        props.imageTagsParameterName,
      );
      new SsmParameter(this, 'image-tags', {
        name: props.imageTagsParameterName,
        description: `Image tags of a dispatch for ${props.projectName}, bound to its commit (written by the apply workflow)`,
        type: 'String',
        value: INITIAL_IMAGE_TAGS_VALUE,
        // The workflow owns the value: Terraform creates the parameter and never resets it.
        lifecycle: { ignoreChanges: ['value'] },
      });
    }
    this.buildspec = deployBuildspec({
      environmentName: props.environmentName,
      stacks: props.stacks,
      deployServices: props.deployServicesStack ?? true,
      ledgerUrlSecretArn: props.ledgerUrlSecretArn,
      nodejsVersion: props.nodejsVersion ?? '20',
      synthCommand: props.synthCommand ?? 'npm run synth',
      runtimeCommand: props.runtimeCommand ?? 'npx --no -- gantry',
      imageTagsParameterName: this.imageTagsParameterName,
      githubTokenSecretArn: props.githubTokenSecretArn,
      repository: props.repository,
      defaultBranch: defaultBranchOf(props),
      cosign: cosignOf(props),
    });
    this.build(
      props,
      {
        ledgerUrlSecretArn: props.ledgerUrlSecretArn,
        imageTagsParameterArn: this.imageTagsParameterArn,
        githubTokenSecretArn: props.githubTokenSecretArn,
      },
      {
        description: `Gantry deploy project of ${props.environmentName}: plans and applies ${props.stacks.join(', ')}`,
        privileged: false,
        buildspec: this.buildspec,
        // A full clone: the build checks that its commit is on the default branch.
        gitCloneDepth: 0,
        extra: {
          concurrentBuildLimit: 1,
          sourceVersion: props.defaultSourceVersion ?? `refs/heads/${defaultBranchOf(props)}`,
        },
      },
    );
    // Whatever else the role is given, it never changes its own project, role or the audit trail.
    this.addToRolePolicy(...deployRoleGuardStatements(this.arns, this.projectName, this.roleName));
    for (const arn of [...new Set(props.managedPolicyArns ?? [])]) {
      const attachment = new IamRolePolicyAttachment(this, `managed-policy-${policyIdOf(arn)}`, {
        role: this.role.name,
        policyArn: arn,
      });
      Policy.acceptExplicitAdministratorAccess(attachment, arn, `${this.node.path}.managedPolicyArns`);
    }
    for (const grant of props.additionalPolicies ?? []) {
      const attachment = new IamRolePolicyAttachment(
        this,
        `additional-policy-${policyIdOf(grant.policyArn)}`,
        { role: this.role.name, policyArn: grant.policyArn },
      );
      Policy.acceptExplicitAdministratorAccess(
        attachment,
        grant.policyArn,
        `${this.node.path}.additionalPolicies`,
        grant.reason,
      );
    }
  }

  /**
   * Gives the project's role what applying the services stack of `scope` needs, and nothing else: per
   * resource type of the stack, the actions of `SERVICES_STACK_PERMISSIONS` on the resources named
   * from the configuration, in managed policies `<role>-apply-services`, `-network` and `-data`
   * (literal JSON, each measured against IAM's 6,144 characters at synth). The stack's KMS key grants
   * the rest in its own key policy (`SERVICES_KEY_POLICY_ACTIONS`). With `scope.release`, also what
   * `gantry deploy` calls (`SERVICES_RELEASE_PERMISSIONS`: the rollouts read, the migration tasks run and
   * waited for in the stack's cluster); the migration tasks' roles are passed with `grantPassRole`.
   */
  grantServicesApply(scope: ServicesStackScope): void {
    for (const { name, statements } of servicesApplyPolicies(scope)) {
      const document = policyDocument(statements);
      const policyName = `${this.roleName}-apply-${name}`;
      const policy = new IamPolicy(this, `apply-policy-${name}`, {
        name: policyName,
        description: `Gantry: what applying ${scope.stackId ?? `${scope.environment}-services`} needs (${name})`,
        policy: document,
      });
      new IamRolePolicyAttachment(this, `apply-policy-${name}-attachment`, {
        role: this.role.name,
        policyArn: policy.arn,
      });
      const size = document.replace(/\s/g, '').length;
      this.node.addValidation({
        validate: () =>
          size <= MANAGED_POLICY_MAX_CHARS
            ? []
            : [
                `${this.node.path}: managed policy ${JSON.stringify(policyName)} comes to ${size} characters (whitespace not counted); ` +
                  `IAM allows ${MANAGED_POLICY_MAX_CHARS}: fewer resource types, or shorter names`,
              ],
      });
    }
  }

  /**
   * Lets `grantee` (the GitHub apply role) run this project and nothing more: `StartBuild` and
   * `BatchGetBuilds` on it, log reads on its log group, `ssm:PutParameter` on its image-tags parameter
   * (when it has one), and an explicit Deny of `StartBuild` whenever the request overrides the
   * buildspec, source, environment variables, service role, image, compute type, privileged mode, ...
   * (see `START_BUILD_OVERRIDE_KEYS`), so no other policy of the grantee can reopen that path.
   */
  grantStart(grantee: IPolicyGrantee): void {
    grantee.addToPolicy(...this.starterPolicyStatements());
  }

  /** The statements `grantStart` adds, for a principal that is not an `IPolicyGrantee`. */
  starterPolicyStatements(): RunnerPolicyStatement[] {
    return starterStatements(this.arns, this.projectName, this.logGroupName, this.imageTagsParameterArn);
  }

  /**
   * Lets the project's builds pass these roles (literal ARNs) to `service` only (`iam:PassRole` with
   * `iam:PassedToService`), e.g. the services' task and execution roles to `ecs-tasks.amazonaws.com`.
   */
  grantPassRole(roleArns: readonly string[], service: string, sid = 'PassRoles'): void {
    if (roleArns.length === 0) return;
    this.addToRolePolicy({
      Sid: sid,
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: [...roleArns],
      Condition: { StringEquals: { 'iam:PassedToService': service } },
    });
  }
}

/**
 * The build's cosign, when its deploys need one: a keyless check or a promotion; the registries this
 * environment's own, then the upstream ones, each once.
 */
function cosignOf(props: DeployProjectProps): DeployCosignInputs | undefined {
  const images = props.releaseImages;
  const upstream = images?.upstreamRegistries ?? [];
  if ((props.deployServicesStack ?? true) === false) return undefined;
  if (images?.verifiesSignatures !== true && upstream.length === 0) return undefined;
  const registries = new Map<string, string>();
  for (const { accountId, region } of [props, ...upstream])
    registries.set(registryHost(accountId, region), region);
  return {
    source: props.cosign ?? 'install',
    registries: [...registries].map(([host, region]) => ({ host, region })),
  };
}

function defaultBranchOf(props: DeployProjectProps): string {
  if (props.defaultBranch) return props.defaultBranch;
  const match = /^refs\/heads\/(.+)$/.exec(props.defaultSourceVersion ?? '');
  return match ? match[1] : 'main';
}

/** Problems of the deploy project's settings (shared with the configuration's `runners.deploy`). */
export function deployProjectSettingsProblems(settings: DeployProjectSettings): FieldProblem[] {
  const problems = new FieldProblems();
  problems.addAll('', buildSettingsProblems(settings));
  problems.check(
    typeof settings.ledgerUrlSecretArn === 'string' && secretKind(settings.ledgerUrlSecretArn) !== undefined,
    'ledgerUrlSecretArn',
    // The value is not shown: a literal here may well be the URL itself, with its password.
    'is not a Secrets Manager secret ARN or SSM parameter ARN; the ledger URL is read at build time, never given as a literal',
  );
  const token = settings.githubTokenSecretArn;
  if (token !== undefined) {
    problems.check(
      typeof token === 'string' && secretKind(token) === 'secretsmanager',
      'githubTokenSecretArn',
      `${typeof token === 'string' && token.startsWith('arn:') ? show(token) : '(value not shown)'} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); the token is read at build time, never given as a literal`,
    );
  }
  if (settings.cosign !== undefined) {
    problems.check(
      (COSIGN_SOURCES as readonly unknown[]).includes(settings.cosign),
      'cosign',
      `${show(settings.cosign)} is not one of ${COSIGN_SOURCES.map((s) => show(s)).join(', ')} ` +
        "('install': the build downloads the pinned cosign and checks its SHA-256; 'image': the build image's own cosign)",
    );
  }
  return problems.list;
}

function deployProjectProblems(props: DeployProjectProps): FieldProblem[] {
  const problems = new FieldProblems();
  problems.addAll('', buildProjectProblems(props));
  // buildProjectProblems checked the build settings already.
  problems.addAll(
    '',
    deployProjectSettingsProblems(props).filter((p) =>
      ['ledgerUrlSecretArn', 'githubTokenSecretArn', 'cosign'].includes(p.field),
    ),
  );
  (props.releaseImages?.upstreamRegistries ?? []).forEach((registry, i) => {
    // Each becomes a word of the build's login command.
    const at = `releaseImages.upstreamRegistries[${i}]`;
    problems.addIf(`${at}.accountId`, accountIdProblem(registry?.accountId));
    problems.addIf(`${at}.region`, regionProblem(registry?.region));
  });
  problems.check(
    typeof props.environmentName === 'string' && STACK_NAME.test(props.environmentName),
    'environmentName',
    `${show(props.environmentName)} must be letters, digits, '-' or '_'`,
  );
  problems.check(props.stacks.length > 0, 'stacks', 'no stack given, the deploy project needs at least one');
  for (const stack of props.stacks) {
    problems.check(
      STACK_NAME.test(stack),
      'stacks',
      `${show(stack)} is not a stack id (letters, digits, '-' or '_'; it is a word of the build's shell command)`,
    );
  }
  problems.addAll('', managedPolicyArnProblems(props.managedPolicyArns));
  problems.addAll('', managedPolicyGrantProblems(props.additionalPolicies, 'additionalPolicies'));
  if (props.imageTagsParameterName !== undefined) {
    problems.check(
      SSM_PARAMETER_NAME.test(props.imageTagsParameterName),
      'imageTagsParameterName',
      `${show(props.imageTagsParameterName)} is not an SSM parameter name (/<path>/<name>: letters, digits, '_', '.', '-')`,
    );
  }
  const ref = props.defaultSourceVersion ?? 'refs/heads/main';
  problems.check(
    isKnown(ref) && ref.length > 0 && !/[\s*?]/.test(ref),
    'defaultSourceVersion',
    `${show(ref)} must be a ref or commit without wildcards or spaces`,
  );
  return problems.list;
}
