import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LocalBackend, S3Backend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { EnvironmentConfig, OrganizationConfig, S3StateBackendConfig } from '../environments/types';

export interface AwsEnvironmentStackProps {
  readonly organization: OrganizationConfig;
  readonly environment: EnvironmentConfig;
}

/**
 * A stack in one environment's AWS account: its provider refuses any other account
 * (`allowed_account_ids`) and tags everything it creates; its state is local unless the environment
 * names a state bucket, then S3 with a lock file and encryption.
 */
export abstract class AwsEnvironmentStack extends TerraformStack {
  public readonly organization: OrganizationConfig;
  public readonly environment: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: AwsEnvironmentStackProps) {
    super(scope, id);
    this.organization = props.organization;
    this.environment = props.environment;
    const env = props.environment;
    new AwsProvider(this, 'aws', {
      region: env.region,
      allowedAccountIds: [env.accountId],
      defaultTags: [
        {
          tags: {
            environment: env.name,
            'managed-by': 'gantry',
            repository: props.organization.github.repository,
            'gantry:stack': id,
          },
        },
      ],
    });
    configureBackend(this, id, env.stateBackend, env.region);
  }
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

/** The state object key of a stack: `<keyPrefix><stack>.tfstate` (the lock is `<key>.tflock`). */
export function stateKey(stackId: string, backend: S3StateBackendConfig): string {
  return `${backend.keyPrefix ?? 'gantry/'}${stackId}.tfstate`;
}
