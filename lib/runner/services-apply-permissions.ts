/**
 * The permissions a services stack's apply needs, derived from what the stack manages: per Terraform
 * resource type, the IAM actions hashicorp/aws 5.100.0 calls to create, read, update, delete and tag
 * it (`SERVICES_STACK_PERMISSIONS`), each on the resources that can be named from the configuration.
 * The deploy project holds them instead of PowerUserAccess (docs/security.md 26).
 *
 * What the table relies on:
 * - the calls each resource makes: the resource implementations of hashicorp/terraform-provider-aws
 *   (`internal/service/{ecs,elbv2,logs,cloudwatch,appautoscaling,kms,ec2,ssm}`), cross-checked with
 *   JamesWoolfenden/pike's per-resource mappings (`src/mapping/aws/resource/...`);
 * - resource types, condition keys and dependent actions: the Service Authorization Reference, read
 *   through iann0036/iam-dataset `aws/iam_definition.json` (ECS, Elastic Load Balancing V2, CloudWatch,
 *   Application Auto Scaling, CodeBuild read 2026-11; `ecs:RegisterTaskDefinition` needs
 *   `task-definition*`, `ecs:DeregisterTaskDefinition`/`DescribeTaskDefinition`, ELB `Describe*` and
 *   `application-autoscaling:Describe*` have no resource type, `elasticloadbalancing:CreateListener` is
 *   authorized on the load balancer and `CreateRule` on the listener, every create that takes tags
 *   needs its service's tagging action);
 * - the services' own guides: KMS ("to add tags while creating a KMS key, the principal must have
 *   permission in an IAM policy that isn't restricted to particular KMS keys"), Application Auto
 *   Scaling and ECS service auto scaling (`ecs:DescribeServices`/`UpdateService` on the target, the
 *   CloudWatch alarms of target tracking, `iam:CreateServiceLinkedRole`), Terraform's S3 backend.
 * None of it was tried against AWS: Gantry's tests run offline.
 *
 * Data stores carry `prevent_destroy` (docs/security.md 20), so Terraform never deletes them and their
 * delete actions are not granted: `logs:DeleteLogGroup`, `kms:ScheduleKeyDeletion`.
 */
import { publishNotificationsStatement } from '../core/grants';
import { clusterName, partitionOf, servicesKeyAlias } from '../core/naming';
import { stateKeyRef, stateKeyStatement } from '../core/state-key';
import { fitName } from '../service/private/names';
import type { RunnerPolicyStatement } from './private/policies';

/** What reading an image and its signature needs (`cosign verify`, `cosign copy`'s source, a digest look-up). */
export const ECR_READ_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:DescribeImages',
  'ecr:GetDownloadUrlForLayer',
] as const;

/** What `cosign copy` needs on its target: the layer upload and the manifest put (ECR's push actions). */
export const ECR_PUSH_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:CompleteLayerUpload',
  'ecr:InitiateLayerUpload',
  'ecr:PutImage',
  'ecr:UploadLayerPart',
] as const;

/**
 * What a group of actions is authorized on, rendered for one stack by `servicesApplyStatements`:
 * - `any`: `Resource: "*"`, for actions with no resource type (`UNSCOPABLE_ACTIONS`);
 * - `cluster`, `services`, `task-definitions`, `log-groups`, `alarms`, `target-groups`, `listener`,
 *   `listener-rules`, `load-balancer`, `load-balancer-listeners`, `services-key-alias`,
 *   `network-parameters`, `user-pools`: the ARNs named from the configuration;
 * - `scaling-alarms`: the alarms Application Auto Scaling makes for target tracking
 *   (`TargetTracking-service/<cluster>/...`);
 * - `vpc`: the environment's VPC (any VPC of the account when it is read from SSM at plan time);
 * - `security-groups`, `security-group-rules`, `scalable-targets`: ids AWS assigns, so
 *   `<type>/*` of the account, narrowed by the stack's `gantry:stack` tag (`when`);
 * - `services-key`: the stack's KMS key, by its alias (`kms:ResourceAliases`) in the role's policy, and
 *   in the key's own policy (`grantedBy: 'key-policy'`) for the moments before the alias exists;
 * - `service-linked-role`: the one service-linked role a service creates on first use;
 * - `passed-roles`: the services' task and execution roles (`DeployProject.grantPassRole`);
 * - `migration-task-definitions`: every revision of `<org>-<env>-<service>-migrate` of the services
 *   `scope.release.migrationServices` names; `cluster-tasks`: the tasks of the stack's cluster;
 * - `registry-token`: `Resource: "*"` (`ecr:GetAuthorizationToken` has no resource type), only when the
 *   scope's release reads images (`scope.release.images`); `repositories`: the environment's own service
 *   repositories; `promotion-target-repositories`: the same, only when images can be promoted into them
 *   (the environment has upstream environments); `upstream-repositories`: the service repositories of
 *   those upstream environments (their accounts and regions).
 */
export type PermissionTarget =
  | 'any'
  | 'cluster'
  | 'services'
  | 'task-definitions'
  | 'log-groups'
  | 'alarms'
  | 'scaling-alarms'
  | 'target-groups'
  | 'listener'
  | 'listener-rules'
  | 'load-balancer'
  | 'load-balancer-listeners'
  | 'vpc'
  | 'security-groups'
  | 'security-group-rules'
  | 'scalable-targets'
  | 'services-key'
  | 'services-key-alias'
  | 'network-parameters'
  | 'user-pools'
  | 'service-linked-role'
  | 'passed-roles'
  | 'migration-task-definitions'
  | 'cluster-tasks'
  | 'registry-token'
  | 'repositories'
  | 'promotion-target-repositories'
  | 'upstream-repositories';

/**
 * The request a group is allowed in (its condition):
 * - `creating`: the request carries the stack's tags (`aws:RequestTag/gantry:stack`): a create
 *   whose resource does not exist yet, tagged with the provider's default tags;
 * - `tagged`: the resource carries them (`aws:ResourceTag/gantry:stack`): the stack's own;
 * - `{ createAction }`: EC2's tag-on-create (`ec2:CreateAction`), only inside those creates;
 * - `ecs-desired-count`: `application-autoscaling:service-namespace` `ecs` and
 *   `scalable-dimension` `ecs:service:DesiredCount`;
 * - `{ serviceName }`: `iam:AWSServiceName` (with `service-linked-role`);
 * - `in-cluster`: `ecs:cluster` is the stack's cluster (`ArnEquals`).
 */
export type PermissionCondition =
  | 'in-cluster'
  | 'creating'
  | 'tagged'
  | 'ecs-desired-count'
  | { readonly createAction: readonly string[] }
  | { readonly serviceName: string; readonly roleName: string };

/** Actions Terraform calls for one resource type, on one kind of resource. */
export interface PermissionGroup {
  /** IAM actions as the Service Authorization Reference names them. */
  readonly actions: readonly string[];
  readonly on: PermissionTarget;
  /** @default no condition */
  readonly when?: PermissionCondition;
  /**
   * Where the permission lives: the role's identity policy, the stack's KMS key policy, or the
   * `iam:PassRole` statement `DeployProject.grantPassRole` adds. @default 'identity'
   */
  readonly grantedBy?: 'identity' | 'key-policy' | 'pass-role';
  /** Why: the provider call, the dependent action, the service's rule. */
  readonly why: string;
}

const ECS_SLR = {
  serviceName: 'ecs.amazonaws.com',
  roleName: 'AWSServiceRoleForECS',
} as const;
const ELB_SLR = {
  serviceName: 'elasticloadbalancing.amazonaws.com',
  roleName: 'AWSServiceRoleForElasticLoadBalancing',
} as const;
const SCALING_SLR = {
  serviceName: 'ecs.application-autoscaling.amazonaws.com',
  roleName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
} as const;

const ELB_DESCRIBE = ['elasticloadbalancing:DescribeTags'];
const SG_WRITES = [
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupEgress',
];

/** A security group rule resource (`aws_vpc_security_group_<direction>_rule`), on its group and itself. */
function securityGroupRuleGroups(direction: 'Ingress' | 'Egress'): PermissionGroup[] {
  const rule = [
    `ec2:AuthorizeSecurityGroup${direction}`,
    `ec2:RevokeSecurityGroup${direction}`,
    'ec2:ModifySecurityGroupRules',
  ];
  return [
    { on: 'security-groups', when: 'tagged', actions: rule, why: 'a rule of one of the stack groups' },
    {
      on: 'security-group-rules',
      actions: rule,
      why: 'the rule itself (security-group-rule, tagged on create)',
    },
    {
      on: 'security-group-rules',
      when: { createAction: ['AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress'] },
      actions: ['ec2:CreateTags'],
      why: 'tags on create',
    },
    {
      on: 'security-group-rules',
      when: 'tagged',
      actions: ['ec2:CreateTags', 'ec2:DeleteTags'],
      why: 'tags',
    },
    { on: 'any', actions: ['ec2:DescribeSecurityGroupRules'], why: 'read; no resource type' },
  ];
}

/** What administering the stack's KMS key takes (never ScheduleKeyDeletion: the key has prevent_destroy). */
const SERVICES_KEY_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
];
const ALIAS_ACTIONS = ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'];

/**
 * Every Terraform resource type (and data source, `data.<type>`) a services stack can contain ->
 * the IAM actions hashicorp/aws 5.100.0 calls for it. A type `ServicesStack` or the constructs it uses
 * can synthesize must be here: test/lib/runner/services-apply-permissions.test.ts fails otherwise.
 */
export const SERVICES_STACK_PERMISSIONS: Readonly<Record<string, readonly PermissionGroup[]>> = {
  aws_ecs_cluster: [
    {
      on: 'cluster',
      actions: [
        'ecs:CreateCluster',
        'ecs:DescribeClusters',
        'ecs:UpdateCluster',
        'ecs:DeleteCluster',
        'ecs:TagResource',
        'ecs:UntagResource',
        'ecs:ListTagsForResource',
      ],
      why: 'CreateCluster (tags on create need ecs:TagResource), DescribeClusters (read and waits), UpdateCluster (settings, Exec configuration), DeleteCluster; tags',
    },
    {
      on: 'service-linked-role',
      when: ECS_SLR,
      actions: ['iam:CreateServiceLinkedRole'],
      why: 'CreateCluster creates AWSServiceRoleForECS on first use in an account',
    },
  ],
  aws_ecs_service: [
    {
      on: 'services',
      actions: [
        'ecs:CreateService',
        'ecs:DescribeServices',
        'ecs:UpdateService',
        'ecs:DeleteService',
        'ecs:TagResource',
        'ecs:UntagResource',
        'ecs:ListTagsForResource',
      ],
      why: 'CreateService, DescribeServices (read and waits), UpdateService (also desired count 0 before delete), DeleteService; tags',
    },
  ],
  aws_ecs_task_definition: [
    {
      on: 'task-definitions',
      actions: [
        'ecs:RegisterTaskDefinition',
        'ecs:TagResource',
        'ecs:UntagResource',
        'ecs:ListTagsForResource',
      ],
      why: 'RegisterTaskDefinition (task-definition*, tags on create need ecs:TagResource); tags',
    },
    {
      on: 'any',
      actions: ['ecs:DescribeTaskDefinition', 'ecs:DeregisterTaskDefinition'],
      why: 'read and delete (a revision is deregistered); neither has a resource type',
    },
    {
      on: 'passed-roles',
      grantedBy: 'pass-role',
      actions: ['iam:PassRole'],
      why: 'RegisterTaskDefinition passes the task and execution roles to ecs-tasks.amazonaws.com',
    },
  ],
  aws_cloudwatch_log_group: [
    {
      on: 'log-groups',
      actions: [
        'logs:CreateLogGroup',
        'logs:PutRetentionPolicy',
        'logs:DeleteRetentionPolicy',
        'logs:AssociateKmsKey',
        'logs:DisassociateKmsKey',
        'logs:TagResource',
        'logs:UntagResource',
        'logs:ListTagsForResource',
        'logs:TagLogGroup',
        'logs:UntagLogGroup',
        'logs:ListTagsLogGroup',
      ],
      why: 'CreateLogGroup (tags on create), PutRetentionPolicy, the KMS key, tags (both tagging APIs); never DeleteLogGroup: prevent_destroy',
    },
    {
      on: 'any',
      actions: ['logs:DescribeLogGroups'],
      why: 'read (by name prefix); no resource type',
    },
  ],
  aws_cloudwatch_metric_alarm: [
    {
      on: 'alarms',
      actions: [
        'cloudwatch:PutMetricAlarm',
        'cloudwatch:DescribeAlarms',
        'cloudwatch:DeleteAlarms',
        'cloudwatch:TagResource',
        'cloudwatch:UntagResource',
        'cloudwatch:ListTagsForResource',
      ],
      why: 'PutMetricAlarm (create and update, tags on create need cloudwatch:TagResource), DescribeAlarms (alarm*), DeleteAlarms; tags',
    },
  ],
  aws_lb_target_group: [
    {
      on: 'target-groups',
      actions: [
        'elasticloadbalancing:CreateTargetGroup',
        'elasticloadbalancing:ModifyTargetGroup',
        'elasticloadbalancing:ModifyTargetGroupAttributes',
        'elasticloadbalancing:DeleteTargetGroup',
        'elasticloadbalancing:AddTags',
        'elasticloadbalancing:RemoveTags',
      ],
      why: 'CreateTargetGroup (tags on create need AddTags), health check and attributes, DeleteTargetGroup; tags',
    },
    {
      on: 'any',
      actions: [
        'elasticloadbalancing:DescribeTargetGroups',
        'elasticloadbalancing:DescribeTargetGroupAttributes',
        ...ELB_DESCRIBE,
      ],
      why: 'read; no resource type',
    },
    {
      on: 'service-linked-role',
      when: ELB_SLR,
      actions: ['iam:CreateServiceLinkedRole'],
      why: 'Elastic Load Balancing creates its service-linked role on first use',
    },
  ],
  aws_lb_listener_rule: [
    {
      on: 'listener',
      actions: ['elasticloadbalancing:CreateRule'],
      why: 'CreateRule is authorized on the listener (listener/app*)',
    },
    {
      on: 'listener-rules',
      actions: [
        'elasticloadbalancing:ModifyRule',
        'elasticloadbalancing:SetRulePriorities',
        'elasticloadbalancing:DeleteRule',
        'elasticloadbalancing:AddTags',
        'elasticloadbalancing:RemoveTags',
      ],
      why: 'actions, conditions and priority, DeleteRule; tags (also on create)',
    },
    {
      on: 'any',
      actions: ['elasticloadbalancing:DescribeRules', ...ELB_DESCRIBE],
      why: 'read; no resource type',
    },
    {
      on: 'user-pools',
      actions: ['cognito-idp:DescribeUserPoolClient'],
      why: 'a rule that authenticates with Cognito names a user pool client (read only, granted only on the configured user pools)',
    },
  ],
  aws_security_group: [
    {
      on: 'vpc',
      actions: ['ec2:CreateSecurityGroup'],
      why: 'CreateSecurityGroup is authorized on the VPC and on the new group',
    },
    {
      on: 'security-groups',
      when: 'creating',
      actions: ['ec2:CreateSecurityGroup'],
      why: 'the new group, tagged with the stack on create (TagSpecifications)',
    },
    {
      on: 'security-groups',
      when: { createAction: ['CreateSecurityGroup'] },
      actions: ['ec2:CreateTags'],
      why: 'tags on create',
    },
    {
      on: 'security-groups',
      when: 'tagged',
      actions: [
        ...SG_WRITES,
        'ec2:UpdateSecurityGroupRuleDescriptionsIngress',
        'ec2:UpdateSecurityGroupRuleDescriptionsEgress',
        'ec2:DeleteSecurityGroup',
        'ec2:CreateTags',
        'ec2:DeleteTags',
      ],
      why: 'the inline rules (the default egress rule is revoked after create), DeleteSecurityGroup; tags: only groups carrying the stack tag',
    },
    {
      on: 'security-group-rules',
      actions: SG_WRITES,
      why: 'the rules the inline rules create (each request is also authorized on its tagged group)',
    },
    {
      on: 'any',
      actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkInterfaces'],
      why: 'read, and the network interfaces a delete waits for; no resource type',
    },
  ],
  aws_vpc_security_group_ingress_rule: securityGroupRuleGroups('Ingress'),
  aws_vpc_security_group_egress_rule: securityGroupRuleGroups('Egress'),
  aws_lb: [
    {
      on: 'load-balancer',
      actions: [
        'elasticloadbalancing:CreateLoadBalancer',
        'elasticloadbalancing:ModifyLoadBalancerAttributes',
        'elasticloadbalancing:SetSecurityGroups',
        'elasticloadbalancing:SetSubnets',
        'elasticloadbalancing:SetIpAddressType',
        'elasticloadbalancing:DeleteLoadBalancer',
        'elasticloadbalancing:AddTags',
        'elasticloadbalancing:RemoveTags',
      ],
      why: 'CreateLoadBalancer (tags on create need AddTags), attributes, security groups, subnets, address type, DeleteLoadBalancer; tags',
    },
    {
      on: 'any',
      actions: [
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeLoadBalancerAttributes',
        ...ELB_DESCRIBE,
        'ec2:DescribeNetworkInterfaces',
      ],
      why: 'read, and the network interfaces a delete waits for; no resource type',
    },
    {
      on: 'service-linked-role',
      when: ELB_SLR,
      actions: ['iam:CreateServiceLinkedRole'],
      why: 'Elastic Load Balancing creates its service-linked role on first use',
    },
  ],
  aws_lb_listener: [
    {
      on: 'load-balancer',
      actions: ['elasticloadbalancing:CreateListener', 'elasticloadbalancing:AddTags'],
      why: 'CreateListener is authorized on the load balancer (loadbalancer/app/)',
    },
    {
      on: 'load-balancer-listeners',
      actions: [
        'elasticloadbalancing:ModifyListener',
        'elasticloadbalancing:ModifyListenerAttributes',
        'elasticloadbalancing:DeleteListener',
        'elasticloadbalancing:AddTags',
        'elasticloadbalancing:RemoveTags',
      ],
      why: 'port, certificate, TLS policy, default action and attributes, DeleteListener; tags (also on create)',
    },
    {
      on: 'any',
      actions: [
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeListenerAttributes',
        ...ELB_DESCRIBE,
      ],
      why: 'read; no resource type',
    },
  ],
  aws_appautoscaling_target: [
    {
      on: 'scalable-targets',
      when: 'ecs-desired-count',
      actions: [
        'application-autoscaling:RegisterScalableTarget',
        'application-autoscaling:DeregisterScalableTarget',
      ],
      why: 'register (also min/max updates) and deregister; the target id is AWS-assigned, the namespace and dimension are conditions',
    },
    {
      on: 'scalable-targets',
      actions: [
        'application-autoscaling:TagResource',
        'application-autoscaling:UntagResource',
        'application-autoscaling:ListTagsForResource',
      ],
      why: 'tags (RegisterScalableTarget with tags needs TagResource)',
    },
    {
      on: 'any',
      actions: ['application-autoscaling:DescribeScalableTargets'],
      why: 'read; no resource type',
    },
    {
      on: 'services',
      actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
      why: "Application Auto Scaling needs these on the target service from whoever configures scaling (ECS service auto scaling's IAM guide)",
    },
    {
      on: 'service-linked-role',
      when: SCALING_SLR,
      actions: ['iam:CreateServiceLinkedRole'],
      why: 'RegisterScalableTarget creates AWSServiceRoleForApplicationAutoScaling_ECSService on first use',
    },
  ],
  aws_appautoscaling_policy: [
    {
      on: 'scalable-targets',
      when: 'ecs-desired-count',
      actions: ['application-autoscaling:PutScalingPolicy', 'application-autoscaling:DeleteScalingPolicy'],
      why: 'create, update and delete a policy of one of the targets',
    },
    {
      on: 'any',
      actions: ['application-autoscaling:DescribeScalingPolicies'],
      why: 'read; no resource type',
    },
    {
      on: 'scaling-alarms',
      actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms'],
      why: 'target tracking creates and deletes its CloudWatch alarms with the caller’s CloudWatch permissions',
    },
  ],
  aws_kms_key: [
    {
      on: 'any',
      when: 'creating',
      actions: ['kms:CreateKey', 'kms:TagResource'],
      why: 'CreateKey has no resource type; tagging on create needs kms:TagResource on no particular key (the KMS developer guide); only with the stack tag',
    },
    {
      on: 'services-key',
      grantedBy: 'key-policy',
      actions: SERVICES_KEY_ACTIONS,
      why: 'read and waits, the key policy, rotation, description, tags: before the alias exists, so granted by the key policy to this role',
    },
    {
      on: 'services-key',
      actions: SERVICES_KEY_ACTIONS,
      why: 'the same on the key carrying the stack alias, in the role policy: a key made before its policy named this role',
    },
  ],
  aws_kms_alias: [
    {
      on: 'services-key-alias',
      actions: ALIAS_ACTIONS,
      why: 'an alias is authorized on the alias (IAM) and on the key',
    },
    {
      on: 'services-key',
      grantedBy: 'key-policy',
      actions: ALIAS_ACTIONS,
      why: 'the key side of the alias, in the key policy',
    },
    {
      on: 'services-key',
      actions: ALIAS_ACTIONS,
      why: 'the key side, for the key already carrying the alias',
    },
    { on: 'any', actions: ['kms:ListAliases'], why: 'read; no resource type' },
  ],
  'data.aws_ssm_parameter': [
    {
      on: 'network-parameters',
      actions: ['ssm:GetParameter'],
      why: 'network.fromSsm: the VPC id and subnet ids, read at plan time',
    },
  ],
};

/**
 * What `gantry deploy` (and `rollback`, `migrate`) calls besides the plan and apply of the stack: the
 * services' deployments read while it follows the rollouts (and the network settings a migration task
 * takes from its service), the migration task run in the stack's cluster and waited for. The policy
 * example of the ECS developer guide ("RunTask ... ArnEquals ecs:cluster") and the Service Authorization
 * Reference (`RunTask`: `task-definition*`, `DescribeTasks`: `task*`, both with `ecs:cluster`) say how.
 * Rendered when the scope has `release`.
 */
export const SERVICES_RELEASE_PERMISSIONS: readonly PermissionGroup[] = [
  {
    on: 'services',
    actions: ['ecs:DescribeServices'],
    why: "the rollouts followed (deployments, running and desired counts), the PRIMARY task definition before the apply, a migration task's network settings",
  },
  {
    on: 'migration-task-definitions',
    when: 'in-cluster',
    actions: ['ecs:RunTask'],
    why: 'the migration task of a service (any revision of <org>-<env>-<service>-migrate), in the stack cluster only',
  },
  {
    on: 'cluster-tasks',
    when: 'in-cluster',
    actions: ['ecs:DescribeTasks'],
    why: 'waiting until the migration task stops, for its exit code',
  },
  {
    on: 'passed-roles',
    grantedBy: 'pass-role',
    actions: ['iam:PassRole'],
    why: "RunTask passes the migration task definition's task and execution roles (the service's own) to ecs-tasks.amazonaws.com",
  },
  {
    on: 'registry-token',
    actions: ['ecr:GetAuthorizationToken'],
    why: "the registry login of cosign (`aws ecr get-login-password`); no resource type, and the token opens only what the role's other ECR rights allow",
  },
  {
    on: 'repositories',
    actions: [...ECR_READ_ACTIONS],
    why: "a changed service's tag resolved to its digest (DescribeImages), and `cosign verify` reading the image, its signature and attestations",
  },
  {
    on: 'promotion-target-repositories',
    actions: [...ECR_PUSH_ACTIONS],
    why: '`cosign copy` of a promoted digest (with its signature, attestations and SBOM) into this registry',
  },
  {
    on: 'upstream-repositories',
    actions: [...ECR_READ_ACTIONS],
    why: "`cosign copy` and the keyless check of a promotion read the digest verified upstream from the upstream environment's registry (its repository policy must admit this account: `registry.pullAccountIds`)",
  },
];

/** What the services stack's S3 backend needs (Terraform's S3 backend documentation). */
export const SERVICES_STATE_PERMISSIONS = {
  bucket: ['s3:ListBucket'],
  state: ['s3:GetObject', 's3:PutObject'],
  lock: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
  key: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
} as const;

/** The actions the services stack's key policy grants its deploy role (`grantedBy: 'key-policy'`). */
export const SERVICES_KEY_POLICY_ACTIONS: readonly string[] = [
  ...new Set(
    Object.values(SERVICES_STACK_PERMISSIONS)
      .flat()
      .filter((g) => g.grantedBy === 'key-policy')
      .flatMap((g) => g.actions),
  ),
].sort();

/** The services stack a role applies: what names its resources, from the configuration. */
export interface ServicesStackScope {
  readonly organization: string;
  readonly environment: string;
  readonly accountId: string;
  readonly region: string;
  /** Terraform resource types (`data.<type>` for data sources) the stack contains: the groups rendered. */
  readonly resourceTypes: readonly string[];
  /** The stack id, which is its resources' `gantry:stack` tag. @default `<environment>-services` */
  readonly stackId?: string;
  /** The VPC of the security groups. @default any VPC of the account (the id is read at plan time) */
  readonly vpcId?: string;
  /** `network.fromSsm.prefix`: the stack reads `<prefix>vpc-id` and `<prefix>private-subnet-ids`. */
  readonly networkParameterPrefix?: string;
  /** An existing HTTPS listener the rules attach to, or `create`: the stack's own load balancer. */
  readonly loadBalancer?: { readonly listenerArn: string } | { readonly create: true };
  /**
   * The stack is released with `gantry deploy` (`SERVICES_RELEASE_PERMISSIONS`): the rollouts read, and
   * the migration tasks of `migrationServices` (the services with a `migration`) run in its cluster.
   * @default not released: plan and apply only
   */
  readonly release?: {
    readonly migrationServices: readonly string[];
    /**
     * The images the deploys read and promote (`SERVICES_RELEASE_PERMISSIONS`' ECR groups): the
     * environment's own repositories (`<org>/<service>`, in the scope's account and region) and those of
     * the environments before it, which a promotion copies from. @default no ECR rights
     */
    readonly images?: {
      readonly repositories: readonly string[];
      readonly upstream?: ReadonlyArray<{
        readonly accountId: string;
        readonly region: string;
        readonly repositories: readonly string[];
      }>;
    };
  };
  /** User pools of services whose rule authenticates with Cognito. @default none */
  readonly cognitoUserPoolArns?: readonly string[];
  /** S3 state of the stack (`<key>` and `<key>.tflock`). @default local state, nothing granted */
  readonly state?: {
    readonly bucket: string;
    readonly key: string;
    /** @default the scope's region */
    readonly region?: string;
    /** A KMS key ARN, key id, `alias/<name>` or alias ARN encrypting the state. @default none */
    readonly kmsKeyId?: string;
  };
  /** SNS topics `gantry deploy` publishes its outcome to (`sns:Publish`, in `data`). @default none */
  readonly notificationTopicArns?: readonly string[];
}

/** `<org>-<env>`: the prefix of the names the services stack gives (cluster, families, alarms). */
function prefixOf(scope: ServicesStackScope): string {
  return `${scope.organization}-${scope.environment}`;
}

/**
 * The first characters every target group name of the stack starts with: `fitName` keeps
 * `<org>-<env>-<service>` whole up to 32 characters, else its first 23 and a hash.
 */
export function targetGroupNamePrefix(scope: ServicesStackScope): string {
  const prefix = `${prefixOf(scope)}-`;
  return prefix.length <= 23 ? prefix : prefix.slice(0, 23);
}

/** The name of the load balancer the stack creates (`ApplicationLoadBalancer`, at most 32 characters). */
export function createdLoadBalancerName(scope: ServicesStackScope): string {
  return fitName(prefixOf(scope), 32);
}

const LISTENER_ARN = /^(arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:)listener\/(app\/[^/]+\/[^/]+\/[^/]+)$/;

/** The resources and condition of a group for this scope, or undefined when it does not apply. */
function render(
  group: PermissionGroup,
  scope: ServicesStackScope,
): { resources: string[]; condition?: RunnerPolicyStatement['Condition'] } | undefined {
  const p = partitionOf(scope.region);
  const at = (service: string) => `arn:${p}:${service}:${scope.region}:${scope.accountId}`;
  const prefix = prefixOf(scope);
  const stack = scope.stackId ?? `${scope.environment}-services`;
  const stackTag = (kind: 'RequestTag' | 'ResourceTag') => ({
    StringEquals: { [`aws:${kind}/gantry:stack`]: stack },
  });
  const lb = scope.loadBalancer;
  const created = lb !== undefined && 'create' in lb;
  const existing = lb !== undefined && 'listenerArn' in lb ? LISTENER_ARN.exec(lb.listenerArn) : null;
  const lbName = createdLoadBalancerName(scope);
  const elb = at('elasticloadbalancing');
  const images = scope.release?.images;
  const ecrArn = (account: string, region: string, name: string) =>
    `arn:${partitionOf(region)}:ecr:${region}:${account}:repository/${name}`;
  const own = (images?.repositories ?? []).map((name) => ecrArn(scope.accountId, scope.region, name));
  const upstream = (images?.upstream ?? []).flatMap((u) =>
    u.repositories.map((name) => ecrArn(u.accountId, u.region, name)),
  );
  const resources = ((): string[] | undefined => {
    switch (group.on) {
      case 'any':
        return ['*'];
      case 'cluster':
        return [`${at('ecs')}:cluster/${clusterName(scope.organization, scope.environment)}`];
      case 'services':
        return [`${at('ecs')}:service/${clusterName(scope.organization, scope.environment)}/*`];
      case 'task-definitions':
        return [`${at('ecs')}:task-definition/${prefix}-*`];
      case 'log-groups':
        return [`${at('logs')}:log-group:/gantry/${prefix}/*`];
      case 'alarms':
        return [`${at('cloudwatch')}:alarm:${prefix}-*`];
      case 'scaling-alarms':
        return [
          `${at('cloudwatch')}:alarm:TargetTracking-service/${clusterName(scope.organization, scope.environment)}/*`,
        ];
      case 'target-groups':
        return [`${elb}:targetgroup/${targetGroupNamePrefix(scope)}*`];
      case 'listener':
        if (existing) return [lb && 'listenerArn' in lb ? lb.listenerArn : ''];
        return created ? [`${elb}:listener/app/${lbName}/*`] : undefined;
      case 'listener-rules':
        if (existing) return [`${existing[1]}listener-rule/${existing[2]}/*`];
        return created ? [`${elb}:listener-rule/app/${lbName}/*`] : undefined;
      case 'load-balancer':
        return created ? [`${elb}:loadbalancer/app/${lbName}/*`] : undefined;
      case 'load-balancer-listeners':
        return created ? [`${elb}:listener/app/${lbName}/*`] : undefined;
      case 'vpc':
        return [`${at('ec2')}:vpc/${scope.vpcId ?? '*'}`];
      case 'security-groups':
        return [`${at('ec2')}:security-group/*`];
      case 'security-group-rules':
        return [`${at('ec2')}:security-group-rule/*`];
      case 'scalable-targets':
        return [`${at('application-autoscaling')}:scalable-target/*`];
      case 'services-key':
        return [`${at('kms')}:key/*`];
      case 'services-key-alias':
        return [`${at('kms')}:alias/${servicesKeyAlias(scope.organization, scope.environment)}`];
      case 'network-parameters': {
        const prefixPath = scope.networkParameterPrefix?.replace(/^\//, '');
        return prefixPath === undefined
          ? undefined
          : ['vpc-id', 'private-subnet-ids'].map((n) => `${at('ssm')}:parameter/${prefixPath}${n}`);
      }
      case 'user-pools':
        return scope.cognitoUserPoolArns?.length ? [...scope.cognitoUserPoolArns] : undefined;
      case 'service-linked-role': {
        const slr = group.when as { serviceName: string; roleName: string };
        return [`arn:${p}:iam::${scope.accountId}:role/aws-service-role/${slr.serviceName}/${slr.roleName}`];
      }
      case 'passed-roles':
        return undefined;
      case 'migration-task-definitions': {
        const services = scope.release?.migrationServices ?? [];
        return services.length > 0
          ? services.map((service) => `${at('ecs')}:task-definition/${prefix}-${service}-migrate:*`)
          : undefined;
      }
      case 'cluster-tasks':
        return [`${at('ecs')}:task/${clusterName(scope.organization, scope.environment)}/*`];
      case 'registry-token':
        return images && images.repositories.length > 0 ? ['*'] : undefined;
      case 'repositories':
        return own.length > 0 ? own : undefined;
      case 'promotion-target-repositories':
        return own.length > 0 && upstream.length > 0 ? own : undefined;
      case 'upstream-repositories':
        return upstream.length > 0 ? upstream : undefined;
    }
  })();
  if (resources === undefined) return undefined;
  const when = group.when;
  let condition: RunnerPolicyStatement['Condition'];
  if (when === 'in-cluster') {
    condition = {
      ArnEquals: {
        'ecs:cluster': `${at('ecs')}:cluster/${clusterName(scope.organization, scope.environment)}`,
      },
    };
  } else if (when === 'creating') condition = stackTag('RequestTag');
  else if (when === 'tagged') condition = stackTag('ResourceTag');
  else if (when === 'ecs-desired-count') {
    condition = {
      StringEquals: {
        'application-autoscaling:service-namespace': 'ecs',
        'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount',
      },
    };
  } else if (when && 'createAction' in when) {
    condition = { StringEquals: { 'ec2:CreateAction': [...when.createAction] } };
  } else if (when && 'serviceName' in when) {
    condition = { StringEquals: { 'iam:AWSServiceName': when.serviceName } };
  }
  if (group.on === 'services-key') {
    condition = {
      'ForAnyValue:StringEquals': {
        'kms:ResourceAliases': `alias/${servicesKeyAlias(scope.organization, scope.environment)}`,
      },
    };
  }
  return { resources, ...(condition ? { condition } : {}) };
}

/** `Sid`s are alphanumeric: `security-group-rules` + `tagged` -> `SecurityGroupRulesTagged`. */
function sidOf(...parts: string[]): string {
  return parts
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

function whenName(when: PermissionCondition | undefined): string {
  if (when === undefined) return '';
  if (typeof when === 'string') return when;
  if ('createAction' in when) return 'on-create';
  return when.roleName.replace(/^AWSServiceRoleFor/, '');
}

/**
 * The managed policies a role applying the services stack gets, by what they govern (so each stays
 * under IAM's 6,144 characters and a policy's name says what it holds): `services` (ECS, the release's
 * ECR reads and promotion pushes, Application Auto Scaling, service-linked roles), `network` (Elastic Load Balancing, EC2 security groups, Cognito
 * reads), `data` (log groups, alarms, the stack's KMS key, SSM parameters, the S3 state, the notification
 * topics).
 */
export const SERVICES_APPLY_POLICY_NAMES = ['services', 'network', 'data'] as const;
export type ServicesApplyPolicyName = (typeof SERVICES_APPLY_POLICY_NAMES)[number];

const POLICY_OF_SERVICE: Readonly<Record<string, ServicesApplyPolicyName>> = {
  ecs: 'services',
  ecr: 'services',
  'application-autoscaling': 'services',
  iam: 'services',
  elasticloadbalancing: 'network',
  ec2: 'network',
  'cognito-idp': 'network',
  logs: 'data',
  cloudwatch: 'data',
  kms: 'data',
  ssm: 'data',
  s3: 'data',
};

function policyOf(action: string): ServicesApplyPolicyName {
  const service = action.split(':')[0];
  const name = POLICY_OF_SERVICE[service];
  if (!name)
    throw new Error(`services apply permissions: no policy for the actions of ${JSON.stringify(service)}`);
  return name;
}

/**
 * The identity-policy statements that let a role apply the services stack of `scope`: the groups of
 * the table for the stack's resource types, merged per policy, resource and condition, plus its S3
 * state. Literal JSON: no Terraform reference, ARNs computed from the scope.
 */
export function servicesApplyStatements(scope: ServicesStackScope): RunnerPolicyStatement[] {
  return servicesApplyPolicies(scope).flatMap((p) => p.statements);
}

/**
 * Only what `gantry deploy` calls beyond the plan and apply (`SERVICES_RELEASE_PERMISSIONS`, identity
 * statements; the `iam:PassRole` of the migration tasks' roles is the caller's to grant, with its
 * `iam:PassedToService`): for a role whose apply rights come from elsewhere, such as the GitHub apply
 * role of an environment without a deploy project. Empty when the scope has no `release`.
 */
export function servicesReleaseStatements(scope: ServicesStackScope): RunnerPolicyStatement[] {
  if (!scope.release) return [];
  const { state: _state, ...rest } = scope;
  return servicesApplyStatements({ ...rest, resourceTypes: [] });
}

/** `servicesApplyStatements`, as the managed policies that hold them (empty ones left out). */
export function servicesApplyPolicies(
  scope: ServicesStackScope,
): Array<{ name: ServicesApplyPolicyName; statements: RunnerPolicyStatement[] }> {
  type Entry = {
    policy: ServicesApplyPolicyName;
    sid: string;
    actions: Set<string>;
    resources: string[];
    condition?: RunnerPolicyStatement['Condition'];
  };
  const merged = new Map<string, Entry>();
  const tables = scope.resourceTypes.map((type) => {
    const groups = SERVICES_STACK_PERMISSIONS[type];
    if (!groups) {
      throw new Error(
        `servicesApplyStatements: no permissions known for resource type ${JSON.stringify(type)}; add it to SERVICES_STACK_PERMISSIONS`,
      );
    }
    return groups;
  });
  if (scope.release) tables.push(SERVICES_RELEASE_PERMISSIONS);
  for (const groups of tables) {
    for (const group of groups) {
      if ((group.grantedBy ?? 'identity') !== 'identity') continue;
      const rendered = render(group, scope);
      if (!rendered) continue;
      for (const action of group.actions) {
        const policy = policyOf(action);
        const key = JSON.stringify([policy, rendered.resources, rendered.condition ?? null]);
        const entry: Entry = merged.get(key) ?? {
          policy,
          sid:
            group.on === 'any'
              ? sidOf('Unscoped', policy, whenName(group.when))
              : sidOf(group.on, whenName(group.when)),
          actions: new Set<string>(),
          resources: rendered.resources,
          ...(rendered.condition ? { condition: rendered.condition } : {}),
        };
        entry.actions.add(action);
        merged.set(key, entry);
      }
    }
  }
  const statements = uniqueSids(
    [...merged.values()].map((e) => ({
      policy: e.policy,
      statement: {
        Sid: e.sid,
        Effect: 'Allow' as const,
        Action: [...e.actions].sort(),
        Resource: e.resources.length === 1 ? e.resources[0] : e.resources,
        ...(e.condition ? { Condition: e.condition } : {}),
      } satisfies RunnerPolicyStatement,
    })),
  );
  const notify = publishNotificationsStatement(scope.notificationTopicArns ?? []);
  const state = [...stateStatements(scope), ...(notify ? [notify] : [])].map((statement) => ({
    policy: 'data' as const,
    statement,
  }));
  return SERVICES_APPLY_POLICY_NAMES.map((name) => ({
    name,
    statements: [...statements, ...state].filter((s) => s.policy === name).map((s) => s.statement),
  })).filter((p) => p.statements.length > 0);
}

/** Two statements may render to the same Sid (same target, other ARNs or policy): number the later ones. */
function uniqueSids<T extends { statement: RunnerPolicyStatement }>(entries: T[]): T[] {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    const sid = e.statement.Sid ?? '';
    const n = (seen.get(sid) ?? 0) + 1;
    seen.set(sid, n);
    return n === 1 ? e : { ...e, statement: { ...e.statement, Sid: `${sid}${n}` } };
  });
}

function stateStatements(scope: ServicesStackScope): RunnerPolicyStatement[] {
  const state = scope.state;
  if (!state) return [];
  const p = partitionOf(scope.region);
  const bucket = `arn:${p}:s3:::${state.bucket}`;
  const statements: RunnerPolicyStatement[] = [
    { Sid: 'StateBucket', Effect: 'Allow', Action: [...SERVICES_STATE_PERMISSIONS.bucket], Resource: bucket },
    {
      Sid: 'StateObject',
      Effect: 'Allow',
      Action: [...SERVICES_STATE_PERMISSIONS.state],
      Resource: `${bucket}/${state.key}`,
    },
    {
      Sid: 'StateLock',
      Effect: 'Allow',
      Action: [...SERVICES_STATE_PERMISSIONS.lock],
      Resource: `${bucket}/${state.key}.tflock`,
    },
  ];
  if (state.kmsKeyId !== undefined) {
    // A key named by alias (a bootstrap stack's, the tooling account's by alias ARN): by its alias.
    const key = stateKeyRef(state.kmsKeyId, {
      accountId: scope.accountId,
      region: state.region ?? scope.region,
    });
    statements.push(stateKeyStatement('StateKey', SERVICES_STATE_PERMISSIONS.key, key));
  }
  return statements;
}
