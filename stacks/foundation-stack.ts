import type { Construct } from 'constructs';
import { EnvironmentKey } from '../lib/encryption';
import { AwsEnvironmentStack, type AwsEnvironmentStackProps } from './aws-environment-stack';

/**
 * `<env>-foundation`: what an environment's account needs once and rarely changes: the KMS key,
 * the GitHub OIDC provider and roles, the ECR repositories and the CodeBuild runners.
 */
export class FoundationStack extends AwsEnvironmentStack {
  public readonly key: EnvironmentKey;

  constructor(scope: Construct, props: AwsEnvironmentStackProps) {
    super(scope, `${props.environment.name}-foundation`, props);
    const { environment: env, organization: org } = props;
    this.key = new EnvironmentKey(this, 'key', {
      accountId: env.accountId,
      region: env.region,
      alias: `${org.name}-${env.name}-foundation`,
      description: `Gantry ${env.name} foundation: ECR images, runner logs and artifacts`,
    });
  }
}
