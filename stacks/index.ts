import type { Construct } from 'constructs';
import type { GantryConfig } from '../environments/types';
import { Policy } from '../lib/policy/policy';
import { FoundationStack } from './foundation-stack';
import { GithubStack } from './github-stack';
import { ServicesStack } from './services-stack';

export { AwsEnvironmentStack, configureBackend, configureS3Backend, stateKey } from './aws-environment-stack';
export { FoundationStack } from './foundation-stack';
export { GithubStack } from './github-stack';
export { ServicesStack } from './services-stack';

/**
 * Every stack of a validated configuration: `github`, then `<env>-foundation` and `<env>-services` per
 * environment, each checked at synth against the security policy (`Policy.enforce`).
 */
export function createStacks(app: Construct, config: GantryConfig): void {
  Policy.enforce(new GithubStack(app, config));
  for (const environment of config.environments) {
    const props = { organization: config.organization, environment };
    Policy.enforce(new FoundationStack(app, props));
    Policy.enforce(new ServicesStack(app, props));
  }
}
