/** The services of an environment: what each runs (`FargateServiceSettings`), its name and image tag. */
import type { ProblemList } from '../core/errors';
import { serviceVerifyProblems, type ServiceVerifyConfig } from './deploy';
import { GantryConfigError, show } from '../core/errors';
import { imageTagProblem } from '../core/identifiers';
import { executionRoleName, taskRoleName } from '../core/naming';
import {
  fargateServiceSettingsProblems,
  SERVICE_NAME,
  type FargateServiceSettings,
  type ServiceAlarmThresholds,
  type ServiceRouting,
} from '../service/service-settings';

/** Listener rule of a service with a port. */
export type ServiceRoutingConfig = ServiceRouting;
/** Deployment alarm thresholds of a service with a port. */
export type ServiceAlarmConfig = ServiceAlarmThresholds;

/** One service of an environment: what `FargateService` takes, plus its name and default image tag. */
export interface ServiceConfig extends FargateServiceSettings {
  /** Lower-case service name, unique in the environment. */
  readonly name: string;
  /** The image tag deployed by default (Terraform variable `image_tag_<name>`); never `latest`. */
  readonly imageTag: string;
  /**
   * Paths of the repository (relative, `*` and `**` globs; a plain path covers everything under it) whose
   * change rebuilds and redeploys the service (`gantry changed`, the tag build's matrix).
   * @default none: the service is not built by this repository (a source repository publishes it)
   */
  readonly sourcePaths?: readonly string[];
  /** The image's build: context directory and Dockerfile. @default context: the first source path's directory part */
  readonly build?: { readonly context: string; readonly dockerfile?: string };
  /** The external check `gantry deploy` and `gantry verify` run after the rollout. @default none */
  readonly verify?: ServiceVerifyConfig;
}

/** A relative repository path, optionally with `*`/`**` globs: no leading '/', no '..', no spaces or quotes. */
export const SOURCE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._*\/-]+$/;

/** The build context of a service: `build.context`, or the directory part of its first source path. */
export function buildContextOf(service: Pick<ServiceConfig, 'sourcePaths' | 'build'>): string | undefined {
  if (service.build) return service.build.context;
  const first = service.sourcePaths?.[0];
  if (first === undefined) return undefined;
  const parts = first.split('/');
  const glob = parts.findIndex((p) => /[*?]/.test(p));
  return (glob < 0 ? parts : parts.slice(0, glob)).join('/') || '.';
}

/** The parts of an environment the service rules read. */
interface WithServices {
  readonly name: string;
  readonly services: readonly ServiceConfig[];
  readonly loadBalancer?: unknown;
}

export function validateServices(env: WithServices, organization: string, problems: ProblemList): void {
  if (!Array.isArray(env.services)) {
    problems.add(`${env.name}.services`, `${show(env.services)} is not a list of services`);
    return;
  }
  const names = new Set<string>();
  const priorities = new Map<number, string>();
  env.services.forEach((service, i) => {
    const path = `${env.name}.services[${i}]`;
    problems.check(
      typeof service.name === 'string' && SERVICE_NAME.test(service.name),
      `${path}.name`,
      `${show(service.name)} must match ${SERVICE_NAME}`,
    );
    if (names.has(service.name))
      problems.add(
        `${path}.name`,
        `duplicate service name ${show(service.name)}, names must be unique in an environment`,
      );
    names.add(service.name);
    problems.addIf(`${path}.imageTag`, imageTagProblem(service.imageTag));
    const { verify, ...settings } = service;
    problems.addAll(path, fargateServiceSettingsProblems(service.name, settings));
    if (verify !== undefined) serviceVerifyProblems(`${path}.verify`, verify, problems);
    for (const roleName of [taskRoleName, executionRoleName]) {
      try {
        roleName(organization, env.name, service.name);
      } catch (error) {
        if (!(error instanceof GantryConfigError)) throw error;
        problems.add(`${path}.name`, error.problems.join('; '));
      }
    }
    if (service.sourcePaths !== undefined) {
      problems.check(
        Array.isArray(service.sourcePaths) && service.sourcePaths.length > 0,
        `${path}.sourcePaths`,
        `${show(service.sourcePaths)} must list at least one path`,
      );
      (Array.isArray(service.sourcePaths) ? service.sourcePaths : []).forEach((p: unknown, j: number) =>
        problems.check(
          typeof p === 'string' && SOURCE_PATH.test(p),
          `${path}.sourcePaths[${j}]`,
          `${show(p)} is not a relative repository path (letters, digits, '.', '_', '-', '/', '*' globs; no leading '/', no '..')`,
        ),
      );
    }
    if (service.build !== undefined) {
      for (const key of ['context', 'dockerfile'] as const) {
        const value = service.build[key];
        if (value === undefined && key === 'dockerfile') continue;
        problems.check(
          typeof value === 'string' && SOURCE_PATH.test(value) && !/[*?]/.test(value),
          `${path}.build.${key}`,
          `${show(value)} is not a relative repository path without globs`,
        );
      }
    }
    const priority = service.routing?.priority;
    if (priority !== undefined) {
      const other = priorities.get(priority);
      if (other !== undefined) {
        problems.add(
          `${path}.routing.priority`,
          `${priority} is already used by service ${show(other)}, listener rule priorities must be unique`,
        );
      }
      priorities.set(priority, service.name);
    }
    if (service.port !== undefined && env.loadBalancer === undefined) {
      problems.add(
        `${path}.port`,
        `service ${show(service.name)} has a port but ${env.name}.loadBalancer is not set`,
      );
    }
  });
}
