/** Shared test helpers: synthesizing the reference app (or a variant of it) into a temp dir. */
import { App } from 'cdktf';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { referenceConfig } from '../environments';
import {
  validateConfig,
  type EnvironmentConfig,
  type GantryConfig,
  type LoadBalancerCreateConfig,
} from '../lib/config';
import { createStacks } from '../stacks';
import { GantryConfigError } from '../lib/core/errors';

/** Real `terraform show -json` outputs (see its INDEX.md), kept in the repository. */
export const PLAN_FIXTURES = path.join(__dirname, 'fixtures', 'terraform-plans');

/** The stack ids the reference configuration synthesizes. */
export const REFERENCE_STACKS = [
  'github',
  'dev-foundation',
  'dev-services',
  'staging-foundation',
  'staging-services',
  'prod-foundation',
  'prod-services',
] as const;

export const AWS_STACKS = REFERENCE_STACKS.filter((s) => s !== 'github');

/**
 * The AWS stacks in the order `distinctShapes` picks the one stack planned per shape: prod first, so
 * the suites that read prod's plans (services-stack.test.ts, deploy-permissions.terraform.test.ts)
 * share them with terraform.test.ts through the plan cache.
 */
export const PLANNED_SHAPES_ORDER = [...AWS_STACKS].reverse();

/** Synthesizes a configuration into a fresh temp dir and returns that `cdktf.out`-like dir. */
export function synthApp(
  config: GantryConfig = referenceConfig,
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-synth-')),
): string {
  const app = new App({ outdir });
  createStacks(app, config);
  app.synth();
  return outdir;
}

/** The synthesized JSON of one stack. */
export function readStack(outdir: string, stackId: string): StackJson {
  return JSON.parse(
    fs.readFileSync(path.join(outdir, 'stacks', stackId, 'cdk.tf.json'), 'utf8'),
  ) as StackJson;
}

/** `cdk.tf.json`, with the parts tests read typed loosely. */
export interface StackJson {
  readonly terraform?: Record<string, unknown>;
  readonly provider?: Record<string, Array<Record<string, unknown>>>;
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly variable?: Record<string, Record<string, unknown>>;
  readonly output?: Record<string, Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** A copy of the reference configuration with one environment changed (for rejection tests). */
export function withEnvironment(
  name: string,
  change: (env: EnvironmentConfig) => EnvironmentConfig,
  base: GantryConfig = referenceConfig,
): GantryConfig {
  return {
    ...base,
    environments: base.environments.map((env) => (env.name === name ? change(env) : env)),
  };
}

/** A `loadBalancer.create` for prod (account 333333333333, eu-west-1): two public subnets, a certificate. */
export const PROD_CREATED_LOAD_BALANCER: LoadBalancerCreateConfig = {
  subnetIds: ['subnet-0c3d0000000000d03', 'subnet-0c3d0000000000e03'],
  certificateArn: 'arn:aws:acm:eu-west-1:333333333333:certificate/0c3d0000-0000-4000-8000-0000000000c3',
};

/**
 * The reference configuration with prod's load balancer created by Gantry (`loadBalancer: { create }`
 * instead of the existing listener), then `change` applied to prod.
 */
export function withCreatedLoadBalancer(
  create: LoadBalancerCreateConfig = PROD_CREATED_LOAD_BALANCER,
  change: (env: EnvironmentConfig) => EnvironmentConfig = (env) => env,
): GantryConfig {
  return withEnvironment('prod', (env) => change({ ...env, loadBalancer: { create } }));
}

/**
 * Replaces the paths cdktf writes that vary between machines or runs (temp dirs, versions) so
 * snapshots are deterministic.
 */
export function scrubForSnapshot(stack: StackJson): StackJson {
  const text = JSON.stringify(stack).replace(/\/tmp\/[A-Za-z0-9._/-]+/g, '<tmp>');
  const scrubbed = JSON.parse(text) as StackJson & { '//'?: { metadata?: { version?: string } } };
  // cdktf's own version, not the configuration: a cdktf upgrade should not rewrite every snapshot.
  if (scrubbed['//']?.metadata?.version) scrubbed['//'].metadata.version = '<cdktf-version>';
  return scrubbed;
}

/** The problems `validateConfig` reports for a config, or [] when it passes. */
export function problemsOf(config: GantryConfig): readonly string[] {
  try {
    validateConfig(config);
    return [];
  } catch (error) {
    if (error instanceof GantryConfigError) return error.problems;
    throw error;
  }
}

/**
 * The shape of a synthesized stack: its resource and data types, their names and the keys of their
 * arguments (nested), with the environment's name written as `<env>`; no values. Two stacks of one
 * shape make the same Terraform calls with different values (ids, counts, tags), so a check of what
 * Terraform accepts (an offline plan) needs one of them; the values of each are applied on the
 * emulator (test/emulator/) and checked by the policy rules.
 */
export function stackShape(stack: StackJson, environment: string): string {
  const keys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(keys);
    if (value === null || typeof value !== 'object') return typeof value;
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, keys((value as Record<string, unknown>)[k])]),
    );
  };
  const blocks = (group: StackJson['resource']) =>
    Object.fromEntries(
      Object.entries(group ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, byName]) => [
          type,
          Object.entries(byName)
            .map(([name, body]) => [name.split(environment).join('<env>'), keys(body)] as const)
            .sort(([a], [b]) => a.localeCompare(b)),
        ]),
    );
  return JSON.stringify({
    resource: blocks(stack.resource),
    data: blocks(stack.data),
    variable: Object.keys(stack.variable ?? {}).sort(),
    output: Object.keys(stack.output ?? {}).sort(),
  });
}

/**
 * The stacks of `stackIds` (ids `<env>-<kind>`), one per shape: each with the others of its shape.
 */
export function distinctShapes(
  outdir: string,
  stackIds: readonly string[],
): Array<{ readonly stackId: string; readonly sameShape: readonly string[] }> {
  const byShape = new Map<string, string[]>();
  for (const id of stackIds) {
    const environment = id.slice(0, id.lastIndexOf('-'));
    const shape = stackShape(readStack(outdir, id), environment);
    byShape.set(shape, [...(byShape.get(shape) ?? []), id]);
  }
  return [...byShape.values()].map(([stackId, ...sameShape]) => ({ stackId, sameShape }));
}
