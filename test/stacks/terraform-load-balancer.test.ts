import * as path from 'node:path';
import type { EnvironmentConfig } from '../../lib/config';
import { describeWithTerraform, OfflineTerraform, type PlanJson } from '../terraform-harness';
import { synthApp, withCreatedLoadBalancer } from '../util';

/** The parts of `show -json` beyond `PlanJson` these tests read: what each attribute refers to. */
interface PlanWithConfiguration extends PlanJson {
  readonly configuration: {
    readonly root_module: {
      readonly resources: ReadonlyArray<{
        readonly address: string;
        readonly expressions: Record<string, { readonly references?: readonly string[] }>;
      }>;
    };
  };
}

const withExecOnApi = (env: EnvironmentConfig): EnvironmentConfig => ({
  ...env,
  services: env.services.map((s) => (s.name === 'api' ? { ...s, enableExecuteCommand: true } : s)),
});

// Real Terraform: prod with a load balancer Gantry creates and ECS Exec on api, planned (`plan`
// validates first) (fake credentials, no API calls), read back from `show -json`.
describeWithTerraform('terraform on prod with a created load balancer and ECS Exec', () => {
  const outdir = synthApp(withCreatedLoadBalancer(undefined, withExecOnApi));
  const services = OfflineTerraform.prepare(path.join(outdir, 'stacks', 'prod-services'));
  let plan: PlanWithConfiguration;
  let exitCode: number;

  beforeAll(() => {
    services.init();
    exitCode = services.plan().status;
    plan = services.showJson() as PlanWithConfiguration;
  });
  afterAll(() => services.dispose());

  const created = (type: string) =>
    (plan.resource_changes ?? []).filter((c) => c.type === type && c.change.actions.join() === 'create');
  const after = (type: string) => created(type).map((c) => c.change.after as Record<string, unknown>);
  const references = (address: string, attribute: string): readonly string[] =>
    plan.configuration.root_module.resources.find((r) => r.address === address)?.expressions[attribute]
      ?.references ?? [];

  test('plans only creates, with changes (exit code 2)', () => {
    const managed = (plan.resource_changes ?? []).filter((c) => c.mode === 'managed');
    expect(managed.every((c) => c.change.actions.join() === 'create')).toBe(true);
    expect(exitCode).toBe(2);
  });

  test('contains the ALB with its strict settings', () => {
    expect(after('aws_lb')).toEqual([
      expect.objectContaining({
        name: 'acme-prod',
        internal: false,
        load_balancer_type: 'application',
        drop_invalid_header_fields: true,
        desync_mitigation_mode: 'defensive',
        enable_deletion_protection: true,
        subnets: ['subnet-0c3d0000000000d03', 'subnet-0c3d0000000000e03'],
      }),
    ]);
  });

  test('contains the HTTPS listener (TLS 1.3/1.2, fixed 404) and the HTTP redirect listener', () => {
    const listeners = after('aws_lb_listener').sort((a, b) => Number(a.port) - Number(b.port));
    expect(listeners).toEqual([
      expect.objectContaining({
        port: 80,
        protocol: 'HTTP',
        default_action: [
          expect.objectContaining({
            type: 'redirect',
            redirect: [expect.objectContaining({ port: '443', protocol: 'HTTPS', status_code: 'HTTP_301' })],
          }),
        ],
      }),
      expect.objectContaining({
        port: 443,
        protocol: 'HTTPS',
        ssl_policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        certificate_arn:
          'arn:aws:acm:eu-west-1:333333333333:certificate/0c3d0000-0000-4000-8000-0000000000c3',
        default_action: [
          expect.objectContaining({
            type: 'fixed-response',
            fixed_response: [expect.objectContaining({ status_code: '404' })],
          }),
        ],
      }),
    ]);
  });

  test('contains the security group rules: 443/80 in from anywhere, out to each service port and the IdP', () => {
    expect(
      after('aws_vpc_security_group_ingress_rule')
        .map((r) => `${String(r.from_port)} ${String(r.cidr_ipv4)}`)
        .sort(),
    ).toEqual(['443 0.0.0.0/0', '80 0.0.0.0/0']);
    const egress = created('aws_vpc_security_group_egress_rule');
    expect(egress.map((c) => (c.change.after as { from_port: number }).from_port).sort()).toEqual([
      3000, 443, 8000, 8080,
    ]);
    const toTasks = egress.filter((c) => references(c.address, 'referenced_security_group_id').length > 0);
    expect(toTasks).toHaveLength(3);
    for (const rule of toTasks) {
      expect(references(rule.address, 'referenced_security_group_id')).toContainEqual(
        expect.stringMatching(/^aws_security_group\.[a-z-]+_security-group_[0-9A-F]+\.id$/),
      );
      expect(references(rule.address, 'security_group_id')).toContainEqual(
        expect.stringMatching(/^aws_security_group\.load-balancer_security-group_[0-9A-F]+\.id$/),
      );
    }
  });

  test("every service's listener rule points at the created HTTPS listener", () => {
    const rules = created('aws_lb_listener_rule');
    expect(rules.map((r) => (r.change.after as { priority: number }).priority).sort()).toEqual([
      100, 200, 300,
    ]);
    for (const rule of rules) {
      expect(references(rule.address, 'listener_arn')).toContainEqual(
        expect.stringMatching(/^aws_lb_listener\.load-balancer_https_[0-9A-F]+\.arn$/),
      );
    }
  });

  test('the alarms watch the created load balancer', () => {
    // The worker's alarm (running tasks below desired) watches no load balancer.
    const alarms = created('aws_cloudwatch_metric_alarm').filter(
      (a) => !String((a.change.after as { alarm_name?: string }).alarm_name).endsWith('-tasks-below-desired'),
    );
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      expect(
        JSON.stringify(plan.configuration.root_module.resources.find((r) => r.address === alarm.address)),
      ).toMatch(/aws_lb\.load-balancer_[0-9A-F]+\.arn_suffix/);
    }
  });

  test('api allows ECS Exec with writable agent volumes; the others do not', () => {
    const flags = after('aws_ecs_service').map((s) => [s.name, s.enable_execute_command]);
    expect(flags.sort()).toEqual([
      ['admin', false],
      ['admin-frontend', false],
      ['api', true],
      ['worker', false],
    ]);
    const api = after('aws_ecs_task_definition').find((t) => t.family === 'acme-prod-api');
    expect((api?.volume as Array<{ name: string }>).map((v) => v.name).sort()).toEqual([
      'ecs-exec-managed-agents',
      'ecs-exec-ssm-logs',
      'ecs-exec-ssm-state',
      'tmp',
    ]);
  });

  test("prod-foundation with ECS Exec plans the api task role's ecs-exec policy", () => {
    const foundation = OfflineTerraform.prepare(path.join(outdir, 'stacks', 'prod-foundation'));
    try {
      foundation.init();
      foundation.plan();
      const policies = (foundation.showJson().resource_changes ?? [])
        .filter((c) => c.type === 'aws_iam_role_policy')
        .map((c) => c.change.after as { name: string; policy: string });
      const exec = policies.filter((p) => p.name === 'ecs-exec');
      expect(exec).toHaveLength(1);
      expect(JSON.parse(exec[0].policy)).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({ Sid: 'EcsExecDecryptSessions', Action: 'kms:Decrypt' }),
        ]),
      });
    } finally {
      foundation.dispose();
    }
  });
});
