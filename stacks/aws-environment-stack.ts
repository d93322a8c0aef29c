import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LocalBackend, S3Backend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import {
  resolveStateBackend,
  stateKey,
  validateEnvironment,
  validateOrganization,
  type BootstrapAccount,
  type EnvironmentConfig,
  type OrganizationConfig,
  type S3StateBackendConfig,
  type ToolingAccountConfig,
} from '../lib/config';
import { ProblemList } from '../lib/core/errors';
import { environmentChain } from '../lib/core/naming';
import { recordStackFacts } from '../lib/core/record-stack-facts';
import type { StackServiceFacts } from '../lib/core/stack-facts';

export interface AwsEnvironmentStackProps {
  readonly organization: OrganizationConfig;
  readonly environment: EnvironmentConfig;
  /**
   * The shared tooling account (`GantryConfig.tooling`): with `bootstrap: { shared: true }` the stack's
   * state is in its bucket. @default none (required with `bootstrap.shared`)
   */
  readonly tooling?: ToolingAccountConfig;
}

/**
 * A stack in one environment's AWS account: its provider refuses any other account
 * (`allowed_account_ids`) and tags everything it creates; its state is local unless the environment
 * names a state bucket (or has a bootstrap stack, whose bucket it then uses), then S3 with a lock file
 * and encryption. The organisation and environment are
 * validated here too (`createStacks` validates the whole configuration first), so a stack built directly
 * from an unchecked configuration fails the same way. The stack records its facts for the runtime:
 * `kind`, the environment and its approval chain, and `services` (image-tag variables).
 */
export abstract class AwsEnvironmentStack extends TerraformStack {
  public readonly organization: OrganizationConfig;
  public readonly environment: EnvironmentConfig;

  constructor(
    scope: Construct,
    id: string,
    props: AwsEnvironmentStackProps,
    facts: {
      readonly kind: string;
      readonly services?: readonly StackServiceFacts[];
      /** Keep this stack's state local whatever the environment's backend (the bootstrap stack). */
      readonly localState?: boolean;
    },
  ) {
    super(scope, id);
    const problems = new ProblemList();
    validateOrganization(props.organization, problems);
    validateEnvironment(props.environment, props.organization?.name ?? '', problems);
    problems.throwIfAny();
    this.organization = props.organization;
    this.environment = props.environment;
    const env = props.environment;
    addAccountProvider(this, id, env, props.organization.github.repository);
    configureBackend(
      this,
      id,
      facts.localState ? undefined : resolveStateBackend(props.organization.name, env, props.tooling),
      env.region,
    );
    recordEnvironmentFacts(this, props.organization, env, facts.kind, facts.services ?? []);
  }
}

/** Records the facts of a stack of one environment: its kind, account, approval chain and services. */
export function recordEnvironmentFacts(
  stack: TerraformStack,
  organization: OrganizationConfig,
  env: EnvironmentConfig,
  kind: string,
  services: readonly StackServiceFacts[] = [],
): void {
  const required = env.approval.requiredApprovals;
  recordStackFacts(stack, {
    kind,
    repository: organization.github.repository,
    defaultBranch: organization.github.defaultBranch,
    environment: env.name,
    accountId: env.accountId,
    production: env.production ?? false,
    requiredApprovals: required,
    approvalEnvironments: environmentChain(env.name, required),
    services,
  });
}

/**
 * The AWS provider of a stack in one account: it refuses any other account (`allowed_account_ids`) and
 * tags everything with the account's name (`environment`), the repository and the stack.
 */
export function addAccountProvider(
  stack: TerraformStack,
  stackId: string,
  account: BootstrapAccount,
  repository: string,
): AwsProvider {
  return new AwsProvider(stack, 'aws', {
    region: account.region,
    allowedAccountIds: [account.accountId],
    defaultTags: [
      {
        tags: {
          environment: account.name,
          'managed-by': 'gantry',
          repository,
          'gantry:stack': stackId,
        },
      },
    ],
  });
}

/**
 * The stack's state backend: S3 when configured, otherwise a local file under the project's
 * `.gantry/state/` (relative to the stack's directory `cdktf.out/stacks/<id>/`, so the synthesized
 * JSON names no machine path and the state survives a re-synth).
 */
export function configureBackend(
  stack: TerraformStack,
  stackId: string,
  backend: S3StateBackendConfig | undefined,
  defaultRegion: string,
): void {
  if (backend) {
    configureS3Backend(stack, stackId, backend, defaultRegion);
  } else {
    new LocalBackend(stack, { path: `../../../.gantry/state/${stackId}.tfstate` });
  }
}

/**
 * S3 backend with one key per stack, server-side encryption and S3-native locking
 * (`use_lockfile`, Terraform >= 1.10: the lock is `<key>.tflock` next to the state).
 */
export function configureS3Backend(
  stack: TerraformStack,
  stackId: string,
  backend: S3StateBackendConfig,
  defaultRegion: string,
): void {
  new S3Backend(stack, {
    bucket: backend.bucket,
    key: stateKey(stackId, backend),
    region: backend.region ?? defaultRegion,
    encrypt: true,
    ...(backend.kmsKeyId ? { kmsKeyId: backend.kmsKeyId } : {}),
  });
  // cdktf 0.21's S3BackendConfig predates `use_lockfile`.
  stack.addOverride('terraform.backend.s3.use_lockfile', true);
}

export { stateKey };
