/**
 * A shared tooling account: one bootstrap stack (`<name>-bootstrap`) whose state bucket keeps the state of
 * every environment that says `bootstrap: { shared: true }`, instead of a bucket per environment account.
 * The bucket and its key admit the tooling account and, of each sharing environment's account, exactly
 * the roles that read or write that environment's state (`sharedStateRoles`).
 */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import { accountIdProblem, regionProblem } from '../core/identifiers';
import {
  applyRoleName,
  bootstrapStackId,
  deployBuildRoleName,
  planRoleName,
  pullRequestPlanRoleName,
  roleArn,
} from '../core/naming';
import { plansPullRequests } from './approval';
import { bootstrapProblems, type BootstrapConfig } from './bootstrap';
import type { EnvironmentConfig } from './environment';
import { validateNetwork, type NetworkConfig } from './network';
import { stateKey, type S3StateBackendConfig } from './state';

export interface ToolingAccountConfig {
  /**
   * Lower-case name like an environment's (`^[a-z][a-z0-9-]{1,30}$`), unlike any environment's: the
   * stack is `<name>-bootstrap`, the bucket `<org>-<name>-tfstate-<account>`.
   */
  readonly name: string;
  /** The tooling AWS account, 12 digits. */
  readonly accountId: string;
  /** Its region: the bucket's, and the region of every sharing environment's S3 backend. */
  readonly region: string;
  /** The state bucket's settings and, optionally, a ledger database in the tooling account. @default defaults, no ledger */
  readonly bootstrap?: Omit<BootstrapConfig, 'shared'>;
  /** The VPC of the ledger database; needed with `bootstrap.ledger`. @default none */
  readonly network?: NetworkConfig;
}

const TOOLING_NAME = /^[a-z][a-z0-9-]{1,30}$/;

/** The environments whose state lives in the tooling account's bucket (`bootstrap.shared`), in order. */
export function sharingEnvironments(environments: readonly EnvironmentConfig[]): EnvironmentConfig[] {
  return environments.filter((e) => e.bootstrap?.shared === true);
}

/** The state objects of an environment's stacks in a shared bucket: each key and its lock. */
export interface SharedStateRoles {
  readonly environment: string;
  readonly accountId: string;
  /** The state keys of its stacks (`<env>-foundation`, `<env>-services`) in the shared bucket; locks are `<key>.tflock`. */
  readonly stateKeys: readonly string[];
  /** Roles that read the state: the plan role(s), the apply role, the deploy project's role. */
  readonly readers: readonly string[];
  /** Roles that take and release the lock: the default-branch plan role and the writers. */
  readonly lockers: readonly string[];
  /** Roles that write the state: the apply role and the deploy project's role. */
  readonly writers: readonly string[];
}

/**
 * The roles of a sharing environment's account that need its state, computed from the naming helpers (the
 * roles `<env>-foundation` creates): the plan role, the pull-request plan role when pull requests are
 * planned (it reads, never locks), the apply role, and the deploy project's role when there is one.
 */
export function sharedStateRoles(
  org: string,
  env: EnvironmentConfig,
  backend: S3StateBackendConfig,
): SharedStateRoles {
  const arn = (name: string) => roleArn(env.accountId, env.region, name);
  const writers = [
    arn(applyRoleName(org, env.name)),
    ...(env.runners?.deploy ? [arn(deployBuildRoleName(org, env.name))] : []),
  ];
  const plan = arn(planRoleName(org, env.name));
  const pullRequests = plansPullRequests(env.approval) ? [arn(pullRequestPlanRoleName(org, env.name))] : [];
  return {
    environment: env.name,
    accountId: env.accountId,
    stateKeys: [`${env.name}-foundation`, `${env.name}-services`].map((id) => stateKey(id, backend)),
    readers: [plan, ...pullRequests, ...writers],
    lockers: [plan, ...writers],
    writers,
  };
}

/**
 * Every problem of `tooling` and of the environments that share its bucket: under `tooling.` and
 * `<env>.bootstrap.shared`. A sharing environment needs a tooling account; the tooling name must be no
 * environment's (the stack ids `<name>-bootstrap` would clash).
 */
export function validateTooling(
  tooling: ToolingAccountConfig | undefined,
  environments: readonly EnvironmentConfig[],
  organization: string,
  problems: ProblemList,
): void {
  const sharing = sharingEnvironments(environments);
  if (tooling === undefined) {
    for (const env of sharing) {
      problems.add(
        `${env.name}.bootstrap.shared`,
        'true, but the configuration has no tooling account: add tooling: { name, accountId, region } or give the environment its own bucket (bootstrap: {})',
      );
    }
    return;
  }
  if (typeof tooling !== 'object' || tooling === null) {
    problems.add(
      'tooling',
      `${show(tooling)} is not a tooling account ({ name, accountId, region, bootstrap? })`,
    );
    return;
  }
  const named = problems.check(
    typeof tooling.name === 'string' && TOOLING_NAME.test(tooling.name),
    'tooling.name',
    `${show(tooling.name)} must match ${TOOLING_NAME} (lower-case letter first, then 1-30 lower-case letters, digits or '-')`,
  );
  const envNames = environments.map((e) => e?.name);
  if (named) {
    problems.check(
      !envNames.includes(tooling.name),
      'tooling.name',
      `${show(tooling.name)} is also an environment's name; the stack ${bootstrapStackId(tooling.name)} would be both's: names allowed are any but ${envNames.map((n) => show(n)).join(', ')}`,
    );
  }
  problems.addIf('tooling.accountId', accountIdProblem(tooling.accountId));
  problems.addIf('tooling.region', regionProblem(tooling.region));
  const bootstrap = tooling.bootstrap ?? {};
  if (named && accountIdProblem(tooling.accountId) === undefined) {
    problems.addAll(
      'tooling.bootstrap',
      (bootstrap as BootstrapConfig).shared !== undefined
        ? [
            {
              field: 'shared',
              message: `${show((bootstrap as BootstrapConfig).shared)}: the tooling account's bucket is the shared one; remove shared`,
            },
          ]
        : bootstrapProblems(bootstrap, organization, tooling),
    );
  }
  if (tooling.network !== undefined) validateNetwork(tooling.network, 'tooling.network', problems);
  else
    problems.check(
      bootstrap.ledger === undefined,
      'tooling.network',
      'undefined, but tooling.bootstrap.ledger needs the VPC and private subnets of the tooling account ({ vpcId, privateSubnetIds } or { fromSsm: { prefix } })',
    );
}
