import { GithubProvider } from '@cdktf/provider-github/lib/provider';
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { GantryConfig } from '../environments/types';
import { configureBackend } from './aws-environment-stack';

/**
 * `github`: the repository's environments, reviewers, branch policies, variables and secrets.
 * Role ARNs are computed from configuration, so this stack has no cross-stack reference.
 */
export class GithubStack extends TerraformStack {
  constructor(scope: Construct, config: GantryConfig) {
    super(scope, 'github');
    const { organization: org } = config;
    const [owner] = org.github.repository.split('/');
    new GithubProvider(this, 'github', { owner });
    configureBackend(this, 'github', org.githubStateBackend, config.environments[0].region);
  }
}
