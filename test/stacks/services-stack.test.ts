import * as path from 'node:path';
import { referenceConfig } from '../../environments';
import type { EnvironmentConfig, GantryConfig, ServiceConfig } from '../../lib/config';
import { cachedPlan } from '../plan-cache';
import { describeWithTerraform, OfflineTerraform, type PlanJson } from '../terraform-harness';
import { readStack, synthApp, withEnvironment, type StackJson } from '../util';

/** Paths at which two JSON values differ, e.g. `variable.image_tag_api.default`. */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) =>
    differences(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      at ? `${at}.${key}` : key,
    ),
  );
}

function withServices(
  base: GantryConfig,
  envName: string,
  change: (s: ServiceConfig) => ServiceConfig,
): GantryConfig {
  return withEnvironment(envName, (env) => ({ ...env, services: env.services.map(change) }), base);
}

const prodServices = (config: GantryConfig = referenceConfig) => readStack(synthApp(config), 'prod-services');

function resourcesOf(stack: StackJson, type: string): Array<Record<string, unknown>> {
  return Object.values(stack.resource?.[type] ?? {});
}

describe('ServicesStack (prod-services)', () => {
  const stack = prodServices();

  test('declares one image tag variable per service, defaulting to the configured tag', () => {
    expect(stack.variable).toEqual({
      image_tag_admin: expect.objectContaining({ type: 'string', default: 'v1.3.1' }),
      image_tag_admin_frontend: expect.objectContaining({ type: 'string', default: 'v1.3.1' }),
      image_tag_api: expect.objectContaining({ type: 'string', default: 'v1.3.1' }),
      image_tag_worker: expect.objectContaining({ type: 'string', default: 'v1.3.1' }),
    });
  });

  test('the image tag is the only interpolation in the container definitions', () => {
    for (const task of resourcesOf(stack, 'aws_ecs_task_definition')) {
      const definitions = task.container_definitions as string;
      const interpolations = definitions.match(/\$\{[^}]*\}/g) ?? [];
      expect(interpolations).toHaveLength(1);
      expect(interpolations[0]).toMatch(/^\$\{var\.image_tag_[a-z_]+\}$/);
      expect(definitions).toContain(`333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/`);
    }
  });

  test('services pass the foundation roles by computed ARN and create no IAM resources', () => {
    expect(Object.keys(stack.resource ?? {}).filter((t) => t.startsWith('aws_iam_'))).toEqual([]);
    const api = resourcesOf(stack, 'aws_ecs_task_definition').find((t) => t.family === 'acme-prod-api');
    expect(api).toMatchObject({
      task_role_arn: 'arn:aws:iam::333333333333:role/acme-prod-api-task',
      execution_role_arn: 'arn:aws:iam::333333333333:role/acme-prod-api-exec',
    });
  });

  test('the stack owns its KMS key: log groups are encrypted with it, retention from the environment', () => {
    const [keyId] = Object.keys(stack.resource?.aws_kms_key ?? {});
    const logGroups = resourcesOf(stack, 'aws_cloudwatch_log_group');
    expect(logGroups).toHaveLength(5);
    for (const group of logGroups) {
      expect(group).toMatchObject({
        kms_key_id: `\${aws_kms_key.${keyId}.arn}`,
        retention_in_days: 365,
        lifecycle: { prevent_destroy: true },
      });
    }
  });

  test('admin and admin-frontend sit behind Cognito, api does not', () => {
    const rules = resourcesOf(stack, 'aws_lb_listener_rule');
    const types = rules.map((r) => [r.priority, (r.action as Array<{ type: string }>).map((a) => a.type)]);
    expect(types.sort()).toEqual([
      [100, ['forward']],
      [200, ['authenticate-cognito', 'forward']],
      [300, ['authenticate-cognito', 'forward']],
    ]);
  });

  test('reads no data source from AWS with explicit network ids', () => {
    expect(stack.data).toBeUndefined();
  });
});

describe('a rollback is a variable change', () => {
  test('a different configured tag changes only that variable default, nothing else in the stack', () => {
    const before = prodServices();
    const after = prodServices(
      withServices(referenceConfig, 'prod', (s) => (s.name === 'api' ? { ...s, imageTag: 'v1.3.0' } : s)),
    );
    expect(differences(before, after)).toEqual(['variable.image_tag_api.default']);
    expect(after.variable?.image_tag_api.default).toBe('v1.3.0');
  });
});

describe('networks from SSM parameters', () => {
  const fromSsm = withEnvironment('prod', (env: EnvironmentConfig) => ({
    ...env,
    network: { fromSsm: { prefix: '/acme/prod/' } },
  }));

  test('the services stack reads the VPC and subnets from the parameters under the prefix', () => {
    const stack = prodServices(fromSsm);
    const names = Object.values(stack.data?.aws_ssm_parameter ?? {}).map((d) => d.name);
    expect(names.sort()).toEqual(['/acme/prod/private-subnet-ids', '/acme/prod/vpc-id']);
    const [service] = resourcesOf(stack, 'aws_ecs_service');
    expect(JSON.stringify(service.network_configuration)).toMatch(
      /split\(\\",\\", data\.aws_ssm_parameter\.network-private-subnet-ids\.value\)/,
    );
  });

  test('the foundation stack publishes the ids when asked', () => {
    const publish = withEnvironment('prod', (env: EnvironmentConfig) => ({
      ...env,
      network: {
        ...(env.network as { vpcId: string; privateSubnetIds: readonly string[] }),
        publishToSsm: true,
      },
    }));
    // The network parameters, not the deploy project's image-tags parameter (`/acme/prod/gantry/...`).
    const networkParameters = (outdir: string) =>
      resourcesOf(readStack(outdir, 'prod-foundation'), 'aws_ssm_parameter')
        .map((p) => p.name as string)
        .filter((name) => !name.startsWith('/acme/prod/gantry/'));
    expect(networkParameters(synthApp(publish)).sort()).toEqual([
      '/acme/prod/private-subnet-ids',
      '/acme/prod/vpc-id',
    ]);
    expect(networkParameters(synthApp())).toEqual([]);
  });
});

describe('FoundationStack workloads (prod-foundation)', () => {
  const stack = readStack(synthApp(), 'prod-foundation');

  test('one ECR repository per service, encrypted with the foundation key, protected', () => {
    const [keyId] = Object.keys(stack.resource?.aws_kms_key ?? {});
    const repositories = resourcesOf(stack, 'aws_ecr_repository');
    expect(repositories.map((r) => r.name).sort()).toEqual([
      'acme/admin',
      'acme/admin-frontend',
      'acme/api',
      'acme/worker',
    ]);
    for (const repository of repositories) {
      expect(repository).toMatchObject({
        image_tag_mutability: 'IMMUTABLE',
        encryption_configuration: [{ encryption_type: 'KMS', kms_key: `\${aws_kms_key.${keyId}.arn}` }],
        lifecycle: { prevent_destroy: true },
      });
    }
    const keep = resourcesOf(stack, 'aws_ecr_lifecycle_policy').map(
      (p) =>
        (JSON.parse(p.policy as string) as { rules: Array<{ selection: { countNumber: number } }> }).rules[1],
    );
    expect(keep.map((r) => r.selection.countNumber)).toEqual([50, 50, 50, 50]);
  });

  test('a task role and an execution role per service', () => {
    const names = resourcesOf(stack, 'aws_iam_role').map((r) => r.name as string);
    for (const service of ['api', 'admin', 'admin-frontend', 'worker']) {
      expect(names).toContain(`acme-prod-${service}-task`);
      expect(names).toContain(`acme-prod-${service}-exec`);
    }
  });
});

// Real Terraform: the offline plan of prod-services, and a rollback applied as `-var image_tag_api=...`.
describeWithTerraform('prod-services offline plan', () => {
  const outdir = synthApp();
  const stackDir = path.join(outdir, 'stacks', 'prod-services');
  let plan: PlanJson;
  let rollback: PlanJson;

  beforeAll(() => {
    // The default plan is terraform.test.ts's too (test/plan-cache.ts).
    plan = cachedPlan(stackDir).json;
    rollback = cachedPlan(stackDir, ['-var', 'image_tag_api=v1.3.0']).json;
  });

  const created = (json: PlanJson, type: string) =>
    (json.resource_changes ?? []).filter((c) => c.type === type && c.change.actions.join() === 'create');
  const after = (json: PlanJson, type: string) =>
    created(json, type).map((c) => c.change.after as Record<string, unknown>);

  test('contains the four services', () => {
    expect(
      after(plan, 'aws_ecs_service')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['admin', 'admin-frontend', 'api', 'worker']);
    for (const service of after(plan, 'aws_ecs_service')) {
      expect(service.deployment_circuit_breaker).toEqual([{ enable: true, rollback: true }]);
      expect(service.network_configuration).toEqual([expect.objectContaining({ assign_public_ip: false })]);
    }
  });

  test('contains the 5xx-rate and p90-latency alarms of every service with a port, and the worker its tasks alarm', () => {
    expect(
      after(plan, 'aws_cloudwatch_metric_alarm')
        .map((a) => a.alarm_name)
        .sort(),
    ).toEqual([
      'acme-prod-admin-5xx-rate',
      'acme-prod-admin-frontend-5xx-rate',
      'acme-prod-admin-frontend-p90-latency',
      'acme-prod-admin-p90-latency',
      'acme-prod-api-5xx-rate',
      'acme-prod-api-p90-latency',
      'acme-prod-worker-tasks-below-desired',
    ]);
  });

  test('contains an autoscaling target per service with the configured bounds', () => {
    const targets = after(plan, 'aws_appautoscaling_target').map((t) => [
      t.resource_id,
      t.min_capacity,
      t.max_capacity,
    ]);
    expect(targets.sort()).toEqual([
      ['service/acme-prod/admin', 1, 2],
      ['service/acme-prod/admin-frontend', 1, 2],
      ['service/acme-prod/api', 3, 12],
      ['service/acme-prod/worker', 1, 4],
    ]);
  });

  test('carries the image tag variables', () => {
    expect(plan.variables).toEqual({
      image_tag_admin: { value: 'v1.3.1' },
      image_tag_admin_frontend: { value: 'v1.3.1' },
      image_tag_api: { value: 'v1.3.1' },
      image_tag_worker: { value: 'v1.3.1' },
    });
  });

  test('-var image_tag_api changes only the api task definitions image, nothing else', () => {
    const byAddress = (json: PlanJson) =>
      Object.fromEntries((json.resource_changes ?? []).map((c) => [c.address, c.change.after]));
    const before = byAddress(plan);
    const changed = byAddress(rollback);
    const diff = differences(before, changed);
    expect(diff.map((d) => d.replace(/_[0-9A-F]{8}\./, '.'))).toEqual([
      'aws_ecs_task_definition.api_migration.container_definitions',
      'aws_ecs_task_definition.api_task.container_definitions',
    ]);
    for (const address of diff.map((d) => d.split('.container_definitions')[0])) {
      const [old] = JSON.parse(
        (before[address] as { container_definitions: string }).container_definitions,
      ) as Array<Record<string, unknown>>;
      const [rolled] = JSON.parse(
        (changed[address] as { container_definitions: string }).container_definitions,
      ) as Array<Record<string, unknown>>;
      expect(rolled.image).toBe('333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api:v1.3.0');
      expect({ ...rolled, image: old.image }).toEqual(old);
    }
  });

  test('a services stack reading its network from SSM validates', () => {
    const fromSsm = withEnvironment('prod', (env: EnvironmentConfig) => ({
      ...env,
      network: { fromSsm: { prefix: '/acme/prod/' } },
    }));
    const ssm = OfflineTerraform.prepare(path.join(synthApp(fromSsm), 'stacks', 'prod-services'));
    try {
      ssm.init();
      expect(ssm.validate().stdout).toContain('The configuration is valid');
    } finally {
      ssm.dispose();
    }
  });

  test('rejects "latest" as an image tag at plan time', () => {
    const tf = OfflineTerraform.prepare(stackDir);
    try {
      tf.init();
      const result = tf.run(['plan', '-input=false', '-no-color', '-var', 'image_tag_worker=latest']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('image_tag_worker must be an immutable release tag');
    } finally {
      tf.dispose();
    }
  });
});
