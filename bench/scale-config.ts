/**
 * Synthetic configurations for the scale benchmark: `environments x services`, built from the
 * reference configuration's own environments and services (cycled), renamed so that every name,
 * account id and listener priority is unique, and validated before use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceConfig } from '../environments';
import { validateConfig } from '../lib/config';
import type { EnvironmentConfig, GantryConfig, ServiceConfig } from '../lib/config';

/** `n` environments of `s` services each. */
export function scaleConfig(n: number, s: number, base: GantryConfig = referenceConfig): GantryConfig {
  const environments = Array.from({ length: n }, (_, i) =>
    environment(base.environments[i % base.environments.length], i, s),
  );
  const config: GantryConfig = { ...base, environments };
  validateConfig(config);
  return config;
}

function environment(template: EnvironmentConfig, index: number, serviceCount: number): EnvironmentConfig {
  const name = `${template.name}-${index + 1}`;
  const accountId = `9${String(index + 1).padStart(11, '0')}`;
  // Every string of the template that names its account or its environment (ARNs, secret paths,
  // domains, queue names) now names the new ones; fields added to the config later follow along.
  const renamed = JSON.parse(
    JSON.stringify(template)
      .split(template.accountId)
      .join(accountId)
      .replace(new RegExp(`(?<![A-Za-z0-9])${escape(template.name)}(?![A-Za-z0-9])`, 'g'), name),
  ) as EnvironmentConfig;
  const services = Array.from({ length: serviceCount }, (_, k) =>
    service(renamed.services[k % renamed.services.length], k),
  );
  return { ...renamed, name, accountId, services };
}

function service(template: ServiceConfig, index: number): ServiceConfig {
  const name = `${template.name}-${index + 1}`;
  if (!template.routing) return { ...template, name };
  return {
    ...template,
    name,
    routing: {
      ...template.routing,
      priority: 100 + index,
      ...(template.routing.hostHeaders
        ? { hostHeaders: template.routing.hostHeaders.map((h) => h.replace(/^[^.]+/, name)) }
        : {}),
    },
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Writes a configuration as a `GANTRY_CONFIG` module (`exports.config = ...`) and returns its path. */
export function writeConfigModule(dir: string, name: string, config: GantryConfig): string {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, `'use strict';\nexports.config = ${JSON.stringify(config, null, 1)};\n`);
  return file;
}
