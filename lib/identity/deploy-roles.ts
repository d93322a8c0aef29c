import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { Lazy, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ProblemList, show } from '../core/errors';
import {
  deploymentBranchesProblems,
  type DeploymentBranchesConfig,
  type SubjectFormat,
} from '../core/github';
import { publishNotificationsStatement, type IamPolicyStatement, type IPolicyGrantee } from '../core/grants';
import { managedPolicyGrantProblems, type ManagedPolicyGrant } from '../core/managed-policy-grants';
import {
  accountIdProblem,
  bucketNameProblem,
  GITHUB_REPOSITORY,
  KMS_KEY_ARN,
  regionProblem,
  snsTopicArnProblem,
  SSM_PARAMETER_ARN,
} from '../core/identifiers';
import { isKnown } from '../core/tokens';
import { inlinePolicySizeProblem } from '../core/inline-policy-size';
import { DATA_PLANE_READ_ACTIONS, PULL_REQUEST_DENIED_WRITES } from '../core/data-plane';
import { partitionOf, policyIdOf, roleArn } from '../core/naming';
import { KMS_ALIAS_ARN, stateKeyRef, stateKeyStatement, type StateKeyRef } from '../core/state-key';
import { Policy } from '../policy/policy';
import { checkTrustPolicy, MAX_APPLY_SESSION_SECONDS } from '../policy/trust-policy';
import type { IGithubOidcProvider } from './github-oidc-provider';
import { githubTrustPolicy, subjects, type SubjectRepository } from './private/github-subjects';

export type { IamPolicyStatement } from '../core/grants';

/** `iam:PassRole` on exactly these roles, to exactly this service. */
export interface PassRoleGrant {
  /** Literal role ARNs (no wildcards). */
  readonly roleArns: readonly string[];
  /** The service the roles may be passed to, e.g. `ecs-tasks.amazonaws.com`. */
  readonly service: string;
}

/** The Terraform state the plan role may read (and lock). */
export interface PlanStateAccess {
  readonly bucket: string;
  /** State object keys (`<prefix><stack>.tfstate`); the lock is `<key>.tflock`. */
  readonly objectKeys: readonly string[];
  /** KMS key ARN encrypting the state. @default none (bucket-managed encryption) */
  readonly kmsKeyArn?: string;
  /**
   * The alias ARN (`arn:<partition>:kms:<region>:<account>:alias/<name>`) of the key encrypting the state,
   * when its key id is unknown at synth (a bootstrap stack's key, the tooling account's): the roles may use
   * the keys of that account and region whose aliases include it, through S3 only, and the Deny of
   * `kms:Decrypt` spares only such keys. Excludes `kmsKeyArn`. @default none
   */
  readonly kmsKeyAliasArn?: string;
}

/**
 * The read-only plan role, trusted for the repository's default branch only; and, when `pullRequests` is
 * given, a second role for pull-request plans. Both deny data-plane reads (`DATA_PLANE_READ_ACTIONS`)
 * outside what the plans of their stacks read (their state, `readableParameterArns`, the state's key), in
 * the role itself, so a broad managed policy such as ReadOnlyAccess cannot reopen them.
 */
export interface PlanRoleProps {
  readonly roleName: string;
  /** The repository's default branch. */
  readonly defaultBranch: string;
  /**
   * A GitHub Environment only the default branch may use: when given, the plan role trusts
   * `environment:<name>` (the jobs of the default branch run bound to it) instead of
   * `ref:refs/heads/<defaultBranch>`.
   * @default the plan role trusts `ref:refs/heads/<defaultBranch>`
   */
  readonly trustedEnvironment?: string;
  /** Managed policies of the plan roles. @default AWS managed ReadOnlyAccess */
  readonly policyArns?: readonly string[];
  /**
   * State the plan roles may read; the default-branch role may also Get/Put/Delete the lock objects.
   * @default no state access (local state)
   */
  readonly stateAccess?: PlanStateAccess;
  /** SSM parameters the plans read (data sources, managed parameters): exempt from the deny. @default none */
  readonly readableParameterArns?: readonly string[];
  /**
   * A role for pull-request plans (`pull_request` subjects only): read-only, the state readable but no lock
   * written (pull-request plans run with `-lock=false`), every object write denied. For an environment that
   * requires an approval, give `reason`: it is recorded as a `GANTRY-IAM-013` suppression.
   * @default no pull-request role: pull requests cannot plan this environment
   */
  readonly pullRequests?: { readonly roleName: string; readonly reason?: string };
}

/** The apply role: trusted only for `environment:<environment>` of the repository. */
export interface ApplyRoleProps {
  readonly roleName: string;
  /** The GitHub Environment the apply role trusts (`environment:<name>`). */
  readonly environment: string;
  /**
   * The deployment branch policy of that environment (the `github` stack sets it): a job bound to
   * an environment carries no branch in its `sub`, so the branch gate lives there. Required.
   */
  readonly deploymentBranches: DeploymentBranchesConfig;
  /**
   * Managed policies of the apply role. PowerUserAccess or AdministratorAccess here fail the policy
   * (GANTRY-IAM-011): pass them, if at all, in `additionalPolicies` with a reason. @default none
   */
  readonly managedPolicyArns?: readonly string[];
  /**
   * Managed policies with the reason the role needs each (10+ characters), recorded as a
   * GANTRY-IAM-011 suppression (and GANTRY-IAM-007 for AdministratorAccess) on the attachment.
   * @default none
   */
  readonly additionalPolicies?: readonly ManagedPolicyGrant[];
  /** Inline statements of the apply role (more with `deployRoles.apply.addToPolicy()`). @default none */
  readonly statements?: readonly IamPolicyStatement[];
  /** Permissions boundary of the apply role. @default none */
  readonly permissionsBoundaryArn?: string;
  /** `iam:PassRole` grants of the apply role. @default none */
  readonly passRoles?: readonly PassRoleGrant[];
  /** Pins the reusable workflow allowed to assume the apply role (`job_workflow_ref`). @default no pin */
  readonly workflowRef?: string;
  /**
   * SNS topics of the role's account and partition that `gantry deploy`, run with this role, publishes
   * the outcome to: `sns:Publish` on exactly these. @default none
   */
  readonly notificationTopicArns?: readonly string[];
}

export interface DeployRolesProps {
  readonly accountId: string;
  readonly region: string;
  readonly oidcProvider: IGithubOidcProvider;
  /** `owner/name` of the one repository trusted. */
  readonly repository: string;
  /** Numeric owner id (for the `id` subject formats). @default none */
  readonly ownerId?: number;
  /** Numeric repository id (for the `id` subject formats). @default none */
  readonly repositoryId?: number;
  /** @default 'name' */
  readonly subjectFormat?: SubjectFormat;
  readonly plan: PlanRoleProps;
  readonly apply: ApplyRoleProps;
  /** Maximum session of both roles, in seconds (3600 at most for the apply role). @default 3600 */
  readonly maxSessionDurationSeconds?: number;
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const MANAGED_POLICY_ARN = /^arn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy\/[\w+=,.@/-]+$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;

/**
 * The two roles GitHub Actions assumes in an environment's account:
 * - plan role (`gantry:role = plan`): trusted for the repository's `pull_request` events and its
 *   default branch; read-only, plus reading the state and writing its lock object;
 * - apply role (`gantry:role = apply`): trusted only for `environment:<environment>` of that
 *   repository (optionally only from one reusable workflow); its rights are what the caller gives
 *   (`apply.*` props, `apply.addToPolicy()`, or `grantX(deployRoles.apply)` of another construct).
 * Both pin `aud`, match subjects with StringEquals, last at most one hour by default, and are
 * checked at synth with `checkTrustPolicy`.
 */
export class DeployRoles extends Construct {
  public readonly planRoleName: string;
  public readonly planRoleArn: string;
  public readonly applyRoleName: string;
  public readonly applyRoleArn: string;
  public readonly planRole: IamRole;
  /** The pull-request plan role, when `plan.pullRequests` is given. */
  public readonly pullRequestPlanRole?: IamRole;
  public readonly pullRequestPlanRoleArn?: string;
  public readonly applyRole: IamRole;
  /** The apply role as a grantee: `deployProject.grantStart(deployRoles.apply)`. */
  public readonly apply: IPolicyGrantee;

  private readonly applyStatements: IamPolicyStatement[] = [];
  private applyInlinePolicy?: IamRolePolicy;
  private readonly trustPolicies: { kind: 'plan' | 'apply'; name: string; json: string; session: number }[] =
    [];

  constructor(scope: Construct, id: string, props: DeployRolesProps) {
    super(scope, id);
    validate(this.node.path, props);
    const { plan, apply } = props;
    const partition = partitionOf(props.region);
    const session = props.maxSessionDurationSeconds ?? 3600;
    const repo: SubjectRepository = {
      repository: props.repository,
      ownerId: props.ownerId,
      repositoryId: props.repositoryId,
      subjectFormat: props.subjectFormat ?? 'name',
    };
    this.planRoleName = plan.roleName;
    this.applyRoleName = apply.roleName;
    this.planRoleArn = roleArn(props.accountId, props.region, plan.roleName);
    this.applyRoleArn = roleArn(props.accountId, props.region, apply.roleName);

    // Plan role: the default branch only.
    const branchContext = plan.trustedEnvironment
      ? `environment:${plan.trustedEnvironment}`
      : `ref:refs/heads/${plan.defaultBranch}`;
    const planTrust = JSON.stringify(
      githubTrustPolicy(
        props.oidcProvider.providerArn,
        'GithubPlanDefaultBranch',
        subjects(repo, [branchContext]),
      ),
    );
    this.planRole = new IamRole(this, 'plan', {
      name: plan.roleName,
      description: `Gantry: read-only plans of ${props.repository} (${plan.defaultBranch})`,
      assumeRolePolicy: planTrust,
      maxSessionDuration: session,
      tags: { 'gantry:role': 'plan' },
      dependsOn: [...props.oidcProvider.dependables],
    });
    this.trustPolicies.push({ kind: 'plan', name: plan.roleName, json: planTrust, session });
    this.addPlanPolicies(this.planRole, 'plan', partition, plan, true);

    // Pull-request plan role: pull requests only, no lock, no write, no data read.
    if (plan.pullRequests) {
      const pr = plan.pullRequests;
      const prTrust = JSON.stringify(
        githubTrustPolicy(
          props.oidcProvider.providerArn,
          'GithubPlanPullRequests',
          subjects(repo, ['pull_request']),
        ),
      );
      this.pullRequestPlanRole = new IamRole(this, 'plan-pull-requests', {
        name: pr.roleName,
        description: `Gantry: read-only plans of pull requests of ${props.repository}: no data reads, no lock`,
        assumeRolePolicy: prTrust,
        maxSessionDuration: session,
        tags: { 'gantry:role': 'plan', 'gantry:pull-requests': 'true' },
        dependsOn: [...props.oidcProvider.dependables],
      });
      this.pullRequestPlanRoleArn = roleArn(props.accountId, props.region, pr.roleName);
      this.trustPolicies.push({ kind: 'plan', name: pr.roleName, json: prTrust, session });
      this.addPlanPolicies(this.pullRequestPlanRole, 'plan-pull-requests', partition, plan, false);
      if (pr.reason !== undefined) {
        Policy.suppress(
          this.pullRequestPlanRole,
          'GANTRY-IAM-013',
          `pull-request plans: ${pr.reason.trim()}`,
        );
      }
    }

    // Apply role.
    const applyTrust = JSON.stringify(
      githubTrustPolicy(
        props.oidcProvider.providerArn,
        'GithubApplyEnvironment',
        subjects(repo, [`environment:${apply.environment}`]),
        apply.workflowRef,
      ),
    );
    this.applyRole = new IamRole(this, 'apply', {
      name: apply.roleName,
      description: `Gantry: applies from ${props.repository} environment ${apply.environment}`,
      assumeRolePolicy: applyTrust,
      maxSessionDuration: session,
      tags: { 'gantry:role': 'apply' },
      ...(apply.permissionsBoundaryArn ? { permissionsBoundary: apply.permissionsBoundaryArn } : {}),
      dependsOn: [...props.oidcProvider.dependables],
    });
    this.trustPolicies.push({ kind: 'apply', name: apply.roleName, json: applyTrust, session });
    for (const policyArn of new Set(apply.managedPolicyArns ?? [])) {
      const attachment = new IamRolePolicyAttachment(this, `apply-policy-${policyIdOf(policyArn)}`, {
        role: this.applyRole.name,
        policyArn,
      });
      Policy.acceptExplicitAdministratorAccess(
        attachment,
        policyArn,
        `${this.node.path}.apply.managedPolicyArns`,
      );
    }
    for (const grant of apply.additionalPolicies ?? []) {
      const attachment = new IamRolePolicyAttachment(
        this,
        `apply-additional-policy-${policyIdOf(grant.policyArn)}`,
        { role: this.applyRole.name, policyArn: grant.policyArn },
      );
      Policy.acceptExplicitAdministratorAccess(
        attachment,
        grant.policyArn,
        `${this.node.path}.apply.additionalPolicies`,
        grant.reason,
      );
    }
    (apply.passRoles ?? []).forEach((grant, i) =>
      this.applyStatements.push({
        Sid: `PassRoleTo${i}`,
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: grant.roleArns.length === 1 ? grant.roleArns[0] : [...grant.roleArns],
        Condition: { StringEquals: { 'iam:PassedToService': grant.service } },
      }),
    );
    const publish = publishNotificationsStatement(apply.notificationTopicArns ?? []);
    if (publish) this.applyStatements.push(publish);
    if (apply.statements?.length) this.addToApplyPolicy(...apply.statements);
    else if (this.applyStatements.length > 0) this.ensureApplyInlinePolicy();
    this.apply = {
      roleName: this.applyRoleName,
      roleArn: this.applyRoleArn,
      addToPolicy: (...statements) => this.addToApplyPolicy(...statements),
    };

    this.node.addValidation({
      validate: () => {
        const size = inlinePolicySizeProblem(apply.roleName, [this.applyPolicyJson()]);
        return [...this.validateTrust(), ...(size ? [`${this.node.path}: ${size}`] : [])];
      },
    });
  }

  /**
   * A plan role's policies: the managed ones (ReadOnlyAccess by default), the state it reads (and, for the
   * default-branch role, the lock it writes), and the explicit Deny of data-plane reads outside them
   * (and, for the pull-request role, of every object write).
   */
  private addPlanPolicies(
    role: IamRole,
    id: string,
    partition: string,
    plan: PlanRoleProps,
    locks: boolean,
  ): void {
    const planPolicies = plan.policyArns ?? [`arn:${partition}:iam::aws:policy/ReadOnlyAccess`];
    for (const policyArn of new Set(planPolicies)) {
      new IamRolePolicyAttachment(this, `${id}-policy-${policyIdOf(policyArn)}`, {
        role: role.name,
        policyArn,
      });
    }
    if (plan.stateAccess) {
      new IamRolePolicy(this, `${id}-state`, {
        name: 'terraform-state',
        role: role.name,
        policy: JSON.stringify(planStatePolicy(partition, plan.stateAccess, locks)),
      });
    }
    new IamRolePolicy(this, `${id}-deny-data-reads`, {
      name: 'deny-data-reads',
      role: role.name,
      policy: JSON.stringify(planDenyPolicy(partition, plan, locks)),
    });
  }

  /**
   * Adds literal statements to the apply role's inline policy (rendered at synth, still a literal
   * JSON string). `iam:PassRole` is refused here: use `apply.passRoles`, which scopes it.
   */
  public addToApplyPolicy(...statements: IamPolicyStatement[]): void {
    const problems = new ProblemList();
    statements.forEach((s, i) => checkStatement(`${this.node.path}.addToApplyPolicy[${i}]`, s, problems));
    problems.throwIfAny();
    this.applyStatements.push(...statements);
    this.ensureApplyInlinePolicy();
  }

  private ensureApplyInlinePolicy(): void {
    if (this.applyInlinePolicy) return;
    this.applyInlinePolicy = new IamRolePolicy(this, 'apply-inline', {
      name: 'gantry-apply',
      role: this.applyRole.name,
      policy: Lazy.stringValue({ produce: () => this.applyPolicyJson() }),
    });
  }

  private applyPolicyJson(): string {
    return JSON.stringify({ Version: '2012-10-17', Statement: this.applyStatements });
  }

  private validateTrust(): string[] {
    return this.trustPolicies.flatMap((t) =>
      checkTrustPolicy(t.json, {
        roleKind: t.kind,
        roleName: t.name,
        maxSessionDurationSeconds: t.session,
      }).map((f) => `${this.node.path}: invariant ${f.invariant}: ${f.message}`),
    );
  }
}

/** The key of the state, as the policies name it: by ARN, or by alias (`kmsKeyAliasArn`). */
function stateKeyOf(state: PlanStateAccess | undefined): StateKeyRef | undefined {
  if (state?.kmsKeyArn) return { keyArn: state.kmsKeyArn };
  if (state?.kmsKeyAliasArn) return stateKeyRef(state.kmsKeyAliasArn, { accountId: '', region: '' });
  return undefined;
}

/**
 * The explicit Deny of data-plane reads, except on what the plans of the role's stacks read: their state
 * objects (and lock objects), the SSM parameters they read, the state's key. A key named by alias cannot be
 * a `NotResource`: `kms:Decrypt` is then denied in a statement of its own on every key but those whose
 * aliases include the state key's (`ForAllValues:StringNotEquals kms:ResourceAliases`, true for a key
 * without aliases, so such a key stays denied). The pull-request role (no `locks`) also may not write or
 * delete any object.
 */
function planDenyPolicy(partition: string, plan: PlanRoleProps, locks: boolean): Record<string, unknown> {
  const state = plan.stateAccess;
  const key = stateKeyOf(state);
  const bucketArn = state ? `arn:${partition}:s3:::${state.bucket}` : undefined;
  const exempt = [
    ...(state && bucketArn
      ? state.objectKeys.flatMap((k) => [`${bucketArn}/${k}`, ...(locks ? [`${bucketArn}/${k}.tflock`] : [])])
      : []),
    ...(plan.readableParameterArns ?? []),
    ...(key && 'keyArn' in key ? [key.keyArn] : []),
  ];
  const byAlias = key !== undefined && 'aliasName' in key;
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'DenyDataPlaneReads',
      Effect: 'Deny',
      Action: byAlias
        ? DATA_PLANE_READ_ACTIONS.filter((a) => a !== 'kms:Decrypt')
        : [...DATA_PLANE_READ_ACTIONS],
      ...(exempt.length > 0 ? { NotResource: exempt } : { Resource: '*' }),
    },
  ];
  if (byAlias) {
    statements.push({
      Sid: 'DenyDecryptButStateKey',
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': [key.aliasName] } },
    });
  }
  if (!locks) {
    statements.push({
      Sid: 'DenyObjectWrites',
      Effect: 'Deny',
      Action: [...PULL_REQUEST_DENIED_WRITES],
      Resource: '*',
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * What a plan role may do with its state: list and read the state keys; for the default-branch role
 * (`locks`), take and release their locks; decrypt with the state key, and, to write a lock S3 encrypts
 * with it, generate data keys (the pull-request role writes nothing, so it only decrypts).
 */
function planStatePolicy(partition: string, state: PlanStateAccess, locks = true): Record<string, unknown> {
  const bucketArn = `arn:${partition}:s3:::${state.bucket}`;
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'ListStateKeys',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: {
        StringEquals: { 's3:prefix': state.objectKeys.flatMap((k) => [k, `${k}.tflock`]) },
      },
    },
    {
      Sid: 'ReadState',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: state.objectKeys.map((k) => `${bucketArn}/${k}`),
    },
    ...(locks
      ? [
          {
            Sid: 'LockState',
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            Resource: state.objectKeys.map((k) => `${bucketArn}/${k}.tflock`),
          },
        ]
      : []),
  ];
  const key = stateKeyOf(state);
  if (key) {
    statements.push(
      stateKeyStatement('StateKey', locks ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'], key),
    );
  }
  return { Version: '2012-10-17', Statement: statements };
}

function validate(path: string, props: DeployRolesProps): void {
  const problems = new ProblemList();
  const plan = props.plan ?? ({} as PlanRoleProps);
  const apply = props.apply ?? ({} as ApplyRoleProps);
  if (isKnown(props.accountId)) problems.addIf(`${path}.accountId`, accountIdProblem(props.accountId));
  if (isKnown(props.region)) problems.addIf(`${path}.region`, regionProblem(props.region));
  for (const [at, name] of [
    ['plan.roleName', plan.roleName],
    ['apply.roleName', apply.roleName],
  ] as const) {
    problems.check(
      typeof name === 'string' && ROLE_NAME.test(name),
      `${path}.${at}`,
      `${show(name)} is not an IAM role name (1-64 of letters, digits and +=,.@_-)`,
    );
  }
  problems.check(
    plan.roleName !== apply.roleName,
    `${path}.apply.roleName`,
    `${show(apply.roleName)} is also the plan role's name; the roles must differ`,
  );
  if (plan.pullRequests !== undefined) {
    const pr = plan.pullRequests;
    problems.check(
      typeof pr.roleName === 'string' &&
        ROLE_NAME.test(pr.roleName) &&
        pr.roleName !== plan.roleName &&
        pr.roleName !== apply.roleName,
      `${path}.plan.pullRequests.roleName`,
      `${show(pr.roleName)} must be an IAM role name of its own (not the plan or apply role's)`,
    );
    if (pr.reason !== undefined) {
      problems.check(
        typeof pr.reason === 'string' && pr.reason.trim().length >= 10,
        `${path}.plan.pullRequests.reason`,
        'say in 10+ characters why pull requests may plan this environment; it is recorded',
      );
    }
  }
  if (plan.trustedEnvironment !== undefined) {
    problems.check(
      typeof plan.trustedEnvironment === 'string' &&
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(plan.trustedEnvironment) &&
        plan.trustedEnvironment !== apply.environment,
      `${path}.plan.trustedEnvironment`,
      `${show(plan.trustedEnvironment)} must be one GitHub environment name, not the apply role's environment`,
    );
  }
  for (const arn of plan.readableParameterArns ?? []) {
    problems.check(
      isKnown(arn) && SSM_PARAMETER_ARN.test(arn),
      `${path}.plan.readableParameterArns`,
      `${show(arn)} is not a literal SSM parameter ARN without wildcards`,
    );
  }
  problems.check(
    typeof props.repository === 'string' && GITHUB_REPOSITORY.test(props.repository),
    `${path}.repository`,
    `${show(props.repository)} is not owner/name without wildcards`,
  );
  problems.check(
    typeof plan.defaultBranch === 'string' &&
      plan.defaultBranch.length > 0 &&
      !/[*?\s:]/.test(plan.defaultBranch),
    `${path}.plan.defaultBranch`,
    `${show(plan.defaultBranch)} must be a branch name without wildcards, spaces or ':'`,
  );
  problems.check(
    typeof apply.environment === 'string' &&
      /^[A-Za-z0-9][A-Za-z0-9._ -]*$/.test(apply.environment) &&
      !/[*?:]/.test(apply.environment),
    `${path}.apply.environment`,
    `${show(apply.environment)} must be one GitHub environment name without wildcards or ':'`,
  );
  if ((props.subjectFormat ?? 'name') !== 'name') {
    problems.check(
      props.ownerId !== undefined && props.repositoryId !== undefined,
      `${path}.subjectFormat`,
      `${show(props.subjectFormat)} needs ownerId and repositoryId`,
    );
  }
  problems.addAll(`${path}.apply.deploymentBranches`, deploymentBranchesProblems(apply.deploymentBranches));
  const session = props.maxSessionDurationSeconds ?? 3600;
  problems.check(
    Number.isInteger(session) && session >= 900 && session <= MAX_APPLY_SESSION_SECONDS,
    `${path}.maxSessionDurationSeconds`,
    `${show(session)} must be an integer from 900 to ${MAX_APPLY_SESSION_SECONDS} (apply roles last at most one hour)`,
  );
  if (!Token.isUnresolved(props.oidcProvider.providerArn)) {
    problems.check(
      /^arn:aws(-cn|-us-gov)?:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(
        props.oidcProvider.providerArn,
      ),
      `${path}.oidcProvider`,
      `${show(props.oidcProvider.providerArn)} is not a GitHub OIDC provider ARN`,
    );
  } else {
    problems.add(
      `${path}.oidcProvider`,
      'the provider ARN is a Terraform reference; trust policies must be literal JSON, give the computed ARN',
    );
  }
  for (const [field, arns] of [
    ['plan.policyArns', plan.policyArns ?? []],
    ['apply.managedPolicyArns', apply.managedPolicyArns ?? []],
  ] as const) {
    arns.forEach((arn, i) => {
      if (Token.isUnresolved(arn)) return;
      problems.check(
        MANAGED_POLICY_ARN.test(arn),
        `${path}.${field}[${i}]`,
        `${show(arn)} is not a managed policy ARN (arn:aws:iam::aws|<account>:policy/<name>)`,
      );
    });
  }
  for (const p of managedPolicyGrantProblems(apply.additionalPolicies, 'apply.additionalPolicies'))
    problems.add(`${path}.${p.field}`, p.message);
  if (apply.permissionsBoundaryArn !== undefined && !Token.isUnresolved(apply.permissionsBoundaryArn)) {
    problems.check(
      MANAGED_POLICY_ARN.test(apply.permissionsBoundaryArn),
      `${path}.apply.permissionsBoundaryArn`,
      `${show(apply.permissionsBoundaryArn)} is not a managed policy ARN`,
    );
  }
  (apply.notificationTopicArns ?? []).forEach((arn, i) =>
    problems.addIf(`${path}.apply.notificationTopicArns[${i}]`, snsTopicArnProblem(arn, props)),
  );
  (apply.passRoles ?? []).forEach((grant, i) => {
    const at = `${path}.apply.passRoles[${i}]`;
    problems.check(grant.roleArns.length > 0, `${at}.roleArns`, 'empty, name at least one role ARN');
    grant.roleArns.forEach((arn, j) =>
      problems.check(
        ROLE_ARN.test(arn),
        `${at}.roleArns[${j}]`,
        `${show(arn)} is not a literal role ARN (arn:aws:iam::<account>:role/<name>, no wildcards)`,
      ),
    );
    problems.check(
      SERVICE_PRINCIPAL.test(grant.service),
      `${at}.service`,
      `${show(grant.service)} is not a service principal such as "ecs-tasks.amazonaws.com"`,
    );
  });
  if (plan.stateAccess) {
    const state = plan.stateAccess;
    problems.check(
      state.objectKeys.length > 0 && state.objectKeys.every((k) => k.length > 0 && !/[*?]/.test(k)),
      `${path}.plan.stateAccess.objectKeys`,
      `${show(state.objectKeys)} must list at least one state key, without wildcards`,
    );
    problems.addIf(`${path}.plan.stateAccess.bucket`, bucketNameProblem(state.bucket));
    if (state.kmsKeyArn !== undefined) {
      problems.check(
        KMS_KEY_ARN.test(state.kmsKeyArn),
        `${path}.plan.stateAccess.kmsKeyArn`,
        `${show(state.kmsKeyArn)} is not a KMS key ARN`,
      );
    }
    if (state.kmsKeyAliasArn !== undefined) {
      problems.check(
        KMS_ALIAS_ARN.test(state.kmsKeyAliasArn) && state.kmsKeyArn === undefined,
        `${path}.plan.stateAccess.kmsKeyAliasArn`,
        state.kmsKeyArn === undefined
          ? `${show(state.kmsKeyAliasArn)} is not a KMS alias ARN (arn:aws:kms:<region>:<account>:alias/<name>, no wildcards)`
          : 'given with kmsKeyArn: name the state key once, by ARN or by alias ARN',
      );
    }
  }
  (apply.statements ?? []).forEach((s, i) => checkStatement(`${path}.apply.statements[${i}]`, s, problems));
  problems.throwIfAny();
}

function checkStatement(path: string, statement: IamPolicyStatement, problems: ProblemList): void {
  const text = JSON.stringify(statement);
  problems.check(
    !text.includes('${'),
    path,
    'contains a Terraform interpolation ("${"); policies are literal JSON, compute ARNs from configuration',
  );
  problems.check(
    statement.Effect === 'Allow' || statement.Effect === 'Deny',
    `${path}.Effect`,
    `${show(statement.Effect)} must be "Allow" or "Deny"`,
  );
  const actions = [statement.Action ?? []].flat();
  problems.check(
    (statement.Action === undefined) !== (statement.NotAction === undefined),
    path,
    'give exactly one of Action or NotAction',
  );
  if (statement.Effect === 'Allow') {
    problems.check(
      statement.NotAction === undefined,
      `${path}.NotAction`,
      'an Allow with NotAction grants every other action; list the actions',
    );
    for (const action of actions) {
      problems.check(
        action !== '*' && action !== '*:*',
        `${path}.Action`,
        `${show(action)} grants every action; list the actions (attach AdministratorAccess explicitly if that is truly meant)`,
      );
      problems.check(
        !/^iam:(PassRole|\*|Pass\*|P\*)$/i.test(action),
        `${path}.Action`,
        `${show(action)}: grant iam:PassRole through passRoles, which names the roles and the service`,
      );
    }
  }
}
