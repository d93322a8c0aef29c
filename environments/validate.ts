import { GantryConfigError, ProblemList, show } from '../lib/core/errors';
import { executionRoleName, taskRoleName } from '../lib/core/naming';
import { loadBalancerSettingsProblems } from '../lib/service/private/load-balancer-settings';
import {
  AWS_REGIONS,
  FARGATE_MEMORY_BY_CPU,
  fargateMemoryOptions,
  LOG_RETENTION_DAYS,
} from '../lib/core/aws-limits';

export { LOG_RETENTION_DAYS };
import type {
  ApprovalConfig,
  CreatedLoadBalancerConfig,
  EnvironmentConfig,
  ExistingLoadBalancerConfig,
  GantryConfig,
  NetworkConfig,
  OrganizationConfig,
  ServiceConfig,
} from './types';

/** Environment names: also stack-id prefixes and IAM role name parts. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{1,30}$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const ORG_NAME = /^[a-z][a-z0-9-]{0,20}$/;
const ACCOUNT_ID = /^\d{12}$/;
/** GitHub owner and repository names: no wildcard can pass this. */
const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const GITHUB_REPO = /^[A-Za-z0-9._-]{1,100}$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** GitHub allows at most 6 reviewers (users and teams together) per environment. */
export const MAX_REVIEWERS = 6;
const MAX_WAIT_TIMER_MINUTES = 43200;

/**
 * Checks the whole configuration and throws one `GantryConfigError` listing every problem, each as
 * `<path>: <bad value>, <what is allowed>`. Runs before any construct is created, so a bad config
 * fails synth with nothing written.
 */
export function validateConfig(config: GantryConfig): void {
  const problems = new ProblemList();
  validateOrganization(config.organization, problems);
  if (
    problems.check(
      config.environments.length > 0,
      'environments',
      'no environment given, at least one is needed',
    )
  ) {
    const seen = new Set<string>();
    config.environments.forEach((env, i) => {
      const path = `environments[${i}]${typeof env.name === 'string' ? ` (${env.name})` : ''}`;
      if (seen.has(env.name))
        problems.add(`${path}.name`, `duplicate environment name ${show(env.name)}, names must be unique`);
      seen.add(env.name);
      validateEnvironment(env, config.organization, problems);
    });
  }
  problems.throwIfAny();
}

function validateOrganization(org: OrganizationConfig, problems: ProblemList): void {
  problems.check(ORG_NAME.test(org.name), 'organization.name', `${show(org.name)} must match ${ORG_NAME}`);
  const gh = org.github;
  const parts = typeof gh.repository === 'string' ? gh.repository.split('/') : [];
  problems.check(
    parts.length === 2 &&
      GITHUB_OWNER.test(parts[0]) &&
      GITHUB_REPO.test(parts[1]) &&
      !/^\.+$/.test(parts[1]),
    'organization.github.repository',
    `${show(gh.repository)} is not of the form owner/name (letters, digits, '-', and for the name also '.' and '_'; no wildcards)`,
  );
  problems.check(
    typeof gh.defaultBranch === 'string' && gh.defaultBranch.length > 0 && !/[*?\s]/.test(gh.defaultBranch),
    'organization.github.defaultBranch',
    `${show(gh.defaultBranch)} must be a branch name without wildcards or spaces`,
  );
  for (const key of ['ownerId', 'repositoryId'] as const) {
    const value = gh[key];
    if (value !== undefined) {
      problems.check(
        Number.isSafeInteger(value) && value > 0,
        `organization.github.${key}`,
        `${show(value)} must be a positive integer`,
      );
    }
  }
  const format = gh.subjectFormat ?? 'name';
  if (
    problems.check(
      ['name', 'id', 'name-and-id'].includes(format),
      'organization.github.subjectFormat',
      `${show(format)} is not one of "name", "id", "name-and-id"`,
    )
  ) {
    if (format !== 'name') {
      problems.check(
        gh.ownerId !== undefined && gh.repositoryId !== undefined,
        'organization.github.subjectFormat',
        `${show(format)} needs organization.github.ownerId and organization.github.repositoryId`,
      );
    }
  }
}

function validateEnvironment(env: EnvironmentConfig, org: OrganizationConfig, problems: ProblemList): void {
  const at = (field: string) => `${env.name}.${field}`;
  problems.check(
    typeof env.name === 'string' && ENVIRONMENT_NAME.test(env.name),
    at('name'),
    `${show(env.name)} must match ${ENVIRONMENT_NAME} (lower-case letter first, then 1-30 lower-case letters, digits or '-')`,
  );
  problems.check(
    ACCOUNT_ID.test(String(env.accountId)) && typeof env.accountId === 'string',
    at('accountId'),
    `${show(env.accountId)} is not a 12-digit AWS account id`,
  );
  problems.check(
    AWS_REGIONS.has(env.region),
    at('region'),
    `${show(env.region)} is not an AWS region (e.g. "eu-west-1", "us-east-1")`,
  );
  validateApproval(env, problems);
  validateDeploymentBranches(env, problems);
  validateRunners(env, problems);
  validateNetwork(env.network, at('network'), problems);
  validateLoadBalancer(env, org, problems);
  if (env.logRetentionDays !== undefined) {
    problems.check(
      LOG_RETENTION_DAYS.has(env.logRetentionDays),
      at('logRetentionDays'),
      `${show(env.logRetentionDays)} is not a CloudWatch retention (one of ${[...LOG_RETENTION_DAYS].join(', ')})`,
    );
  }
  for (const id of env.registry?.pullAccountIds ?? []) {
    problems.check(
      ACCOUNT_ID.test(id),
      at('registry.pullAccountIds'),
      `${show(id)} is not a 12-digit AWS account id`,
    );
  }
  for (const key of ['keepReleaseTags', 'untaggedExpiryDays'] as const) {
    const value = env.registry?.[key];
    if (value !== undefined) {
      problems.check(
        Number.isInteger(value) && value >= 1 && value <= 10000,
        at(`registry.${key}`),
        `${show(value)} must be an integer from 1 to 10000`,
      );
    }
  }
  const backends = [env.stateBackend, org.githubStateBackend];
  for (const backend of backends) {
    if (backend && backend === env.stateBackend) {
      problems.check(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(backend.bucket),
        at('stateBackend.bucket'),
        `${show(backend.bucket)} is not an S3 bucket name`,
      );
      if (backend.region !== undefined) {
        problems.check(
          AWS_REGIONS.has(backend.region),
          at('stateBackend.region'),
          `${show(backend.region)} is not an AWS region`,
        );
      }
    }
  }

  const names = new Set<string>();
  const priorities = new Map<number, string>();
  env.services.forEach((service, i) => {
    const path = at(`services[${i}]`);
    if (names.has(service.name))
      problems.add(
        `${path}.name`,
        `duplicate service name ${show(service.name)}, names must be unique in an environment`,
      );
    names.add(service.name);
    validateService(service, path, problems);
    for (const roleName of [taskRoleName, executionRoleName]) {
      try {
        roleName(org.name, env.name, service.name);
      } catch (error) {
        if (!(error instanceof GantryConfigError)) throw error;
        problems.add(`${path}.name`, error.problems.join('; '));
      }
    }
    const priority = service.routing?.priority;
    if (priority !== undefined) {
      const other = priorities.get(priority);
      if (other !== undefined) {
        problems.add(
          `${path}.routing.priority`,
          `${priority} is already used by service ${show(other)}, listener rule priorities must be unique`,
        );
      }
      priorities.set(priority, service.name);
    }
    if (service.port !== undefined && env.loadBalancer === undefined) {
      problems.add(
        `${path}.port`,
        `service ${show(service.name)} has a port but ${env.name}.loadBalancer is not set`,
      );
    }
  });
}

function validateApproval(env: EnvironmentConfig, problems: ProblemList): void {
  const at = (field: string) => `${env.name}.approval.${field}`;
  const approval: ApprovalConfig = env.approval;
  const required = approval.requiredApprovals;
  if (
    !problems.check(
      Number.isInteger(required) && required >= 0 && required <= 6,
      at('requiredApprovals'),
      `${show(required)} must be an integer from 0 to 6`,
    )
  ) {
    return;
  }
  const groups = approval.reviewerGroups ?? [];
  if (env.production && required === 0) {
    const reason = approval.optOut?.reason?.trim() ?? '';
    problems.check(
      reason.length >= 10,
      at('requiredApprovals'),
      `0 for production environment ${show(env.name)}; require at least 1 approval, or set approval.optOut.reason (10+ characters) to say why not`,
    );
  }
  if (required > 0) {
    problems.check(
      groups.length >= required,
      at('reviewerGroups'),
      `${groups.length} group(s) given for ${required} required approval(s); give one disjoint reviewer group per approval`,
    );
  }
  groups.forEach((group, g) => {
    const count =
      (group.teams?.length ?? 0) +
      (group.users?.length ?? 0) +
      (group.teamIds?.length ?? 0) +
      (group.userIds?.length ?? 0);
    problems.check(
      count <= MAX_REVIEWERS,
      at(`reviewerGroups[${g}]`),
      `${count} reviewers given, GitHub allows at most ${MAX_REVIEWERS}`,
    );
    problems.check(
      count >= 1,
      at(`reviewerGroups[${g}]`),
      'empty reviewer group, give at least one team or user',
    );
  });
  // In a chain of gates, each gate must be approved by someone else: overlapping groups would let one
  // person approve twice.
  const owner = new Map<string, number>();
  groups.forEach((group, g) => {
    const members = [
      ...(group.teams ?? []).map((t) => `team ${t}`),
      ...(group.users ?? []).map((u) => `user ${u}`),
      ...(group.teamIds ?? []).map((t) => `team id ${t}`),
      ...(group.userIds ?? []).map((u) => `user id ${u}`),
    ];
    for (const member of members) {
      const first = owner.get(member.toLowerCase());
      if (first !== undefined && first !== g) {
        problems.add(
          at(`reviewerGroups[${g}]`),
          `${member} is also in reviewerGroups[${first}]; reviewer groups of a chain must be disjoint`,
        );
      }
      owner.set(member.toLowerCase(), g);
    }
  });
  const wait = approval.waitTimerMinutes;
  if (wait !== undefined) {
    problems.check(
      Number.isInteger(wait) && wait >= 0 && wait <= MAX_WAIT_TIMER_MINUTES,
      at('waitTimerMinutes'),
      `${show(wait)} must be an integer from 0 to ${MAX_WAIT_TIMER_MINUTES}`,
    );
  }
}

function validateNetwork(network: NetworkConfig, path: string, problems: ProblemList): void {
  if ('fromSsm' in network) {
    problems.check(
      /^\/[A-Za-z0-9_./-]*\/$/.test(network.fromSsm.prefix),
      `${path}.fromSsm.prefix`,
      `${show(network.fromSsm.prefix)} must start and end with "/"`,
    );
    return;
  }
  problems.check(
    /^vpc-[0-9a-f]{8,17}$/.test(network.vpcId),
    `${path}.vpcId`,
    `${show(network.vpcId)} is not a VPC id (vpc-0123456789abcdef0)`,
  );
  problems.check(
    network.privateSubnetIds.length >= 1,
    `${path}.privateSubnetIds`,
    'no subnet given, at least one private subnet is needed',
  );
  for (const id of network.privateSubnetIds) {
    problems.check(
      /^subnet-[0-9a-f]{8,17}$/.test(id),
      `${path}.privateSubnetIds`,
      `${show(id)} is not a subnet id (subnet-0123456789abcdef0)`,
    );
  }
}

/**
 * Exactly one form of `loadBalancer`: an existing listener (`listenerArn` and `securityGroupId`), or
 * `create`, whose settings are checked like the `ApplicationLoadBalancer` construct checks them, with
 * the certificate in the environment's account and region.
 */
function validateLoadBalancer(env: EnvironmentConfig, org: OrganizationConfig, problems: ProblemList): void {
  const lb = env.loadBalancer as
    (Partial<ExistingLoadBalancerConfig> & Partial<CreatedLoadBalancerConfig>) | undefined;
  if (lb === undefined) return;
  const path = `${env.name}.loadBalancer`;
  const existing = lb.listenerArn !== undefined || lb.securityGroupId !== undefined;
  if (lb.create === undefined) {
    problems.check(
      typeof lb.listenerArn === 'string' && typeof lb.securityGroupId === 'string',
      path,
      'give listenerArn and securityGroupId (an existing HTTPS listener), or create: { subnetIds, certificateArn } (a load balancer Gantry creates)',
    );
    return;
  }
  if (existing) {
    problems.add(
      path,
      'gives both create and listenerArn/securityGroupId; give one form: create (Gantry creates the load balancer) or listenerArn and securityGroupId (an existing listener)',
    );
  }
  for (const { field, message } of loadBalancerSettingsProblems(lb.create, env)) {
    problems.add(`${path}.create.${field}`, message);
  }
  const name = `${org.name}-${env.name}`;
  problems.check(
    !name.startsWith('internal-'),
    `${path}.create`,
    `the load balancer would be named ${show(name)}, and ELB reserves names starting with "internal-"; rename the organization`,
  );
}

function validateService(service: ServiceConfig, path: string, problems: ProblemList): void {
  problems.check(
    SERVICE_NAME.test(service.name),
    `${path}.name`,
    `${show(service.name)} must match ${SERVICE_NAME}`,
  );
  if (
    problems.check(
      FARGATE_MEMORY_BY_CPU.has(service.cpu),
      `${path}.cpu`,
      `${show(service.cpu)} is not a Fargate CPU size (one of ${[...FARGATE_MEMORY_BY_CPU.keys()].join(', ')})`,
    )
  ) {
    const allowed = fargateMemoryOptions(service.cpu);
    problems.check(
      allowed.includes(service.memoryMiB),
      `${path}.memoryMiB`,
      `${show(service.memoryMiB)} MiB is not accepted by Fargate with cpu ${service.cpu} (allowed: ${describeMemory(service.cpu)})`,
    );
  }
  if (service.port !== undefined) {
    problems.check(
      Number.isInteger(service.port) && service.port >= 1 && service.port <= 65535,
      `${path}.port`,
      `${show(service.port)} is outside 1..65535`,
    );
    problems.check(
      service.routing !== undefined,
      `${path}.routing`,
      `service ${show(service.name)} has a port but no routing (priority and host headers or path patterns)`,
    );
  }
  if (service.healthCheckPath !== undefined) {
    problems.check(
      service.healthCheckPath.startsWith('/'),
      `${path}.healthCheckPath`,
      `${show(service.healthCheckPath)} must start with "/"`,
    );
    problems.check(
      service.port !== undefined,
      `${path}.healthCheckPath`,
      `service ${show(service.name)} has no port (a worker), so it cannot have a load-balancer health check`,
    );
  }
  if (service.imageTag === 'latest') {
    problems.add(
      `${path}.imageTag`,
      '"latest" is mutable and cannot be rolled back to; use an immutable release tag such as "v1.4.0"',
    );
  } else {
    problems.check(
      IMAGE_TAG.test(service.imageTag),
      `${path}.imageTag`,
      `${show(service.imageTag)} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`,
    );
  }
  const desired = service.desiredCount ?? 2;
  problems.check(
    Number.isInteger(desired) && desired >= 0 && desired <= 1000,
    `${path}.desiredCount`,
    `${show(desired)} must be an integer from 0 to 1000`,
  );
  if (service.autoscaling) {
    const { minCount, maxCount } = service.autoscaling;
    problems.check(
      Number.isInteger(minCount) && minCount >= 0,
      `${path}.autoscaling.minCount`,
      `${show(minCount)} must be a non-negative integer`,
    );
    problems.check(
      Number.isInteger(maxCount) && maxCount >= Math.max(1, minCount),
      `${path}.autoscaling.maxCount`,
      `${show(maxCount)} must be an integer >= minCount (${minCount}) and >= 1`,
    );
  }
  if (service.alarms) {
    validateAlarms(service, path, problems);
  }
  if (service.enableExecuteCommand !== undefined) {
    problems.check(
      typeof service.enableExecuteCommand === 'boolean',
      `${path}.enableExecuteCommand`,
      `${show(service.enableExecuteCommand)} must be true or false`,
    );
  }
  if (service.routing) {
    const { priority, hostHeaders = [], pathPatterns = [] } = service.routing;
    problems.check(
      service.port !== undefined,
      `${path}.routing`,
      `service ${show(service.name)} has routing but no port`,
    );
    problems.check(
      Number.isInteger(priority) && priority >= 1 && priority <= 50000,
      `${path}.routing.priority`,
      `${show(priority)} must be an integer from 1 to 50000`,
    );
    problems.check(
      hostHeaders.length + pathPatterns.length > 0,
      `${path}.routing`,
      'give hostHeaders or pathPatterns (or both)',
    );
    for (const p of pathPatterns) {
      problems.check(p.startsWith('/'), `${path}.routing.pathPatterns`, `${show(p)} must start with "/"`);
    }
  }
}

function validateAlarms(service: ServiceConfig, path: string, problems: ProblemList): void {
  const alarms = service.alarms ?? {};
  problems.check(
    service.port !== undefined,
    `${path}.alarms`,
    `service ${show(service.name)} has no port (a worker), so it has no load-balancer alarms`,
  );
  if (alarms.errorRatePercent !== undefined) {
    const v = alarms.errorRatePercent;
    problems.check(
      Number.isFinite(v) && v > 0 && v <= 100,
      `${path}.alarms.errorRatePercent`,
      `${show(v)} must be a percentage above 0 and at most 100`,
    );
  }
  if (alarms.latencyP90Seconds !== undefined) {
    const v = alarms.latencyP90Seconds;
    problems.check(
      Number.isFinite(v) && v > 0,
      `${path}.alarms.latencyP90Seconds`,
      `${show(v)} must be a number of seconds above 0`,
    );
  }
  for (const key of ['errorRateMinutes', 'latencyMinutes'] as const) {
    const v = alarms[key];
    if (v !== undefined) {
      problems.check(
        Number.isInteger(v) && v >= 1 && v <= 1440,
        `${path}.alarms.${key}`,
        `${show(v)} must be an integer from 1 to 1440 (CloudWatch evaluates at most one day)`,
      );
    }
  }
}

function describeMemory(cpu: number): string {
  const options = fargateMemoryOptions(cpu);
  return options.length <= 4
    ? options.join(', ')
    : `${options[0]}..${options[options.length - 1]} in steps of ${options[1] - options[0]}`;
}

const CONNECTION_ARN =
  /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;
const LEDGER_SECRET_ARN =
  /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+)$/;

const GITHUB_TOKEN_SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** An environment's deployment branch policy must name at least one ref (an empty one would let none, or all, deploy). */
function validateDeploymentBranches(env: EnvironmentConfig, problems: ProblemList): void {
  const branches = env.deploymentBranches;
  if (!branches || 'protectedBranches' in branches) return;
  const refs = [...(branches.branches ?? []), ...(branches.tags ?? [])];
  problems.check(
    refs.length > 0,
    `${env.name}.deploymentBranches`,
    'no branch or tag pattern given; name at least one (e.g. branches: ["main"]) or use { protectedBranches: true }',
  );
  for (const ref of refs) {
    problems.check(
      typeof ref === 'string' && ref.trim() !== '' && ref !== '*' && ref !== '**',
      `${env.name}.deploymentBranches`,
      `${show(ref)} would let any ref deploy; name the branches or tags`,
    );
  }
}

/**
 * CodeBuild runner settings: connection and ledger-secret ARNs, timeout, privileged mode only with a
 * reason; a deploy project of an environment needing N >= 2 approvals needs the GitHub token secret
 * with which its build verifies them.
 */
function validateRunners(env: EnvironmentConfig, problems: ProblemList): void {
  const at = (field: string) => `${env.name}.runners.${field}`;
  const { githubActions, deploy } = env.runners ?? {};
  for (const [name, runner] of [
    ['githubActions', githubActions],
    ['deploy', deploy],
  ] as const) {
    if (!runner) continue;
    problems.check(
      CONNECTION_ARN.test(runner.connectionArn),
      at(`${name}.connectionArn`),
      `${show(runner.connectionArn)} is not a CodeConnections ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)`,
    );
  }
  if (githubActions?.privileged) {
    problems.check(
      (githubActions.privileged.reason ?? '').trim().length >= 10,
      at('githubActions.privileged.reason'),
      'privileged mode needs a reason of 10+ characters (e.g. "builds container images with Docker")',
    );
  }
  if (deploy) {
    problems.check(
      LEDGER_SECRET_ARN.test(deploy.ledgerUrlSecretArn),
      at('deploy.ledgerUrlSecretArn'),
      'is not a Secrets Manager secret ARN or SSM parameter ARN; the ledger URL is read at build time, never given as a literal',
    );
    const token = deploy.githubTokenSecretArn;
    if (token === undefined || token === '') {
      problems.check(
        env.approval.requiredApprovals < 2,
        at('deploy.githubTokenSecretArn'),
        `not given, but ${env.name} requires ${env.approval.requiredApprovals} approvals: the deploy build verifies them on the GitHub run that started it, ` +
          "with a token that can read the repository's Actions runs; give its Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
      );
    } else {
      problems.check(
        GITHUB_TOKEN_SECRET_ARN.test(token),
        at('deploy.githubTokenSecretArn'),
        `${token.startsWith('arn:') ? show(token) : '(value not shown)'} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); the token is read at build time, never given as a literal`,
      );
    }
    const timeout = deploy.timeoutMinutes;
    if (timeout !== undefined) {
      problems.check(
        Number.isInteger(timeout) && timeout >= 5 && timeout <= 2160,
        at('deploy.timeoutMinutes'),
        `${show(timeout)} must be an integer from 5 to 2160 (CodeBuild's limits)`,
      );
    }
  }
}
