/**
 * Gantry's stack factory (`gantry/stacks`): from a `GantryConfig`, every stack of the delivery
 * infrastructure, each with its own Terraform state, checked at synth against the security policy.
 */
import { App } from 'cdktf';
import type { Construct } from 'constructs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  publishEnvironments,
  pushDeployEnvironments,
  validateConfig,
  type GantryConfig,
} from '../lib/config';
import { APP_MANIFEST_FILE, APP_MANIFEST_VERSION, type AppManifest } from '../lib/core/app-manifest';
import { Policy } from '../lib/policy/policy';
import { BootstrapStack } from './bootstrap-stack';
import { FoundationStack } from './foundation-stack';
import { GithubStack } from './github-stack';
import { ServicesStack } from './services-stack';

export { AwsEnvironmentStack, configureBackend, configureS3Backend, stateKey } from './aws-environment-stack';
export type { AwsEnvironmentStackProps } from './aws-environment-stack';
export { BootstrapStack } from './bootstrap-stack';
export type { BootstrapStackProps, ToolingBootstrapStackProps } from './bootstrap-stack';
export { FoundationStack } from './foundation-stack';
export { GithubStack, environmentVariables } from './github-stack';
export { servicesStackScope } from './services-apply-scope';
export { ServicesStack, type ServicesStackProps } from './services-stack';

/** The stacks `createStacks` made. */
export interface GantryStacks {
  readonly github: GithubStack;
  /** `<tooling name>-bootstrap`, when the configuration has a shared tooling account (`tooling`). */
  readonly tooling?: BootstrapStack;
  /** Per environment name, in deployment order. */
  readonly environments: ReadonlyMap<
    string,
    {
      readonly foundation: FoundationStack;
      readonly services: ServicesStack;
      /** `<env>-bootstrap`, when the environment has `bootstrap` settings. */
      readonly bootstrap?: BootstrapStack;
    }
  >;
}

/**
 * Every stack of a configuration: `github`, `<tooling name>-bootstrap` (with a shared tooling account),
 * then per environment `<env>-bootstrap` (when it has `bootstrap` settings of its own, not `shared`), `<env>-foundation` and `<env>-services`, each checked at synth against the security policy (`Policy.enforce`). The configuration
 * is validated first: a bad one throws a `GantryConfigError` listing every problem, and nothing is made.
 * At synth the app also writes `<outdir>/gantry-app.json` (the configuration), from which
 * `gantry workflows` generates this app's workflows.
 */
export function createStacks(app: Construct, config: GantryConfig): GantryStacks {
  validateConfig(config);
  const github = new GithubStack(app, config);
  Policy.enforce(github);
  const tooling = config.tooling
    ? new BootstrapStack(app, {
        organization: config.organization,
        tooling: config.tooling,
        environments: config.environments,
      })
    : undefined;
  if (tooling) Policy.enforce(tooling);
  const environments = new Map<
    string,
    { foundation: FoundationStack; services: ServicesStack; bootstrap?: BootstrapStack }
  >();
  for (const environment of config.environments) {
    const props = {
      organization: config.organization,
      environment,
      ...(config.tooling ? { tooling: config.tooling } : {}),
    };
    const bootstrap =
      environment.bootstrap && environment.bootstrap.shared !== true
        ? new BootstrapStack(app, props)
        : undefined;
    if (bootstrap) Policy.enforce(bootstrap);
    const foundation = new FoundationStack(app, {
      ...props,
      upstreamEnvironments: config.environments.slice(0, config.environments.indexOf(environment)),
      ...(config.release ? { release: config.release } : {}),
      ...(config.release && publishEnvironments(config).includes(environment.name)
        ? { publish: config.release }
        : {}),
      ...(config.release && pushDeployEnvironments(config).includes(environment.name)
        ? { pushBuild: config.release }
        : {}),
    });
    const services = new ServicesStack(app, {
      ...props,
      upstreamEnvironments: config.environments
        .slice(0, config.environments.indexOf(environment))
        .map((e) => e.name),
      ...(config.release ? { release: config.release } : {}),
    });
    Policy.enforce(foundation);
    Policy.enforce(services);
    environments.set(environment.name, { foundation, services, ...(bootstrap ? { bootstrap } : {}) });
  }
  writeManifestAtSynth(app, {
    version: APP_MANIFEST_VERSION,
    config,
    stacks: [
      github.node.id,
      ...(tooling ? [tooling.node.id] : []),
      ...[...environments.values()].flatMap((e) => [
        ...(e.bootstrap ? [e.bootstrap.node.id] : []),
        e.foundation.node.id,
        e.services.node.id,
      ]),
    ],
  });
  return { github, environments, ...(tooling ? { tooling } : {}) };
}

function writeManifestAtSynth(scope: Construct, manifest: AppManifest<GantryConfig>): void {
  let app: App;
  try {
    app = App.of(scope);
  } catch {
    return;
  }
  app.node.addValidation({
    validate: () => {
      if (!app.outdir) return [];
      fs.mkdirSync(app.outdir, { recursive: true });
      fs.writeFileSync(path.join(app.outdir, APP_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      return [];
    },
  });
}
