import { GantryConfigError } from '../lib/core/errors';
import { dev } from './dev';
import { organization } from './organization';
import { prod } from './prod';
import { staging } from './staging';
import type { EnvironmentConfig, GantryConfig } from './types';

export * from './types';
export { validateConfig } from './validate';

/** The reference configuration, in deployment order. */
export const referenceConfig: GantryConfig = {
  organization,
  environments: [dev, staging, prod],
};

/** Looks an environment up by name; throws naming the allowed environments. */
export function getEnvironment(name: string, config: GantryConfig = referenceConfig): EnvironmentConfig {
  const env = config.environments.find((e) => e.name === name);
  if (!env) {
    const allowed = config.environments.map((e) => JSON.stringify(e.name)).join(', ');
    throw new GantryConfigError(
      `environment: ${JSON.stringify(name)} is not configured, allowed: ${allowed}`,
    );
  }
  return env;
}
