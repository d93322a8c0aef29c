import * as fs from 'node:fs';
import * as path from 'node:path';
import { POLICY_REPORT_FILE, type PolicyReport } from '../../lib/policy';
import type { EnvironmentConfig } from '../../lib/config';
import { readStack, synthApp, withCreatedLoadBalancer, withEnvironment, type StackJson } from '../util';

type Resource = Record<string, unknown>;

function resourcesOf(stack: StackJson, type: string): Array<[string, Resource]> {
  return Object.entries(stack.resource?.[type] ?? {});
}

function single(stack: StackJson, type: string): [string, Resource] {
  const all = resourcesOf(stack, type);
  expect(all).toHaveLength(1);
  return all[0];
}

const withExecOnApi = (env: EnvironmentConfig): EnvironmentConfig => ({
  ...env,
  services: env.services.map((s) => (s.name === 'api' ? { ...s, enableExecuteCommand: true } : s)),
});

describe('ServicesStack with a created load balancer (prod, loadBalancer.create)', () => {
  const outdir = synthApp(withCreatedLoadBalancer());
  const stack = readStack(outdir, 'prod-services');
  const [lbName, lb] = single(stack, 'aws_lb');
  const listeners = resourcesOf(stack, 'aws_lb_listener');
  const [httpsName] = listeners.find(([, l]) => l.port === 443) ?? [''];
  const [albGroupName] = resourcesOf(stack, 'aws_security_group').find(
    ([, g]) => g.name === 'acme-prod-alb',
  ) ?? [''];
  const albGroup = `\${aws_security_group.${albGroupName}.id}`;

  test('creates an internet-facing ALB named <org>-<env> with the strict defaults', () => {
    expect(lb).toMatchObject({
      name: 'acme-prod',
      internal: false,
      load_balancer_type: 'application',
      subnets: ['subnet-0c3d0000000000d03', 'subnet-0c3d0000000000e03'],
      security_groups: [albGroup],
      drop_invalid_header_fields: true,
      desync_mitigation_mode: 'defensive',
      enable_deletion_protection: true,
    });
    expect(listeners.map(([, l]) => [l.port, l.protocol]).sort()).toEqual([
      [443, 'HTTPS'],
      [80, 'HTTP'],
    ]);
  });

  test("every service's listener rule attaches to the created HTTPS listener", () => {
    const rules = resourcesOf(stack, 'aws_lb_listener_rule').map(([, r]) => [r.priority, r.listener_arn]);
    expect(rules.sort()).toEqual([
      [100, `\${aws_lb_listener.${httpsName}.arn}`],
      [200, `\${aws_lb_listener.${httpsName}.arn}`],
      [300, `\${aws_lb_listener.${httpsName}.arn}`],
    ]);
    expect(JSON.stringify(stack)).not.toContain('listener/app/acme-prod/0c3d000000000003');
  });

  test('the tasks accept traffic only from the ALB security group, which reaches each on its port only', () => {
    const tasks = Object.fromEntries(
      resourcesOf(stack, 'aws_security_group')
        .filter(([, g]) => String(g.name).endsWith('-tasks'))
        .map(([id, g]) => [id, g]),
    );
    const egress = resourcesOf(stack, 'aws_vpc_security_group_egress_rule').map(([, r]) => r);
    const toTasks = egress.filter((r) => r.referenced_security_group_id !== undefined);
    expect(toTasks.map((r) => [r.description, r.from_port, r.to_port]).sort()).toEqual([
      ['To admin on 8080', 8080, 8080],
      ['To admin-frontend on 3000', 3000, 3000],
      ['To api on 8000', 8000, 8000],
    ]);
    for (const rule of egress) expect(rule.security_group_id).toBe(albGroup);
    for (const rule of toTasks) {
      const target =
        /^\$\{aws_security_group\.(.+)\.id\}$/.exec(String(rule.referenced_security_group_id))?.[1] ?? '';
      const group = tasks[target];
      expect(group).toBeDefined();
      expect(group.ingress).toEqual([
        expect.objectContaining({
          from_port: rule.from_port,
          to_port: rule.to_port,
          security_groups: [albGroup],
        }),
      ]);
    }
    const worker = Object.values(tasks).find((g) => g.name === 'acme-prod-worker-tasks');
    expect(worker?.ingress).toEqual([]);
  });

  test('admin sits behind Cognito, so the ALB may also reach the identity provider on 443', () => {
    const egress = resourcesOf(stack, 'aws_vpc_security_group_egress_rule').map(([, r]) => r);
    expect(egress.filter((r) => r.cidr_ipv4 !== undefined)).toEqual([
      expect.objectContaining({ cidr_ipv4: '0.0.0.0/0', from_port: 443, to_port: 443 }),
    ]);
    const withoutCognito = readStack(
      synthApp(
        withCreatedLoadBalancer(undefined, (env) => ({
          ...env,
          services: env.services.map((s) => ({ ...s, cognito: undefined })),
        })),
      ),
      'prod-services',
    );
    const open = resourcesOf(withoutCognito, 'aws_vpc_security_group_egress_rule').filter(
      ([, r]) => r.cidr_ipv4 !== undefined,
    );
    expect(open).toEqual([]);
  });

  test('ingress is 443 and 80 (the redirect) from anywhere', () => {
    const ingress = resourcesOf(stack, 'aws_vpc_security_group_ingress_rule').map(([, r]) => [
      r.from_port,
      r.cidr_ipv4,
      r.security_group_id,
    ]);
    expect(ingress.sort()).toEqual([
      [443, '0.0.0.0/0', albGroup],
      [80, '0.0.0.0/0', albGroup],
    ]);
  });

  test('alarms and request scaling use the created load balancer suffix', () => {
    const suffix = `\${aws_lb.${lbName}.arn_suffix}`;
    // The worker's alarm (running tasks below desired) has no load balancer.
    const alarms = resourcesOf(stack, 'aws_cloudwatch_metric_alarm')
      .map(([, a]) => a)
      .filter((a) => !String(a.alarm_name).endsWith('-tasks-below-desired'));
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) expect(JSON.stringify(alarm)).toContain(`"LoadBalancer":"${suffix}"`);
    const labels = resourcesOf(stack, 'aws_appautoscaling_policy')
      .map(([, p]) => JSON.stringify(p))
      .filter((p) => p.includes('ALBRequestCountPerTarget'));
    expect(labels).toHaveLength(3);
    for (const label of labels) expect(label).toContain(`"resource_label":"${suffix}/`);
  });

  test('outputs the DNS name, zone id and ARN of the load balancer', () => {
    expect(stack.output).toEqual({
      load_balancer_dns_name: expect.objectContaining({ value: `\${aws_lb.${lbName}.dns_name}` }),
      load_balancer_zone_id: expect.objectContaining({ value: `\${aws_lb.${lbName}.zone_id}` }),
      load_balancer_arn: expect.objectContaining({ value: `\${aws_lb.${lbName}.arn}` }),
    });
  });

  test('still plans offline: no data source is read', () => {
    expect(stack.data).toBeUndefined();
  });

  test('every stack passes every policy rule with no suppression', () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, POLICY_REPORT_FILE), 'utf8')) as PolicyReport;
    for (const result of report.stacks) {
      expect({
        stack: result.stack,
        violations: result.violations,
        suppressions: result.suppressions,
      }).toEqual({
        stack: result.stack,
        violations: [],
        suppressions: [],
      });
    }
  });

  test('deletion protection turned off with a reason is a recorded suppression', () => {
    const preview = synthApp(
      withCreatedLoadBalancer({
        subnetIds: ['subnet-0c3d0000000000d03', 'subnet-0c3d0000000000e03'],
        certificateArn: 'arn:aws:acm:eu-west-1:333333333333:certificate/0c3d0000-0000-4000-8000-0000000000c3',
        disableDeletionProtection: { reason: 'torn down with the preview environment' },
      }),
    );
    const json = readStack(preview, 'prod-services') as StackJson & {
      '//': { gantry_policy: { suppressions: unknown[] } };
    };
    expect(json['//'].gantry_policy.suppressions).toEqual([
      {
        ruleId: 'GANTRY-ELB-002',
        address: `aws_lb.${lbName}`,
        reason: 'deletion protection off: torn down with the preview environment',
      },
    ]);
  });

  test('the existing-listener form is unchanged: no load balancer, no output', () => {
    const reference = readStack(synthApp(), 'prod-services');
    expect(reference.resource?.aws_lb).toBeUndefined();
    expect(reference.resource?.aws_vpc_security_group_egress_rule).toBeUndefined();
    expect(reference.output).toBeUndefined();
  });
});

describe('ECS Exec on a service (prod api, enableExecuteCommand)', () => {
  const outdir = synthApp(withEnvironment('prod', withExecOnApi));
  const services = readStack(outdir, 'prod-services');
  const foundation = readStack(outdir, 'prod-foundation');

  test('only the api service allows ECS Exec', () => {
    const flags = resourcesOf(services, 'aws_ecs_service').map(([, s]) => [s.name, s.enable_execute_command]);
    expect(flags.sort()).toEqual([
      ['admin', false],
      ['admin-frontend', false],
      ['api', true],
      ['worker', false],
    ]);
  });

  test("the api task role may use ECS Exec on the services stack's log group and key alias, nothing else does", () => {
    const exec = resourcesOf(foundation, 'aws_iam_role_policy').filter(([, p]) => p.name === 'ecs-exec');
    expect(exec).toHaveLength(1);
    const [, policy] = exec[0];
    expect(policy.role).toMatch(/^\$\{aws_iam_role\.service-roles-api_task_[0-9A-F]+\.name\}$/);
    const statements = (JSON.parse(policy.policy as string) as { Statement: Array<Record<string, unknown>> })
      .Statement;
    const [, cluster] = single(services, 'aws_ecs_cluster');
    const logGroup = JSON.stringify(cluster).match(/"cloud_watch_log_group_name":"([^"]+)"/)?.[1];
    const [groupId] = /aws_cloudwatch_log_group\.([^.]+)\.name/.exec(String(logGroup))?.slice(1) ?? [];
    const execLogGroup = services.resource?.aws_cloudwatch_log_group?.[groupId]?.name;
    expect(execLogGroup).toBe('/gantry/acme-prod/ecs-exec');
    expect(statements.find((s) => s.Sid === 'EcsExecWriteSessionLogs')?.Resource).toBe(
      `arn:aws:logs:eu-west-1:333333333333:log-group:${String(execLogGroup)}:*`,
    );
    const [, alias] = single(services, 'aws_kms_alias');
    expect(statements.find((s) => s.Sid === 'EcsExecDecryptSessions')?.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias.name },
    });
  });

  test('the reference configuration keeps ECS Exec off everywhere', () => {
    const reference = synthApp();
    for (const env of ['dev', 'staging', 'prod']) {
      const flags = resourcesOf(readStack(reference, `${env}-services`), 'aws_ecs_service').map(
        ([, s]) => s.enable_execute_command,
      );
      expect(new Set(flags)).toEqual(new Set([false]));
      const policies = resourcesOf(readStack(reference, `${env}-foundation`), 'aws_iam_role_policy');
      expect(policies.filter(([, p]) => p.name === 'ecs-exec')).toEqual([]);
    }
  });
});
