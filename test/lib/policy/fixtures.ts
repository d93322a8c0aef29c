/**
 * Minimal stacks for the policy rules, built from raw provider resources (no Gantry construct), so
 * each test shows exactly what a rule reads.
 */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CodebuildProject, type CodebuildProjectConfig } from '@cdktf/provider-aws/lib/codebuild-project';
import { EcrRepository, type EcrRepositoryConfig } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { DATA_PLANE_READ_ACTIONS, PULL_REQUEST_DENIED_WRITES } from '../../../lib/core/data-plane';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack, Testing } from 'cdktf';
import type { Construct } from 'constructs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Policy } from '../../../lib/policy';
import type { PolicyFinding } from '../../../lib/policy';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1d0000-0000-4000-8000-000000000001`;
export const OIDC_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
export const IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/acme/api`;

/** A stack with a compliant AWS provider and the policy enforced. */
export function policyStack(build?: (stack: TerraformStack) => void): TerraformStack {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-policy-')) });
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: REGION, allowedAccountIds: [ACCOUNT] });
  Policy.enforce(stack);
  build?.(stack);
  return stack;
}

/** Every unsuppressed violation of the stack's final JSON. */
export function violations(stack: TerraformStack): PolicyFinding[] {
  return Policy.check(stack).violations.map((v) => ({ ...v }));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What synth with validations fails with: the rule id, then the address, on one line. */
export function violationLine(ruleId: string, address: string): RegExp {
  return new RegExp(`${escape(ruleId)} ${escape(address)}: found .+; expected .+`);
}

/** Synthesizes like `cdktf synth` validates (Testing.synth with validations) and returns the error. */
export function synthError(stack: TerraformStack): string {
  try {
    Testing.synth(stack, true);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return '';
}

/** A GitHub OIDC trust policy with the given conditions, as literal JSON. */
export function githubTrust(
  condition: Record<string, Record<string, string | string[]>>,
  extraStatements: object[] = [],
): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: OIDC_PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: condition,
      },
      ...extraStatements,
    ],
  });
}

export const AUD = { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' };

export function subject(sub: string | string[]): Record<string, string | string[]> {
  return { ...AUD, 'token.actions.githubusercontent.com:sub': sub };
}

/** A plan role trusted for the default branch of acme/platform. */
export function planRole(stack: TerraformStack, id = 'plan'): IamRole {
  return new IamRole(stack, id, {
    name: 'acme-dev-gh-plan',
    assumeRolePolicy: githubTrust({ StringEquals: subject('repo:acme/platform:ref:refs/heads/main') }),
    tags: { 'gantry:role': 'plan' },
  });
}

/**
 * A role pull requests of acme/platform can assume (`sub` is `sub`), with the Deny of data-plane reads and
 * object writes invariant 24 asks for unless `denies` is false.
 */
export function pullRequestRole(
  stack: TerraformStack,
  {
    id = 'plan-pr',
    sub = 'repo:acme/platform:pull_request',
    denies = true,
  }: { id?: string; sub?: string; denies?: boolean } = {},
): IamRole {
  const role = new IamRole(stack, id, {
    name: 'acme-dev-gh-plan-pr',
    assumeRolePolicy: githubTrust({ [sub.includes('*') ? 'StringLike' : 'StringEquals']: subject(sub) }),
    tags: { 'gantry:role': 'plan' },
  });
  if (denies) {
    new IamRolePolicy(stack, `${id}-deny`, {
      role: role.name,
      policy: policyJson(
        { Sid: 'DenyDataPlaneReads', Effect: 'Deny', Action: [...DATA_PLANE_READ_ACTIONS], Resource: '*' },
        { Sid: 'DenyObjectWrites', Effect: 'Deny', Action: [...PULL_REQUEST_DENIED_WRITES], Resource: '*' },
      ),
    });
  }
  return role;
}

/** An apply role trusted for `environment:prod` only. */
export function applyRole(
  stack: TerraformStack,
  id = 'apply',
  sub = 'repo:acme/platform:environment:prod',
): IamRole {
  return new IamRole(stack, id, {
    name: 'acme-prod-gh-apply',
    assumeRolePolicy: githubTrust({ StringEquals: subject(sub) }),
    maxSessionDuration: 3600,
    tags: { 'gantry:role': 'apply' },
  });
}

/** A role for an AWS service. */
export function serviceRole(stack: TerraformStack, id: string, service = 'ecs-tasks.amazonaws.com'): IamRole {
  return new IamRole(stack, id, {
    name: `acme-${id}`,
    assumeRolePolicy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
    }),
  });
}

export function policyJson(...statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** AWS's default key policy plus CloudWatch Logs of the account, as EnvironmentKey writes it. */
export function keyPolicy(...extra: object[]): string {
  return policyJson(
    {
      Sid: 'AccountAdministersThroughIam',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      Sid: 'CloudWatchLogs',
      Effect: 'Allow',
      Principal: { Service: `logs.${REGION}.amazonaws.com` },
      Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:GenerateDataKey*'],
      Resource: '*',
    },
    ...extra,
  );
}

export function compliantKey(stack: TerraformStack, id = 'key'): KmsKey {
  return new KmsKey(stack, id, {
    enableKeyRotation: true,
    policy: keyPolicy(),
    lifecycle: { preventDestroy: true },
  });
}

export function compliantRepository(
  stack: Construct,
  id = 'repo',
  override: Partial<EcrRepositoryConfig> = {},
): EcrRepository {
  return new EcrRepository(stack, id, {
    name: 'acme/api',
    imageTagMutability: 'IMMUTABLE',
    imageScanningConfiguration: { scanOnPush: true },
    encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: KEY_ARN }],
    lifecycle: { preventDestroy: true },
    ...override,
  });
}

export function compliantLogGroup(stack: TerraformStack, id = 'logs'): CloudwatchLogGroup {
  return new CloudwatchLogGroup(stack, id, {
    name: `/acme/${id}`,
    kmsKeyId: KEY_ARN,
    retentionInDays: 30,
    lifecycle: { preventDestroy: true },
  });
}

/** A container definition that holds rule 12 and rule 22. */
export function container(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'api',
    image: IMAGE + ':${var.image_tag_api}',
    essential: true,
    readonlyRootFilesystem: true,
    environment: [{ name: 'LOG_LEVEL', value: 'info' }],
    secrets: [
      {
        name: 'DATABASE_URL',
        valueFrom: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:acme/dev/database-url`,
      },
    ],
    ...overrides,
  };
}

export function taskDefinition(
  stack: TerraformStack,
  containers: Array<Record<string, unknown>> = [container()],
  extra: { pidMode?: string; sameRoles?: boolean } = {},
): EcsTaskDefinition {
  const execution = serviceRole(stack, 'execution');
  const task = extra.sameRoles ? execution : serviceRole(stack, 'task');
  return new EcsTaskDefinition(stack, 'task-definition', {
    family: 'acme-api',
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: '512',
    memory: '1024',
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/${execution.name}`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/${task.name}`,
    containerDefinitions: JSON.stringify(containers),
    ...(extra.pidMode ? { pidMode: extra.pidMode } : {}),
  });
}

export function compliantProject(
  stack: TerraformStack,
  override: Partial<CodebuildProjectConfig> = {},
): CodebuildProject {
  const logs = compliantLogGroup(stack, 'build-logs');
  const role = serviceRole(stack, 'build-role', 'codebuild.amazonaws.com');
  return new CodebuildProject(stack, 'project', {
    name: 'acme-dev-deploy',
    serviceRole: `arn:aws:iam::${ACCOUNT}:role/${role.name}`,
    encryptionKey: KEY_ARN,
    artifacts: { type: 'NO_ARTIFACTS' },
    environment: {
      computeType: 'BUILD_GENERAL1_SMALL',
      image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
      type: 'LINUX_CONTAINER',
    },
    source: {
      type: 'NO_SOURCE',
      buildspec: 'version: 0.2\nphases:\n  build:\n    commands:\n      - gantry plan\n',
    },
    logsConfig: { cloudwatchLogs: { groupName: logs.name, status: 'ENABLED' } },
    ...override,
  });
}
