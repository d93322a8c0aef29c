/**
 * The typed configuration a platform team edits: one organisation (the GitHub repository that
 * deploys) and its environments. Every field is validated at synth by `validateConfig`, which
 * names the field path, the bad value and what is allowed.
 */

import type { ApplicationLoadBalancerSettings } from '../lib/service/application-load-balancer';

/** How the `sub` claim of a GitHub OIDC token is matched by the AWS trust policies. */
export type SubjectFormat =
  /** `repo:acme/platform:environment:prod` (GitHub's default). */
  | 'name'
  /** `repo:acme@1000001/platform@2000002:environment:prod`: immune to a rename-and-recreate takeover. */
  | 'id'
  /** Both forms, for one migration period from `name` to `id`. */
  | 'name-and-id';

export interface GithubRepositoryConfig {
  /** `owner/name` of the repository whose workflows deploy, e.g. `acme/platform`. */
  readonly repository: string;
  /** Numeric id of the owner (needed by the `id` subject format). */
  readonly ownerId?: number;
  /** Numeric id of the repository (needed by the `id` subject format). */
  readonly repositoryId?: number;
  /** The branch that plans run on and that dev deploys from. */
  readonly defaultBranch: string;
  /**
   * Subject format trusted by the plan and apply roles.
   * @default 'name'
   */
  readonly subjectFormat?: SubjectFormat;
  /**
   * Pins the reusable workflow that may assume apply roles (`job_workflow_ref`),
   * e.g. `acme/platform/.github/workflows/terraform-apply.yml@refs/heads/main`.
   * @default no pin
   */
  readonly applyWorkflowRef?: string;
}

/** An S3 backend for one Terraform state per stack (key `<keyPrefix><stack>.tfstate`). */
export interface S3StateBackendConfig {
  readonly bucket: string;
  /** @default the environment's region */
  readonly region?: string;
  /** @default 'gantry/' */
  readonly keyPrefix?: string;
  /** KMS key for server-side encryption of the state. @default the bucket's default encryption */
  readonly kmsKeyId?: string;
}

export interface OrganizationConfig {
  /** Short lower-case name used in resource names and SSM prefixes (`/<org>/<env>/...`). */
  readonly name: string;
  readonly github: GithubRepositoryConfig;
  /** Backend of the `github` stack. @default local state */
  readonly githubStateBackend?: S3StateBackendConfig;
}

/** One group of reviewers: teams by slug and users by login, or numeric ids. */
export interface ReviewerGroup {
  /** Team slugs in the repository's organisation. */
  readonly teams?: readonly string[];
  /** User logins. */
  readonly users?: readonly string[];
  /** Team ids, when the slug is not to be resolved. */
  readonly teamIds?: readonly number[];
  /** User ids, when the login is not to be resolved. */
  readonly userIds?: readonly number[];
}

export interface ApprovalConfig {
  /**
   * Distinct people, besides the one who triggers the deployment, who must approve it.
   * 0: no review; 1: the reviewers of `reviewerGroups[0]`; N >= 2: a chain of N gate environments,
   * one per reviewer group, then the environment itself.
   */
  readonly requiredApprovals: number;
  /** One disjoint group per required approval. @default none */
  readonly reviewerGroups?: readonly ReviewerGroup[];
  /** Wait before the job starts, in minutes (GitHub allows 0..43200). @default 0 */
  readonly waitTimerMinutes?: number;
  /**
   * A production environment with no required approval is rejected unless this states why.
   * @default none
   */
  readonly optOut?: { readonly reason: string };
}

/** Which refs may deploy to an environment. Exactly one form. */
export type DeploymentBranchesConfig =
  | { readonly protectedBranches: true }
  | { readonly branches?: readonly string[]; readonly tags?: readonly string[] };

/** The VPC a environment's workloads and runners live in. */
export type NetworkConfig =
  | {
      readonly vpcId: string;
      readonly privateSubnetIds: readonly string[];
      /** Publish the ids as SSM parameters under `/<org>/<env>/` from the foundation stack. @default false */
      readonly publishToSsm?: boolean;
    }
  | {
      /** Read the ids from SSM parameters under this prefix (`<prefix>vpc-id`, `<prefix>private-subnet-ids`). */
      readonly fromSsm: { readonly prefix: string };
    };

/**
 * The HTTPS listener services attach their rules to: an existing one (`listenerArn` and
 * `securityGroupId`), or one on an application load balancer `<env>-services` creates (`create`).
 * Exactly one form.
 */
export type LoadBalancerConfig = ExistingLoadBalancerConfig | CreatedLoadBalancerConfig;

/** An existing ALB's HTTPS listener. */
export interface ExistingLoadBalancerConfig {
  /** ARN of an existing ALB listener. */
  readonly listenerArn: string;
  /** Security group of that load balancer; tasks accept traffic only from it. */
  readonly securityGroupId: string;
}

/** An application load balancer `<env>-services` creates, named `<org>-<env>`. */
export interface CreatedLoadBalancerConfig {
  readonly create: LoadBalancerCreateConfig;
}

/**
 * The settings of the load balancer `<env>-services` creates: those of the `ApplicationLoadBalancer`
 * construct (`subnetIds` and `certificateArn` required; `internal`, `allowedCidrs`, `sslPolicy`,
 * `httpRedirect`, `desyncMitigationMode`, `idleTimeoutSeconds`, `accessLogs`,
 * `disableDeletionProtection` optional, each documented with its default there). The certificate must
 * be in the environment's account and region.
 */
export type LoadBalancerCreateConfig = ApplicationLoadBalancerSettings;

export interface RegistryConfig {
  /** Release tags (`v*`) kept per repository. @default 30 */
  readonly keepReleaseTags?: number;
  /** Days after which untagged images expire. @default 7 */
  readonly untaggedExpiryDays?: number;
  /** Other accounts allowed to pull (to promote one image by tag). @default none */
  readonly pullAccountIds?: readonly string[];
}

export interface ServiceRoutingConfig {
  /** Listener rule priority, unique per listener (1..50000). */
  readonly priority: number;
  readonly hostHeaders?: readonly string[];
  readonly pathPatterns?: readonly string[];
}

/**
 * Deployment alarms of a service with a port: when one is in alarm during a deployment, ECS rolls
 * the deployment back.
 */
export interface ServiceAlarmConfig {
  /** Target 5xx responses as a percentage of all requests (0 < x <= 100). @default 5 */
  readonly errorRatePercent?: number;
  /** Minutes the 5xx rate must stay above the threshold (1..1440). @default 2 */
  readonly errorRateMinutes?: number;
  /** p90 target response time threshold, in seconds (> 0). @default 2 */
  readonly latencyP90Seconds?: number;
  /** Minutes the p90 latency must stay above the threshold (1..1440). @default 5 */
  readonly latencyMinutes?: number;
}

export interface ServiceConfig {
  /** Lower-case service name, unique in the environment. */
  readonly name: string;
  /** Fargate CPU units (256, 512, 1024, ...). */
  readonly cpu: number;
  /** Fargate memory in MiB, valid for `cpu`. */
  readonly memoryMiB: number;
  /** Container port; a service without one (a worker) gets no load balancer. */
  readonly port?: number;
  /** Health-check path of the target group; only for services with a port. */
  readonly healthCheckPath?: string;
  /** The image tag deployed by default (Terraform variable `image_tag_<name>`); never `latest`. */
  readonly imageTag: string;
  /** @default 2 */
  readonly desiredCount?: number;
  /** Autoscaling bounds. @default min = desiredCount, max = 2 x desiredCount */
  readonly autoscaling?: { readonly minCount: number; readonly maxCount: number };
  /** Listener rule; required for services with a port. */
  readonly routing?: ServiceRoutingConfig;
  /** Container command. @default the image's */
  readonly command?: readonly string[];
  /** Plain environment variables; names that look secret are rejected. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets by SSM parameter or Secrets Manager ARN. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** A one-off migration task running the same image. */
  readonly migration?: { readonly command: readonly string[] };
  /** Deployment alarms (services with a port). @default 5% 5xx for 2 minutes, p90 2 s for 5 minutes */
  readonly alarms?: ServiceAlarmConfig;
  /** Cognito authentication in front of the listener rule. */
  readonly cognito?: {
    readonly userPoolArn: string;
    readonly userPoolClientId: string;
    readonly userPoolDomain: string;
  };
  /**
   * ECS Exec (`aws ecs execute-command`) into the service's containers: the service allows it, the task
   * role may open the SSM channels, write session logs to the cluster's ECS Exec log group and decrypt
   * with the services key. Opt-in, also in production. @default false
   */
  readonly enableExecuteCommand?: boolean;
}

export interface RunnerConfig {
  /** A CodeBuild-hosted GitHub Actions runner (`runs-on: codebuild-<project>-...`). */
  readonly githubActions?: {
    /** CodeConnections (CodeStar connection) ARN authorising CodeBuild on GitHub. */
    readonly connectionArn: string;
    /** Only jobs of these workflows. @default every workflow of the repository */
    readonly workflowNames?: readonly string[];
    readonly computeType?: string;
    readonly image?: string;
    /** Docker-in-Docker; needs a reason. @default off */
    readonly privileged?: { readonly reason: string };
  };
  /** The CodeBuild project that runs `gantry plan|apply` with the apply rights. */
  readonly deploy?: {
    /** CodeConnections ARN for the source checkout. */
    readonly connectionArn: string;
    /** Secrets Manager secret ARN or SSM parameter ARN holding `GANTRY_LEDGER_URL`. */
    readonly ledgerUrlSecretArn: string;
    readonly computeType?: string;
    readonly image?: string;
    /** @default 60 */
    readonly timeoutMinutes?: number;
    /**
     * Secrets Manager ARN of a GitHub token that can read the repository's Actions runs (fine-grained
     * token or GitHub App token with `Actions: read`). The deploy build verifies the environment's
     * N >= 2 approvals with it, on the GitHub run that started the build. Required when
     * `approval.requiredApprovals >= 2`. @default none
     */
    readonly githubTokenSecretArn?: string;
  };
}

export interface EnvironmentConfig {
  /** Lower-case name matching `^[a-z][a-z0-9-]{1,30}$`; stack ids are `<name>-foundation` and `<name>-services`. */
  readonly name: string;
  /** The AWS account, 12 digits. */
  readonly accountId: string;
  /** The AWS region, e.g. `eu-west-1`. */
  readonly region: string;
  /** Marks a production environment: it must require an approval (or opt out with a reason). @default false */
  readonly production?: boolean;
  readonly approval: ApprovalConfig;
  /** @default only the repository's default branch */
  readonly deploymentBranches?: DeploymentBranchesConfig;
  /** @default local state */
  readonly stateBackend?: S3StateBackendConfig;
  readonly network: NetworkConfig;
  readonly loadBalancer?: LoadBalancerConfig;
  readonly registry?: RegistryConfig;
  readonly services: readonly ServiceConfig[];
  readonly runners?: RunnerConfig;
  /** Managed policy ARNs attached to the apply role (what `apply` may change). @default none */
  readonly applyPolicyArns?: readonly string[];
  /** Permissions boundary of the apply role. @default none */
  readonly applyPermissionsBoundaryArn?: string;
  /**
   * Secrets of the environment's GitHub Environment, each taken from a sensitive Terraform variable
   * of the `github` stack (its value given at apply time, e.g. `TF_VAR_<variable>`), never literal.
   * @default none
   */
  readonly githubSecrets?: Readonly<Record<string, { readonly terraformVariable: string }>>;
  /** Retention of the log groups Gantry creates, in days. @default 90 */
  readonly logRetentionDays?: number;
}

export interface GantryConfig {
  readonly organization: OrganizationConfig;
  readonly environments: readonly EnvironmentConfig[];
}
