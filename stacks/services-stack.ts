import type { Construct } from 'constructs';
import { AwsEnvironmentStack, type AwsEnvironmentStackProps } from './aws-environment-stack';

/**
 * `<env>-services`: the ECS cluster and the environment's services. Applied on every release,
 * through the environment's CodeBuild deploy project.
 */
export class ServicesStack extends AwsEnvironmentStack {
  constructor(scope: Construct, props: AwsEnvironmentStackProps) {
    super(scope, `${props.environment.name}-services`, props);
  }
}
