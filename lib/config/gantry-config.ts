/**
 * The typed configuration a platform team writes: one organisation (the GitHub repository that
 * deploys) and its environments. `validateConfig` checks all of it before any construct exists and
 * reports every problem at once, each naming the field path, the bad value and what is allowed.
 */
import { GantryConfigError, ProblemList, show } from '../core/errors';
import { DEFAULT_TRUSTED_ENVIRONMENT, environmentChain } from '../core/naming';
import { validateEnvironment, type EnvironmentConfig } from './environment';
import { validateOrganization, type OrganizationConfig } from './organization';
import { validateRelease, type ReleaseConfig } from './release';
import { validateTooling, type ToolingAccountConfig } from './tooling';

export interface GantryConfig {
  readonly organization: OrganizationConfig;
  /** In deployment order (dev before staging before prod). */
  readonly environments: readonly EnvironmentConfig[];
  /** Tag builds, publish roles, source repositories and the scan gate. @default no publish roles, no tag build */
  readonly release?: ReleaseConfig;
  /**
   * A shared tooling account whose bootstrap stack (`<name>-bootstrap`) holds the state of the environments
   * with `bootstrap: { shared: true }`. @default none: each environment with `bootstrap` has its own bucket
   */
  readonly tooling?: ToolingAccountConfig;
}

/**
 * Checks the whole configuration and throws one `GantryConfigError` listing every problem, each as
 * `<path>: <bad value>, <what is allowed>`. A bad config fails synth with nothing written.
 */
export function validateConfig(config: GantryConfig): void {
  const problems = new ProblemList();
  if (typeof config !== 'object' || config === null) {
    throw new GantryConfigError(
      `config: ${show(config)} is not a Gantry configuration ({ organization, environments })`,
    );
  }
  validateOrganization(config.organization, problems);
  const environments = Array.isArray(config.environments) ? config.environments : [];
  if (
    problems.check(environments.length > 0, 'environments', 'no environment given, at least one is needed')
  ) {
    const seen = new Set<string>();
    environments.forEach((env, i) => {
      const path = `environments[${i}]${typeof env?.name === 'string' ? ` (${env.name})` : ''}`;
      if (typeof env !== 'object' || env === null) {
        problems.add(path, `${show(env)} is not an environment`);
        return;
      }
      if (seen.has(env.name))
        problems.add(`${path}.name`, `duplicate environment name ${show(env.name)}, names must be unique`);
      seen.add(env.name);
      validateEnvironment(env, config.organization?.name ?? '', problems);
    });
  }
  validateRelease({ ...config, environments }, problems);
  validateTooling(
    config.tooling,
    environments.filter((e) => typeof e === 'object' && e !== null),
    config.organization?.name ?? '',
    problems,
  );
  const trusted = config.organization?.github?.trustedEnvironment ?? DEFAULT_TRUSTED_ENVIRONMENT;
  for (const env of environments) {
    if (typeof env?.name !== 'string' || typeof env.approval?.requiredApprovals !== 'number') continue;
    problems.check(
      !environmentChain(env.name, env.approval.requiredApprovals).includes(trusted),
      `${env.name}.name`,
      `the GitHub environments of ${show(env.name)} would include ${show(trusted)}, the environment only the default branch uses for plans and drift checks (organization.github.trustedEnvironment); rename one`,
    );
  }
  problems.throwIfAny();
}

/** Looks an environment up by name; throws naming the allowed environments. */
export function getEnvironment(name: string, config: GantryConfig): EnvironmentConfig {
  const env = config.environments.find((e) => e.name === name);
  if (!env) {
    const allowed = config.environments.map((e) => JSON.stringify(e.name)).join(', ');
    throw new GantryConfigError(
      `environment: ${JSON.stringify(name)} is not configured, allowed: ${allowed}`,
    );
  }
  return env;
}
