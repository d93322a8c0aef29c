import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Lb, type LbConfig } from '@cdktf/provider-aws/lib/lb';
import { LbListener, type LbListenerConfig } from '@cdktf/provider-aws/lib/lb-listener';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RdsCluster, type RdsClusterConfig } from '@cdktf/provider-aws/lib/rds-cluster';
import { RdsClusterInstance } from '@cdktf/provider-aws/lib/rds-cluster-instance';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { ActionsEnvironmentSecret } from '@cdktf/provider-github/lib/actions-environment-secret';
import { GithubProvider } from '@cdktf/provider-github/lib/provider';
import { S3Backend, TerraformStack, TerraformVariable } from 'cdktf';
import { Policy, POLICY_RULES } from '../../../lib/policy';
import {
  ACCOUNT,
  applyRole,
  compliantKey,
  compliantLogGroup,
  compliantProject,
  compliantRepository,
  container,
  githubTrust,
  KEY_ARN,
  keyPolicy,
  planRole,
  policyJson,
  policyStack,
  serviceRole,
  subject,
  synthError,
  taskDefinition,
  violationLine,
  violations,
  pullRequestRole,
} from './fixtures';
import { recordStackFacts } from '../../../lib/core/record-stack-facts';
import { DATA_PLANE_READ_ACTIONS, PULL_REQUEST_DENIED_WRITES } from '../../../lib/core/data-plane';
import { GithubOidcProvider } from '../../../lib/identity/github-oidc-provider';
import { PublishRoles } from '../../../lib/identity/publish-roles';

/** A compliant publish role (this repository's v* tags, pushing acme/api). */
function publishRoles(stack: TerraformStack): PublishRoles {
  const oidcProvider = new GithubOidcProvider(stack, 'oidc', { accountId: ACCOUNT, region: 'eu-west-1' });
  return new PublishRoles(stack, 'publish', {
    accountId: ACCOUNT,
    region: 'eu-west-1',
    oidcProvider,
    publisher: {
      roleName: 'acme-dev-gh-publish',
      repository: 'acme/platform',
      repositoryArns: [`arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/acme/api`],
    },
  });
}

const STATE_BUCKET = 'acme-terraform-state';
const STATE_KEY = `arn:aws:s3:::${STATE_BUCKET}/gantry/dev-foundation.tfstate`;

function identityPolicy(stack: TerraformStack, id: string, ...statements: object[]): IamPolicy {
  return new IamPolicy(stack, id, { name: `acme-${id}`, policy: policyJson(...statements) });
}

function compliantCluster(stack: TerraformStack, id = 'cluster', insights = 'enabled'): EcsCluster {
  const logs = compliantLogGroup(stack, `${id}-exec`);
  return new EcsCluster(stack, id, {
    name: 'acme-dev',
    setting: [{ name: 'containerInsights', value: insights }],
    configuration: {
      executeCommandConfiguration: {
        kmsKeyId: KEY_ARN,
        logging: 'OVERRIDE',
        logConfiguration: { cloudWatchLogGroupName: logs.name, cloudWatchEncryptionEnabled: true },
      },
    },
  });
}

function service(stack: TerraformStack, assignPublicIp: boolean, platformVersion?: string): EcsService {
  return new EcsService(stack, 'service', {
    name: 'api',
    cluster: 'acme-dev',
    taskDefinition: 'acme-api:1',
    launchType: 'FARGATE',
    ...(platformVersion ? { platformVersion } : {}),
    networkConfiguration: { subnets: ['subnet-0a1d0000000000a01'], assignPublicIp },
  });
}

function stateBucket(stack: TerraformStack, complete: boolean, sameAccountOnly = true): S3Bucket {
  const bucket = new S3Bucket(stack, 'state', { bucket: STATE_BUCKET, lifecycle: { preventDestroy: true } });
  new S3BucketVersioningA(stack, 'state-versioning', {
    bucket: bucket.id,
    versioningConfiguration: { status: 'Enabled' },
  });
  new S3BucketPublicAccessBlock(stack, 'state-public', {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: complete,
  });
  new S3BucketServerSideEncryptionConfigurationA(stack, 'state-sse', {
    bucket: bucket.id,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: KEY_ARN } }],
  });
  new S3BucketOwnershipControls(stack, 'state-ownership', {
    bucket: bucket.id,
    rule: { objectOwnership: 'BucketOwnerEnforced' },
  });
  if (complete) {
    new S3BucketPolicy(stack, 'state-tls', {
      bucket: STATE_BUCKET,
      policy: policyJson(
        {
          Sid: 'TlsOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${STATE_BUCKET}`, `arn:aws:s3:::${STATE_BUCKET}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        ...(sameAccountOnly
          ? [
              {
                Sid: 'ThisAccountOnly',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [`arn:aws:s3:::${STATE_BUCKET}`, `arn:aws:s3:::${STATE_BUCKET}/*`],
                Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } },
              },
            ]
          : []),
      ),
    });
  }
  new S3BucketLifecycleConfiguration(stack, 'state-lifecycle', {
    bucket: bucket.id,
    rule: [
      {
        id: 'expire-old-versions',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        noncurrentVersionExpiration: [{ noncurrentDays: 90 }],
      },
    ],
  });
  return bucket;
}

/** An Aurora cluster and its writer, compliant unless `overrides` breaks it. */
function ledgerCluster(
  stack: TerraformStack,
  overrides: Partial<RdsClusterConfig> = {},
  publiclyAccessible = false,
): RdsCluster {
  const cluster = new RdsCluster(stack, 'ledger', {
    clusterIdentifier: 'acme-dev-ledger',
    engine: 'aurora-postgresql',
    masterUsername: 'gantry_admin',
    manageMasterUserPassword: true,
    storageEncrypted: true,
    kmsKeyId: KEY_ARN,
    deletionProtection: true,
    lifecycle: { preventDestroy: true },
    ...overrides,
  });
  new RdsClusterInstance(stack, 'ledger-writer', {
    clusterIdentifier: cluster.id,
    instanceClass: 'db.serverless',
    engine: 'aurora-postgresql',
    publiclyAccessible,
  });
  return cluster;
}

const CERTIFICATE = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/0a1d0000-0000-4000-8000-0000000000c1`;

function loadBalancer(stack: TerraformStack, overrides: Partial<LbConfig> = {}): Lb {
  return new Lb(stack, 'lb', {
    name: 'acme-dev',
    loadBalancerType: 'application',
    subnets: ['subnet-0a1d0000000000a01', 'subnet-0a1d0000000000b01'],
    dropInvalidHeaderFields: true,
    enableDeletionProtection: true,
    ...overrides,
  });
}

function httpsListener(stack: TerraformStack, lb: Lb, overrides: Partial<LbListenerConfig> = {}): LbListener {
  return new LbListener(stack, 'https', {
    loadBalancerArn: lb.arn,
    port: 443,
    protocol: 'HTTPS',
    sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    certificateArn: CERTIFICATE,
    defaultAction: [
      { type: 'fixed-response', fixedResponse: { contentType: 'text/plain', statusCode: '404' } },
    ],
    ...overrides,
  });
}

function httpListener(stack: TerraformStack, lb: Lb, redirect = true): LbListener {
  return new LbListener(stack, 'http', {
    loadBalancerArn: lb.arn,
    port: 80,
    protocol: 'HTTP',
    defaultAction: [
      redirect
        ? { type: 'redirect', redirect: { port: '443', protocol: 'HTTPS', statusCode: 'HTTP_301' } }
        : {
            type: 'forward',
            targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/tg/1',
          },
    ],
  });
}

/** A load balancer with an HTTPS listener and an HTTP redirect, as `ApplicationLoadBalancer` makes. */
function compliantLoadBalancer(stack: TerraformStack): Lb {
  const lb = loadBalancer(stack);
  httpsListener(stack, lb);
  httpListener(stack, lb);
  return lb;
}

interface RuleCase {
  /** What the breaking stack does wrong. */
  readonly breaks: string;
  readonly address: string;
  readonly broken: (stack: TerraformStack) => void;
  readonly held: (stack: TerraformStack) => void;
}

const CASES: Record<string, RuleCase> = {
  'GANTRY-IAM-001': {
    breaks: 'a GitHub statement without a sub condition',
    address: 'aws_iam_role.plan',
    broken: (stack) =>
      new IamRole(stack, 'plan', {
        name: 'acme-dev-gh-plan',
        assumeRolePolicy: githubTrust({ StringEquals: AUD_ONLY }),
        tags: { 'gantry:role': 'plan' },
      }),
    held: (stack) => planRole(stack),
  },
  'GANTRY-IAM-002': {
    breaks: 'an aud other than sts.amazonaws.com',
    address: 'aws_iam_role.plan',
    broken: (stack) =>
      new IamRole(stack, 'plan', {
        name: 'acme-dev-gh-plan',
        assumeRolePolicy: githubTrust({
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.example.com',
            'token.actions.githubusercontent.com:sub': 'repo:acme/platform:ref:refs/heads/main',
          },
        }),
      }),
    held: (stack) => planRole(stack),
  },
  'GANTRY-IAM-003': {
    breaks: 'a wildcard in the repository of a subject',
    address: 'aws_iam_role.plan',
    broken: (stack) =>
      new IamRole(stack, 'plan', {
        name: 'acme-dev-gh-plan',
        assumeRolePolicy: githubTrust({ StringLike: subject('repo:acme/*:ref:refs/heads/main') }),
      }),
    held: (stack) => planRole(stack),
  },
  'GANTRY-IAM-004': {
    breaks: 'an apply role trusting pull_request',
    address: 'aws_iam_role.apply',
    broken: (stack) => applyRole(stack, 'apply', 'repo:acme/platform:pull_request'),
    held: (stack) => applyRole(stack),
  },
  'GANTRY-IAM-005': {
    breaks: 'a second GitHub statement on the same role',
    address: 'aws_iam_role.apply',
    broken: (stack) =>
      new IamRole(stack, 'apply', {
        name: 'acme-prod-gh-apply',
        assumeRolePolicy: githubTrust({ StringEquals: subject('repo:acme/platform:environment:prod') }, [
          {
            Effect: 'Allow',
            Principal: {
              Federated: 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com',
            },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: subject('repo:acme/platform:environment:staging') },
          },
        ]),
        tags: { 'gantry:role': 'apply' },
      }),
    held: (stack) => applyRole(stack),
  },
  'GANTRY-IAM-006': {
    breaks: 'a role assumable by "*"',
    address: 'aws_iam_role.open',
    broken: (stack) =>
      new IamRole(stack, 'open', {
        name: 'acme-open',
        assumeRolePolicy: policyJson({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }),
      }),
    held: (stack) => serviceRole(stack, 'open'),
  },
  'GANTRY-IAM-007': {
    breaks: 'Action "*"',
    address: 'aws_iam_policy.admin',
    broken: (stack) => identityPolicy(stack, 'admin', { Effect: 'Allow', Action: '*', Resource: '*' }),
    held: (stack) =>
      identityPolicy(stack, 'admin', {
        Effect: 'Allow',
        Action: ['ecr:GetAuthorizationToken'],
        Resource: '*',
      }),
  },
  'GANTRY-IAM-008': {
    breaks: 's3:GetObject on Resource "*"',
    address: 'aws_iam_policy.read',
    broken: (stack) =>
      identityPolicy(stack, 'read', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }),
    held: (stack) =>
      identityPolicy(
        stack,
        'read',
        {
          Effect: 'Allow',
          Action: ['ecr:GetAuthorizationToken', 'ec2:DescribeSubnets', 'ec2:Describe*'],
          Resource: '*',
        },
        { Effect: 'Allow', Action: 's3:GetObject', Resource: STATE_KEY },
      ),
  },
  'GANTRY-IAM-009': {
    breaks: 'iam:PassRole on every role without iam:PassedToService',
    address: 'aws_iam_policy.pass',
    broken: (stack) =>
      identityPolicy(stack, 'pass', {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `arn:aws:iam::${ACCOUNT}:role/*`,
      }),
    held: (stack) =>
      identityPolicy(stack, 'pass', {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `arn:aws:iam::${ACCOUNT}:role/acme-dev-api-task`,
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
  },
  'GANTRY-IAM-010': {
    breaks: 's3:DeleteObject on the state key for the plan role',
    address: 'aws_iam_role_policy.plan-state',
    broken: (stack) => {
      const role = planRole(stack);
      new IamRolePolicy(stack, 'plan-state', {
        role: role.name,
        policy: policyJson({
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:DeleteObject'],
          Resource: STATE_KEY,
        }),
      });
    },
    held: (stack) => {
      const role = planRole(stack);
      new IamRolePolicy(stack, 'plan-state', {
        role: role.name,
        policy: policyJson(
          { Effect: 'Allow', Action: 's3:GetObject', Resource: STATE_KEY },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${STATE_BUCKET}` },
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            Resource: `${STATE_KEY}.tflock`,
          },
        ),
      });
      new IamRolePolicyAttachment(stack, 'plan-read-only', {
        role: role.name,
        policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      });
    },
  },
  'GANTRY-IAM-013': {
    breaks: 'a pull-request role in an environment that requires an approval',
    address: 'aws_iam_role.plan-pr',
    broken: (stack) => {
      recordStackFacts(stack, { ...GATED_FACTS });
      pullRequestRole(stack);
    },
    held: (stack) => {
      recordStackFacts(stack, { ...GATED_FACTS });
      planRole(stack);
    },
  },
  'GANTRY-IAM-014': {
    breaks: 'a publish role that may also read state objects',
    address: 'aws_iam_role_policy.publish-extra',
    broken: (stack) => {
      const roles = publishRoles(stack);
      new IamRolePolicy(stack, 'publish-extra', {
        role: roles.publisherRole!.name,
        policy: policyJson({
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::acme-state/*',
        }),
      });
    },
    held: (stack) => void publishRoles(stack),
  },
  'GANTRY-IAM-012': {
    breaks: 'a role pull requests can assume without the Deny of data-plane reads',
    address: 'aws_iam_role.plan-pr',
    broken: (stack) => void pullRequestRole(stack, { denies: false }),
    held: (stack) => void pullRequestRole(stack),
  },
  'GANTRY-ECR-001': {
    breaks: 'a mutable repository without scanning or KMS',
    address: 'aws_ecr_repository.repo',
    broken: (stack) =>
      compliantRepository(stack, 'repo', {
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: false },
        encryptionConfiguration: [{ encryptionType: 'AES256' }],
      }),
    held: (stack) => {
      const repo = compliantRepository(stack);
      new EcrRepositoryPolicy(stack, 'repo-policy', {
        repository: repo.name,
        policy: policyJson({
          Sid: 'PullFromStaging',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::222222222222:root' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        }),
      });
    },
  },
  'GANTRY-ECS-001': {
    breaks: 'a writable root filesystem',
    address: 'aws_ecs_task_definition.task-definition',
    broken: (stack) => taskDefinition(stack, [container({ readonlyRootFilesystem: false })]),
    held: (stack) => taskDefinition(stack),
  },
  'GANTRY-ECS-002': {
    breaks: 'a public IP',
    address: 'aws_ecs_service.service',
    broken: (stack) => service(stack, true),
    held: (stack) => service(stack, false, 'LATEST'),
  },
  'GANTRY-ECS-003': {
    breaks: 'Container Insights off',
    address: 'aws_ecs_cluster.cluster',
    broken: (stack) => compliantCluster(stack, 'cluster', 'disabled'),
    held: (stack) => compliantCluster(stack),
  },
  'GANTRY-CB-001': {
    breaks: 'a project without its KMS key',
    address: 'aws_codebuild_project.project',
    broken: (stack) => compliantProject(stack, { encryptionKey: undefined }),
    held: (stack) => compliantProject(stack),
  },
  'GANTRY-LOG-001': {
    breaks: 'a log group without a KMS key',
    address: 'aws_cloudwatch_log_group.logs',
    broken: (stack) =>
      new CloudwatchLogGroup(stack, 'logs', {
        name: '/acme/logs',
        retentionInDays: 30,
        lifecycle: { preventDestroy: true },
      }),
    held: (stack) => compliantLogGroup(stack),
  },
  'GANTRY-KMS-001': {
    breaks: 'a key without rotation',
    address: 'aws_kms_key.key',
    broken: (stack) => new KmsKey(stack, 'key', { policy: keyPolicy(), lifecycle: { preventDestroy: true } }),
    held: (stack) => compliantKey(stack),
  },
  'GANTRY-S3-001': {
    breaks: 'a state bucket without TLS-only policy or full public-access block',
    address: 'aws_s3_bucket.state',
    broken: (stack) => stateBucket(stack, false),
    held: (stack) => stateBucket(stack, true),
  },
  'GANTRY-S3-002': {
    breaks: 'a state bucket whose policy admits other accounts',
    address: 'aws_s3_bucket.state',
    broken: (stack) => stateBucket(stack, true, false),
    held: (stack) => stateBucket(stack, true),
  },
  'GANTRY-RDS-001': {
    breaks: 'an Aurora cluster without deletion protection',
    address: 'aws_rds_cluster.ledger',
    broken: (stack) => ledgerCluster(stack, { deletionProtection: false }),
    held: (stack) => ledgerCluster(stack),
  },
  'GANTRY-TF-001': {
    breaks: 'an S3 backend without use_lockfile',
    address: 'terraform.backend.s3',
    broken: (stack) =>
      new S3Backend(stack, {
        bucket: STATE_BUCKET,
        key: 'gantry/test.tfstate',
        region: 'eu-west-1',
        encrypt: true,
      }),
    held: (stack) => {
      new S3Backend(stack, {
        bucket: STATE_BUCKET,
        key: 'gantry/test.tfstate',
        region: 'eu-west-1',
        encrypt: true,
      });
      stack.addOverride('terraform.backend.s3.use_lockfile', true);
    },
  },
  'GANTRY-TF-002': {
    breaks: 'a repository without prevent_destroy',
    address: 'aws_ecr_repository.repo',
    broken: (stack) => compliantRepository(stack, 'repo', { lifecycle: { preventDestroy: false } }),
    held: (stack) => compliantRepository(stack),
  },
  'GANTRY-TF-003': {
    breaks: 'a policy interpolated from a data source',
    address: 'aws_iam_policy.read',
    broken: (stack) => {
      const doc = new DataAwsIamPolicyDocument(stack, 'read-doc', {
        statement: [{ effect: 'Allow', actions: ['s3:GetObject'], resources: [STATE_KEY] }],
      });
      new IamPolicy(stack, 'read', { name: 'acme-read', policy: doc.json });
    },
    held: (stack) =>
      identityPolicy(stack, 'read', { Effect: 'Allow', Action: 's3:GetObject', Resource: STATE_KEY }),
  },
  'GANTRY-SEC-001': {
    breaks: 'a GitHub environment secret with a literal value',
    address: 'github_actions_environment_secret.secret',
    broken: (stack) => {
      new GithubProvider(stack, 'github', { owner: 'acme' });
      new ActionsEnvironmentSecret(stack, 'secret', {
        repository: 'platform',
        environment: 'prod',
        secretName: 'DEPLOY_KEY',
        plaintextValue: 'hunter2',
      });
    },
    held: (stack) => {
      new GithubProvider(stack, 'github', { owner: 'acme' });
      const value = new TerraformVariable(stack, 'deploy_key', { type: 'string', sensitive: true });
      new ActionsEnvironmentSecret(stack, 'secret', {
        repository: 'platform',
        environment: 'prod',
        secretName: 'DEPLOY_KEY',
        plaintextValue: value.stringValue,
      });
    },
  },
  'GANTRY-SEC-002': {
    breaks: 'a buildspec running terraform apply directly',
    address: 'aws_codebuild_project.project',
    broken: (stack) =>
      compliantProject(stack, {
        source: {
          type: 'NO_SOURCE',
          buildspec:
            'version: 0.2\nphases:\n  build:\n    commands:\n      - terraform apply -auto-approve\n',
        },
      }),
    held: (stack) => compliantProject(stack),
  },
  'GANTRY-IAM-011': {
    breaks: 'PowerUserAccess attached to a role without a reason',
    address: 'aws_iam_role_policy_attachment.power',
    broken: (stack) =>
      new IamRolePolicyAttachment(stack, 'power', {
        role: serviceRole(stack, 'deployer').name,
        policyArn: 'arn:aws:iam::aws:policy/PowerUserAccess',
      }),
    held: (stack) =>
      new IamRolePolicyAttachment(stack, 'power', {
        role: serviceRole(stack, 'deployer').name,
        policyArn: `arn:aws:iam::${ACCOUNT}:policy/acme-deploy`,
      }),
  },
  'GANTRY-ELB-001': {
    breaks: 'an HTTPS listener on the TLS 1.0 default policy',
    address: 'aws_lb_listener.https',
    broken: (stack) => httpsListener(stack, loadBalancer(stack), { sslPolicy: 'ELBSecurityPolicy-2016-08' }),
    held: (stack) => compliantLoadBalancer(stack),
  },
  'GANTRY-ELB-002': {
    breaks: 'a load balancer without deletion protection',
    address: 'aws_lb.lb',
    broken: (stack) => loadBalancer(stack, { enableDeletionProtection: false }),
    held: (stack) => compliantLoadBalancer(stack),
  },
};

const AUD_ONLY = { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' };

/** The facts of a stack of an environment that requires one approval. */
const GATED_FACTS = {
  kind: 'foundation',
  repository: 'acme/platform',
  defaultBranch: 'main',
  environment: 'staging',
  accountId: ACCOUNT,
  production: false,
  requiredApprovals: 1,
  approvalEnvironments: ['staging'],
  services: [],
} as const;

describe('policy rules', () => {
  test('there is one rule per SECURITY.md invariant, then the unnumbered load-balancer rules, each with a case below', () => {
    const numbered = POLICY_RULES.filter((r) => r.invariant !== undefined);
    expect(numbered.map((r) => r.invariant)).toEqual([
      ...Array.from({ length: 26 }, (_, i) => i + 1),
      32,
      33,
    ]);
    expect(POLICY_RULES.slice(28).map((r) => [r.id, r.invariant])).toEqual([
      ['GANTRY-ELB-001', undefined],
      ['GANTRY-ELB-002', undefined],
      ['GANTRY-IAM-014', undefined],
    ]);
    expect(new Set(POLICY_RULES.map((r) => r.id)).size).toBe(31);
    expect(Object.keys(CASES).sort()).toEqual(POLICY_RULES.map((r) => r.id).sort());
    for (const rule of POLICY_RULES) {
      expect(rule.id).toMatch(/^GANTRY-(IAM|ECR|ECS|CB|LOG|KMS|S3|TF|SEC|ELB|RDS)-\d{3}$/);
      expect(rule.title.length).toBeGreaterThan(10);
    }
  });

  describe.each(POLICY_RULES.map((r) => [r.id, r] as const))('%s', (id) => {
    const c = CASES[id];

    test(`synth fails naming the rule and the address for ${c.breaks}`, () => {
      const stack = policyStack(c.broken);
      expect(violations(stack)).toContainEqual(expect.objectContaining({ ruleId: id, address: c.address }));
      expect(synthError(stack)).toMatch(violationLine(id, c.address));
    });

    test('a stack that holds it synthesizes with no violation at all', () => {
      const stack = policyStack(c.held);
      expect(violations(stack)).toEqual([]);
      expect(synthError(stack)).toBe('');
    });
  });
});

describe('rule details', () => {
  test('IAM-012: the reason of approval.pullRequestPlans, as a suppression, lets a gated environment be planned from pull requests', () => {
    const stack = policyStack((s) => {
      recordStackFacts(s, { ...GATED_FACTS });
      Policy.suppress(pullRequestRole(s), 'GANTRY-IAM-013', 'staging holds synthetic data only');
    });
    expect(violations(stack)).toEqual([]);
    expect(Policy.check(stack).suppressions).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-IAM-013', reason: 'staging holds synthetic data only' }),
    ]);
  });

  test('IAM-013: a wildcard subject admits pull requests too; a Deny that spares a wildcard is no Deny', () => {
    const wildcard = policyStack(
      (s) => void pullRequestRole(s, { sub: 'repo:acme/platform:*', denies: false }),
    );
    expect(violations(wildcard).map((v) => v.ruleId)).toContain('GANTRY-IAM-012');
    const spared = policyStack((s) => {
      const role = pullRequestRole(s, { denies: false });
      new IamRolePolicy(s, 'leaky-deny', {
        role: role.name,
        policy: policyJson(
          { Effect: 'Deny', Action: [...DATA_PLANE_READ_ACTIONS], NotResource: 'arn:aws:s3:::*' },
          { Effect: 'Deny', Action: [...PULL_REQUEST_DENIED_WRITES], Resource: '*' },
        ),
      });
    });
    expect(violations(spared)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-IAM-012', found: expect.stringContaining('"s3:GetObject"') }),
    ]);
  });

  describe('IAM-012: the Deny of kms:Decrypt for a state key named by alias', () => {
    const STATE_OBJECT = 'arn:aws:s3:::acme-dev-tfstate-111111111111/gantry/dev-foundation.tfstate';
    const ALIAS = 'alias/acme-dev-tfstate';
    const ONLY_THE_ALIAS = { 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': [ALIAS] } };
    /** A pull-request role whose own Denies are these statements (besides the reads and writes ones given). */
    const withDenies = (
      keyDeny: object | undefined,
      { reads = {}, writes = {} }: { reads?: object; writes?: object } = {},
    ) =>
      policyStack((s) => {
        const role = pullRequestRole(s, { denies: false });
        new IamRolePolicy(s, 'deny', {
          role: role.name,
          policy: policyJson(
            {
              Sid: 'DenyDataPlaneReads',
              Effect: 'Deny',
              Action: DATA_PLANE_READ_ACTIONS.filter((a) => a !== 'kms:Decrypt'),
              NotResource: [STATE_OBJECT],
              ...reads,
            },
            ...(keyDeny ? [keyDeny] : []),
            {
              Sid: 'DenyObjectWrites',
              Effect: 'Deny',
              Action: [...PULL_REQUEST_DENIED_WRITES],
              Resource: '*',
              ...writes,
            },
          ),
        });
      });
    const keyDeny = (over: object = {}) => ({
      Sid: 'DenyDecryptButStateKey',
      Effect: 'Deny',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: ONLY_THE_ALIAS,
      ...over,
    });
    const decryptNotDenied = [
      expect.objectContaining({ ruleId: 'GANTRY-IAM-012', found: expect.stringContaining('"kms:Decrypt"') }),
    ];

    test('holds: kms:Decrypt on "*" unless ForAllValues:StringNotEquals kms:ResourceAliases is the one alias', () => {
      expect(violations(withDenies(keyDeny()))).toEqual([]);
      // A single string value is the same condition.
      expect(
        violations(
          withDenies(
            keyDeny({ Condition: { 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': ALIAS } } }),
          ),
        ),
      ).toEqual([]);
    });

    test('fails without the Deny of kms:Decrypt, or with a Deny that spares more keys', () => {
      expect(violations(withDenies(undefined))).toEqual(decryptNotDenied);
      for (const condition of [
        // Over a key without aliases ForAnyValue is false: that key would be spared.
        { 'ForAnyValue:StringNotEquals': { 'kms:ResourceAliases': [ALIAS] } },
        { 'ForAllValues:StringNotLike': { 'kms:ResourceAliases': ['alias/*'] } },
        { 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': ['alias/acme-*'] } },
        { 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': [ALIAS, 'alias/acme-prod-secrets'] } },
        { 'ForAllValues:StringNotEqualsIfExists': { 'kms:ResourceAliases': [ALIAS] } },
        { 'ForAllValues:StringNotEquals': { 'kms:RequestAlias': [ALIAS] } },
        { ...ONLY_THE_ALIAS, StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
        { 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': [ALIAS], 'aws:SourceVpc': ['vpc-1'] } },
      ]) {
        expect(violations(withDenies(keyDeny({ Condition: condition })))).toEqual(decryptNotDenied);
      }
      // On the keys of one account only, or sparing the state key's account with a pattern.
      expect(
        violations(withDenies(keyDeny({ Resource: 'arn:aws:kms:eu-west-1:111111111111:key/*' }))),
      ).toEqual(decryptNotDenied);
      expect(
        violations(
          withDenies(
            keyDeny({ Resource: undefined, NotResource: ['arn:aws:kms:eu-west-1:111111111111:key/*'] }),
          ),
        ),
      ).toEqual(decryptNotDenied);
    });

    test('the alias condition excuses kms:Decrypt only: other Denies narrowed by a condition fail', () => {
      const narrowed = { Condition: ONLY_THE_ALIAS };
      expect(violations(withDenies(keyDeny(), { reads: narrowed }))).toEqual([
        expect.objectContaining({
          ruleId: 'GANTRY-IAM-012',
          found: expect.stringContaining('"s3:GetObject"'),
        }),
      ]);
      expect(
        violations(
          withDenies(keyDeny(), { writes: { Condition: { Bool: { 'aws:SecureTransport': 'false' } } } }),
        ),
      ).toEqual([
        expect.objectContaining({
          ruleId: 'GANTRY-IAM-012',
          found: expect.stringContaining('"s3:PutObject"'),
        }),
      ]);
    });
  });

  test('IAM-004: an apply role with a session over one hour', () => {
    const stack = policyStack((s) => applyRole(s).addOverride('max_session_duration', 7200));
    expect(violations(stack)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-IAM-004',
        address: 'aws_iam_role.apply',
        found: expect.stringContaining('7200'),
      }),
    ]);
  });

  test('IAM-007: kms:* in a key policy only for the account root', () => {
    const root = policyStack((s) => compliantKey(s));
    expect(violations(root)).toEqual([]);
    const other = policyStack(
      (s) =>
        new KmsKey(s, 'key', {
          enableKeyRotation: true,
          lifecycle: { preventDestroy: true },
          policy: keyPolicy({
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/acme-dev-gh-apply` },
            Action: 'kms:*',
            Resource: '*',
          }),
        }),
    );
    expect(violations(other)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-IAM-007', address: 'aws_kms_key.key' }),
    ]);
  });

  test('IAM-007: AdministratorAccess attached to a role', () => {
    const stack = policyStack((s) => {
      const role = serviceRole(s, 'admin');
      new IamRolePolicyAttachment(s, 'admin-access', {
        role: role.name,
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      });
    });
    expect(violations(stack)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-IAM-007',
        address: 'aws_iam_role_policy_attachment.admin-access',
      }),
      expect.objectContaining({
        ruleId: 'GANTRY-IAM-011',
        address: 'aws_iam_role_policy_attachment.admin-access',
      }),
    ]);
  });

  test('IAM-011: a broad policy passed with a reason is a recorded suppression; without one, still a violation', () => {
    const attach = (s: TerraformStack, id: string, arn: string, reason?: string) => {
      const attachment = new IamRolePolicyAttachment(s, id, {
        role: serviceRole(s, `${id}-role`).name,
        policyArn: arn,
      });
      Policy.acceptExplicitAdministratorAccess(attachment, arn, `test/${id}`, reason);
    };
    const withReason = policyStack((s) => {
      attach(
        s,
        'admin',
        'arn:aws:iam::aws:policy/AdministratorAccess',
        'break-glass account, audited weekly',
      );
      attach(s, 'power', 'arn:aws:iam::aws:policy/PowerUserAccess', 'sandbox account, rebuilt nightly');
    });
    expect(violations(withReason)).toEqual([]);
    expect(Policy.check(withReason).suppressions.map((x) => [x.ruleId, x.address, x.reason])).toEqual([
      [
        'GANTRY-IAM-007',
        'aws_iam_role_policy_attachment.admin',
        'AdministratorAccess passed explicitly in test/admin: break-glass account, audited weekly',
      ],
      [
        'GANTRY-IAM-011',
        'aws_iam_role_policy_attachment.admin',
        'AdministratorAccess passed explicitly in test/admin: break-glass account, audited weekly',
      ],
      [
        'GANTRY-IAM-011',
        'aws_iam_role_policy_attachment.power',
        'PowerUserAccess passed explicitly in test/power: sandbox account, rebuilt nightly',
      ],
    ]);
    const without = policyStack((s) => attach(s, 'admin', 'arn:aws:iam::aws:policy/AdministratorAccess'));
    expect(violations(without)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-IAM-011', address: 'aws_iam_role_policy_attachment.admin' }),
    ]);
  });

  test('IAM-008: kms:TagResource on "*" only to tag a key being created (an aws:RequestTag condition)', () => {
    const tagOnCreate = {
      Effect: 'Allow',
      Action: ['kms:CreateKey', 'kms:TagResource'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestTag/gantry:stack': 'dev-services' } },
    };
    expect(violations(policyStack((s) => identityPolicy(s, 'keys', tagOnCreate)))).toEqual([]);
    const { Condition: _condition, ...anyKey } = tagOnCreate;
    expect(violations(policyStack((s) => identityPolicy(s, 'keys', anyKey)))).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-IAM-008',
        address: 'aws_iam_policy.keys',
        found: expect.stringContaining('["kms:TagResource"]'),
      }),
    ]);
  });

  test('IAM-008: a statement wildcard wider than an unscopable pattern is refused', () => {
    const stack = policyStack((s) =>
      identityPolicy(s, 'ec2', { Effect: 'Allow', Action: 'ec2:*', Resource: '*' }),
    );
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-IAM-008', address: 'aws_iam_policy.ec2' }),
    ]);
  });

  test('IAM-009: iam:PassRole on a named role without iam:PassedToService', () => {
    const stack = policyStack((s) =>
      identityPolicy(s, 'pass', {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `arn:aws:iam::${ACCOUNT}:role/acme-task`,
      }),
    );
    expect(violations(stack)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-IAM-009',
        found: expect.stringContaining('iam:PassedToService'),
      }),
    ]);
  });

  test('IAM-010: a write-capable managed policy on the plan role', () => {
    const stack = policyStack((s) => {
      const role = planRole(s);
      new IamRolePolicyAttachment(s, 'power', {
        role: role.name,
        policyArn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
      });
    });
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-IAM-010', address: 'aws_iam_role_policy_attachment.power' }),
    ]);
  });

  test('ECR-001: a public repository policy', () => {
    const stack = policyStack((s) => {
      const repo = compliantRepository(s);
      new EcrRepositoryPolicy(s, 'public', {
        repository: repo.name,
        policy: policyJson({ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }),
      });
    });
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ECR-001', address: 'aws_ecr_repository_policy.public' }),
    ]);
  });

  test.each([
    ['privileged', { privileged: true }, 'privileged = true'],
    [
      'a secret-looking environment name',
      { environment: [{ name: 'DB_PASSWORD', value: 'x' }] },
      '"DB_PASSWORD"',
    ],
  ])('ECS-001: %s container', (_name, overrides, found) => {
    const stack = policyStack((s) => taskDefinition(s, [container(overrides)]));
    expect(violations(stack)).toContainEqual(
      expect.objectContaining({ ruleId: 'GANTRY-ECS-001', found: expect.stringContaining(found) }),
    );
  });

  test('ECS-001: host PID and one role for execution and task', () => {
    const stack = policyStack((s) => taskDefinition(s, [container()], { pidMode: 'host', sameRoles: true }));
    expect(violations(stack).map((v) => v.found)).toEqual([
      'pid_mode = "host"',
      expect.stringContaining('execution_role_arn = task_role_arn'),
    ]);
  });

  test('ECS-002: a pinned old platform version', () => {
    const stack = policyStack((s) => service(s, false, '1.3.0'));
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ECS-002', found: 'platform_version = "1.3.0"' }),
    ]);
  });

  test('ECS-003: a cluster without encrypted ECS Exec', () => {
    const stack = policyStack(
      (s) =>
        new EcsCluster(s, 'cluster', {
          name: 'c',
          setting: [{ name: 'containerInsights', value: 'enabled' }],
        }),
    );
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ECS-003', found: expect.stringContaining('kms_key_id') }),
    ]);
  });

  test('CB-001: privileged mode and missing logs', () => {
    const stack = policyStack((s) =>
      compliantProject(s, {
        environment: {
          computeType: 'BUILD_GENERAL1_SMALL',
          image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
          type: 'LINUX_CONTAINER',
          privilegedMode: true,
        },
        logsConfig: { cloudwatchLogs: { status: 'DISABLED' } },
      }),
    );
    expect(violations(stack).map((v) => v.found)).toEqual([
      expect.stringContaining('logs_config'),
      'environment.privileged_mode = true',
    ]);
  });

  test('LOG-001: a log group kept forever', () => {
    const stack = policyStack((s) => compliantLogGroup(s).addOverride('retention_in_days', 0));
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-LOG-001', found: 'retention_in_days = 0' }),
    ]);
  });

  test('KMS-001: a key policy open to "*"', () => {
    const stack = policyStack(
      (s) =>
        new KmsKey(s, 'key', {
          enableKeyRotation: true,
          lifecycle: { preventDestroy: true },
          policy: keyPolicy({ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*' }),
        }),
    );
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-KMS-001', address: 'aws_kms_key.key' }),
    ]);
  });

  test('TF-001: an AWS provider without allowed_account_ids', () => {
    const stack = policyStack((s) => new AwsProvider(s, 'other', { region: 'us-east-1', alias: 'us' }));
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-TF-001', address: 'provider.aws.us' }),
    ]);
  });

  test('TF-003: the image tag variable is the only interpolation allowed in container definitions', () => {
    const stack = policyStack((s) =>
      taskDefinition(s, [container({ environment: [{ name: 'QUEUE', value: '${var.queue}' }] })]),
    );
    expect(violations(stack)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-TF-003',
        found: expect.stringContaining('[0].environment[0].value'),
      }),
    ]);
    const wholeImage = policyStack((s) => taskDefinition(s, [container({ image: '${var.image}' })]));
    expect(violations(wholeImage)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-TF-003', found: expect.stringContaining('[0].image') }),
    ]);
  });

  test('TF-003: a trust policy built by jsonencode is not literal', () => {
    const stack = policyStack((s) => planRole(s).addOverride('assume_role_policy', '${jsonencode({})}'));
    expect(violations(stack)).toContainEqual(
      expect.objectContaining({ ruleId: 'GANTRY-TF-003', address: 'aws_iam_role.plan' }),
    );
  });

  test.each([
    ['an AWS access key id', { environment: [{ name: 'REGION_HINT', value: 'AKIAIOSFODNN7EXAMPLE' }] }],
    [
      'a password in a URL',
      { environment: [{ name: 'UPSTREAM', value: 'https://bob:s3cret@db.example.com' }] },
    ],
    ['a secret that is not a reference', { secrets: [{ name: 'DATABASE_URL', valueFrom: 'postgres://x' }] }],
  ])('SEC-001: %s in a container definition', (_name, overrides) => {
    const stack = policyStack((s) => taskDefinition(s, [container(overrides)]));
    expect(violations(stack)).toContainEqual(
      expect.objectContaining({
        ruleId: 'GANTRY-SEC-001',
        address: 'aws_ecs_task_definition.task-definition',
      }),
    );
  });

  test('IAM-008: the ECS Exec task-role actions that name no resource may have Resource "*"', () => {
    const exec = policyStack((s) =>
      identityPolicy(
        s,
        'exec',
        {
          Effect: 'Allow',
          Action: [
            'ssmmessages:CreateControlChannel',
            'ssmmessages:CreateDataChannel',
            'ssmmessages:OpenControlChannel',
            'ssmmessages:OpenDataChannel',
          ],
          Resource: '*',
        },
        { Effect: 'Allow', Action: 'logs:DescribeLogGroups', Resource: '*' },
      ),
    );
    expect(violations(exec)).toEqual([]);
    const wider = policyStack((s) =>
      identityPolicy(s, 'exec', {
        Effect: 'Allow',
        Action: ['ssmmessages:*', 'logs:PutLogEvents'],
        Resource: '*',
      }),
    );
    expect(violations(wider)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-IAM-008',
        found: expect.stringContaining('["ssmmessages:*","logs:PutLogEvents"]'),
      }),
    ]);
  });

  test.each([
    ['ELBSecurityPolicy-TLS13-1-2-2021-06', true],
    ['ELBSecurityPolicy-TLS13-1-3-2021-06', true],
    ['ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09', true],
    ['ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09', true],
    ['ELBSecurityPolicy-TLS-1-2-Ext-2018-06', true],
    ['ELBSecurityPolicy-FS-1-2-Res-2020-10', true],
    ['ELBSecurityPolicy-2016-08', false],
    ['ELBSecurityPolicy-TLS13-1-1-2021-06', false],
    ['ELBSecurityPolicy-TLS13-1-0-2021-06', false],
    ['ELBSecurityPolicy-TLS-1-1-2017-01', false],
    ['ELBSecurityPolicy-FS-2018-06', false],
    ['ELBSecurityPolicy-FS-1-1-2019-08', false],
  ])('ELB-001: HTTPS listener with %s passes: %s', (sslPolicy, passes) => {
    const stack = policyStack((s) => httpsListener(s, loadBalancer(s), { sslPolicy }));
    expect(violations(stack)).toEqual(
      passes
        ? []
        : [
            expect.objectContaining({
              ruleId: 'GANTRY-ELB-001',
              found: `HTTPS listener ssl_policy = "${sslPolicy}"`,
            }),
          ],
    );
  });

  test('ELB-001: an HTTPS or TLS listener without a security policy gets the TLS 1.0 default', () => {
    const stack = policyStack((s) => httpsListener(s, loadBalancer(s), { sslPolicy: undefined }));
    expect(violations(stack)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-ELB-001',
        found: expect.stringContaining('ELBSecurityPolicy-2016-08 (the default)'),
      }),
    ]);
  });

  test('ELB-001: an HTTP listener that forwards, and one without a protocol on an ALB', () => {
    const forwarding = policyStack((s) => httpListener(s, loadBalancer(s), false));
    expect(violations(forwarding)).toEqual([
      expect.objectContaining({
        ruleId: 'GANTRY-ELB-001',
        address: 'aws_lb_listener.http',
        found: 'HTTP listener default_action types ["forward"]',
      }),
    ]);
    const unset = policyStack((s) => {
      const lb = loadBalancer(s);
      new LbListener(s, 'plain', {
        loadBalancerArn: lb.arn,
        port: 8080,
        defaultAction: [{ type: 'fixed-response', fixedResponse: { contentType: 'text/plain' } }],
      });
    });
    expect(violations(unset)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ELB-001', address: 'aws_lb_listener.plain' }),
    ]);
  });

  test('ELB-001: a forwarding rule attached to the HTTP redirect listener', () => {
    const stack = policyStack((s) => {
      const lb = loadBalancer(s);
      const http = httpListener(s, lb);
      new LbListenerRule(s, 'sneaky', {
        listenerArn: http.arn,
        priority: 1,
        action: [
          {
            type: 'forward',
            targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/tg/1',
          },
        ],
        condition: [{ pathPattern: { values: ['/*'] } }],
      });
    });
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ELB-001', address: 'aws_lb_listener_rule.sneaky' }),
    ]);
  });

  test('ELB-001: an ALB that keeps invalid header fields or only monitors desync', () => {
    const stack = policyStack((s) =>
      loadBalancer(s, { dropInvalidHeaderFields: false, desyncMitigationMode: 'monitor' }),
    );
    expect(violations(stack).map((v) => [v.ruleId, v.found])).toEqual([
      ['GANTRY-ELB-001', 'drop_invalid_header_fields = false'],
      ['GANTRY-ELB-001', 'desync_mitigation_mode = "monitor"'],
    ]);
  });

  test('ELB-001: a network load balancer and its TCP listener are not HTTP', () => {
    const stack = policyStack((s) => {
      const nlb = loadBalancer(s, { loadBalancerType: 'network', dropInvalidHeaderFields: undefined });
      new LbListener(s, 'tcp', {
        loadBalancerArn: nlb.arn,
        port: 5432,
        defaultAction: [
          {
            type: 'forward',
            targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/db/1',
          },
        ],
      });
    });
    expect(violations(stack)).toEqual([]);
  });

  test('ELB-002: deletion protection unset is off', () => {
    const stack = policyStack((s) => loadBalancer(s, { enableDeletionProtection: undefined }));
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-ELB-002', found: 'enable_deletion_protection = false' }),
    ]);
  });

  test('SEC-002: Terraform debug logging in a CodeBuild project', () => {
    const stack = policyStack((s) =>
      compliantProject(s, {
        environment: {
          computeType: 'BUILD_GENERAL1_SMALL',
          image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
          type: 'LINUX_CONTAINER',
          environmentVariable: [{ name: 'TF_LOG', value: 'DEBUG' }],
        },
      }),
    );
    expect(violations(stack)).toEqual([
      expect.objectContaining({ ruleId: 'GANTRY-SEC-002', found: 'environment variable TF_LOG = "DEBUG"' }),
    ]);
  });
});

describe('GANTRY-RDS-001 details', () => {
  const ids = (build: (s: TerraformStack) => unknown) =>
    violations(policyStack((s) => void build(s))).map((v) => [v.ruleId, v.address, v.expected]);

  test('a literal master password, unencrypted storage and a public writer each break it', () => {
    expect(
      ids((s) => ledgerCluster(s, { manageMasterUserPassword: false, masterPassword: 'hunter2hunter2' })),
    ).toContainEqual(['GANTRY-RDS-001', 'aws_rds_cluster.ledger', 'manage_master_user_password = true']);
    expect(ids((s) => ledgerCluster(s, { storageEncrypted: false }))).toContainEqual([
      'GANTRY-RDS-001',
      'aws_rds_cluster.ledger',
      'storage_encrypted = true',
    ]);
    expect(ids((s) => ledgerCluster(s, {}, true))).toContainEqual([
      'GANTRY-RDS-001',
      'aws_rds_cluster_instance.ledger-writer',
      'publicly_accessible = false',
    ]);
  });
});
