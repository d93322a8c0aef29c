/** The Gantry configuration the runtime reads approval rules from: `GANTRY_CONFIG` or the reference one. */
import * as path from 'node:path';
import { referenceConfig } from '../../environments';
import type { GantryConfig } from '../../environments/types';
import { RuntimeError } from './errors';

export function loadRuntimeConfig(env: NodeJS.ProcessEnv, cwd: string): GantryConfig {
  const file = env.GANTRY_CONFIG;
  if (!file) return referenceConfig;
  const resolved = path.resolve(cwd, file);
  let loaded: { config?: GantryConfig };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the config module is chosen at run time
    loaded = require(resolved) as { config?: GantryConfig };
  } catch (error) {
    throw new RuntimeError(`GANTRY_CONFIG: cannot load ${JSON.stringify(file)}: ${(error as Error).message}`);
  }
  if (!loaded.config) throw new RuntimeError(`GANTRY_CONFIG: ${JSON.stringify(file)} exports no \`config\``);
  return loaded.config;
}
