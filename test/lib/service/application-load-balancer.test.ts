import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformOutput, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { Policy } from '../../../lib/policy';
import {
  ApplicationLoadBalancer,
  DEFAULT_LOAD_BALANCER_SSL_POLICY,
  FargateService,
  ServiceRoles,
  type ApplicationLoadBalancerProps,
} from '../../../lib/service';
import { ServiceRepository } from '../../../lib/registry';

const ACCOUNT = '333333333333';
const CERTIFICATE = `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/0c3d0000-0000-4000-8000-0000000000c3`;

const base: ApplicationLoadBalancerProps = {
  name: 'acme-prod',
  accountId: ACCOUNT,
  region: 'eu-west-1',
  vpcId: 'vpc-0c3d0000000000003',
  subnetIds: ['subnet-0c3d0000000000d03', 'subnet-0c3d0000000000e03'],
  certificateArn: CERTIFICATE,
};

type Resources = Record<string, Record<string, Record<string, unknown>>>;

function synth(
  props: ApplicationLoadBalancerProps = base,
  wire?: (alb: ApplicationLoadBalancer) => void,
): Resources {
  const json = Testing.synthScope((scope) => {
    const alb = new ApplicationLoadBalancer(scope, 'alb', props);
    wire?.(alb);
  });
  return (JSON.parse(json) as { resource: Resources }).resource;
}

function all(resources: Resources, type: string): Array<Record<string, unknown>> {
  return Object.values(resources[type] ?? {});
}

/** The ingress rules as `<port> <cidr>`, sorted. */
function ingress(resources: Resources): string[] {
  return all(resources, 'aws_vpc_security_group_ingress_rule')
    .map((r) => `${String(r.from_port)}-${String(r.to_port)} ${String(r.cidr_ipv4)}`)
    .sort();
}

/** The constructor's error message, or '' when it does not throw. */
function problemsOf(props: Partial<ApplicationLoadBalancerProps>): string[] {
  try {
    synth({ ...base, ...props });
  } catch (error) {
    if (error instanceof GantryConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('ApplicationLoadBalancer', () => {
  describe('defaults', () => {
    const resources = synth();

    test('an internet-facing ALB that drops invalid headers, mitigates desync defensively and is protected', () => {
      expect(
        Testing.synthScope((s) => void new ApplicationLoadBalancer(s, 'alb', base)),
      ).toHaveResourceWithProperties(Lb, {
        name: 'acme-prod',
        internal: false,
        load_balancer_type: 'application',
        ip_address_type: 'ipv4',
        subnets: base.subnetIds,
        drop_invalid_header_fields: true,
        desync_mitigation_mode: 'defensive',
        enable_deletion_protection: true,
        idle_timeout: 60,
      });
      expect(all(resources, 'aws_lb')[0]).not.toHaveProperty('access_logs');
    });

    test('HTTPS on 443 with a TLS 1.3/1.2 policy, the certificate and a fixed 404 by default', () => {
      expect(DEFAULT_LOAD_BALANCER_SSL_POLICY).toBe('ELBSecurityPolicy-TLS13-1-2-2021-06');
      const https = all(resources, 'aws_lb_listener').find((l) => l.port === 443);
      expect(https).toMatchObject({
        protocol: 'HTTPS',
        ssl_policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        certificate_arn: CERTIFICATE,
        default_action: [
          {
            type: 'fixed-response',
            fixed_response: { content_type: 'text/plain', message_body: 'Not found', status_code: '404' },
          },
        ],
      });
    });

    test('HTTP on 80 only redirects to HTTPS', () => {
      const http = all(resources, 'aws_lb_listener').find((l) => l.port === 80);
      expect(http).toMatchObject({
        protocol: 'HTTP',
        default_action: [
          { type: 'redirect', redirect: { port: '443', protocol: 'HTTPS', status_code: 'HTTP_301' } },
        ],
      });
      expect(all(resources, 'aws_lb_listener')).toHaveLength(2);
    });

    test('its own security group takes 443 and 80 from anywhere, as separate rules, and has no egress', () => {
      const [group] = all(resources, 'aws_security_group');
      expect(group).toMatchObject({ name: 'acme-prod-alb', vpc_id: 'vpc-0c3d0000000000003' });
      // No inline rules: the rules are separate resources, so Terraform manages neither direction inline.
      expect(group).not.toHaveProperty('ingress');
      expect(group).not.toHaveProperty('egress');
      expect(ingress(resources)).toEqual(['443-443 0.0.0.0/0', '80-80 0.0.0.0/0']);
      expect(resources.aws_vpc_security_group_egress_rule).toBeUndefined();
    });

    test('exposes the DNS name, zone id, ARN and the listener handle for services', () => {
      let name = '';
      const json = Testing.synthScope((scope) => {
        const alb = new ApplicationLoadBalancer(scope, 'alb', base);
        name = alb.name;
        // What a stack would output for a DNS record, and the handle a service attaches with.
        new TerraformOutput(scope, 'handles', {
          value: {
            dns: alb.dnsName,
            zone: alb.zoneId,
            arn: alb.loadBalancerArn,
            listenerArn: alb.listener.listenerArn,
            securityGroupId: alb.listener.securityGroupId,
            loadBalancerArnSuffix: alb.listener.loadBalancerArnSuffix,
          },
        });
      });
      const output = (JSON.parse(json) as { output: Record<string, { value: unknown }> }).output;
      expect(output.handles.value).toEqual({
        dns: expect.stringMatching(/^\$\{aws_lb\.alb_load-balancer_[0-9A-F]+\.dns_name\}$/),
        zone: expect.stringMatching(/^\$\{aws_lb\.alb_load-balancer_[0-9A-F]+\.zone_id\}$/),
        arn: expect.stringMatching(/^\$\{aws_lb\.alb_load-balancer_[0-9A-F]+\.arn\}$/),
        listenerArn: expect.stringMatching(/^\$\{aws_lb_listener\.alb_https_[0-9A-F]+\.arn\}$/),
        securityGroupId: expect.stringMatching(
          /^\$\{aws_security_group\.alb_security-group_[0-9A-F]+\.id\}$/,
        ),
        loadBalancerArnSuffix: expect.stringMatching(
          /^\$\{aws_lb\.alb_load-balancer_[0-9A-F]+\.arn_suffix\}$/,
        ),
      });
      expect(name).toBe('acme-prod');
    });

    test('satisfies every policy rule, with no suppression', () => {
      const app = new App({ outdir: Testing.app().outdir });
      const stack = new TerraformStack(app, 'alb');
      new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: [ACCOUNT] });
      Policy.enforce(stack, { writeReport: false });
      const alb = new ApplicationLoadBalancer(stack, 'alb', base);
      alb.allowTo('api', 'sg-0c3d0000000000a01', 8000);
      alb.allowIdentityProviderEgress();
      const result = Policy.check(stack);
      expect(result.violations).toEqual([]);
      expect(result.suppressions).toEqual([]);
    });
  });

  describe('options', () => {
    test('internal, with the CIDRs that may connect', () => {
      const resources = synth({ ...base, internal: true, allowedCidrs: ['10.30.0.0/16', '192.168.4.0/24'] });
      expect(all(resources, 'aws_lb')[0]).toMatchObject({ internal: true });
      expect(ingress(resources)).toEqual([
        '443-443 10.30.0.0/16',
        '443-443 192.168.4.0/24',
        '80-80 10.30.0.0/16',
        '80-80 192.168.4.0/24',
      ]);
    });

    test('without the HTTP redirect: no port-80 listener and no port-80 ingress', () => {
      const stack = new TerraformStack(Testing.app(), 's');
      const alb = new ApplicationLoadBalancer(stack, 'alb', { ...base, httpRedirect: false });
      expect(alb.httpListenerArn).toBeUndefined();
      const resources = synth({ ...base, httpRedirect: false });
      expect(all(resources, 'aws_lb_listener').map((l) => l.port)).toEqual([443]);
      expect(ingress(resources)).toEqual(['443-443 0.0.0.0/0']);
    });

    test('another TLS 1.2+ policy, strictest desync mitigation, idle timeout and access logs', () => {
      const resources = synth({
        ...base,
        sslPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06',
        desyncMitigationMode: 'strictest',
        idleTimeoutSeconds: 120,
        accessLogs: { bucket: 'acme-prod-elb-logs', prefix: 'acme-prod' },
      });
      expect(all(resources, 'aws_lb')[0]).toMatchObject({
        desync_mitigation_mode: 'strictest',
        idle_timeout: 120,
        access_logs: { enabled: true, bucket: 'acme-prod-elb-logs', prefix: 'acme-prod' },
      });
      expect(all(resources, 'aws_lb_listener').find((l) => l.port === 443)).toMatchObject({
        ssl_policy: 'ELBSecurityPolicy-TLS13-1-3-2021-06',
      });
    });

    test('deletion protection off with a reason is a GANTRY-ELB-002 suppression carrying it', () => {
      const app = new App({ outdir: Testing.app().outdir });
      const stack = new TerraformStack(app, 'preview');
      new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: [ACCOUNT] });
      Policy.enforce(stack, { writeReport: false });
      new ApplicationLoadBalancer(stack, 'alb', {
        ...base,
        disableDeletionProtection: { reason: '  ephemeral preview environment  ' },
      });
      const result = Policy.check(stack);
      expect(result.violations).toEqual([]);
      expect(result.suppressions).toEqual([
        expect.objectContaining({
          ruleId: 'GANTRY-ELB-002',
          address: expect.stringMatching(/^aws_lb\.alb_load-balancer_/),
          reason: 'deletion protection off: ephemeral preview environment',
          findings: [expect.objectContaining({ found: 'enable_deletion_protection = false' })],
        }),
      ]);
    });

    test('a name past 32 characters is shortened with a hash', () => {
      const stack = new TerraformStack(Testing.app(), 's');
      const alb = new ApplicationLoadBalancer(stack, 'alb', {
        ...base,
        name: 'acme-production-eu-west-1-primary',
      });
      expect(alb.name).toHaveLength(32);
      expect(alb.name).toMatch(/^acme-production-eu-west-[0-9a-f]{8}$/);
    });

    test('used twice in one stack with different names, nothing clashes', () => {
      const json = Testing.synthScope((scope) => {
        new ApplicationLoadBalancer(scope, 'public', base);
        new ApplicationLoadBalancer(scope, 'internal', {
          ...base,
          name: 'acme-prod-int',
          internal: true,
          allowedCidrs: ['10.30.0.0/16'],
        });
      });
      const resources = (JSON.parse(json) as { resource: Resources }).resource;
      expect(
        all(resources, 'aws_lb')
          .map((l) => l.name)
          .sort(),
      ).toEqual(['acme-prod', 'acme-prod-int']);
      expect(
        all(resources, 'aws_security_group')
          .map((g) => g.name)
          .sort(),
      ).toEqual(['acme-prod-alb', 'acme-prod-int-alb']);
    });
  });

  describe('egress', () => {
    test('allowTo opens one port to one security group, by reference', () => {
      const resources = synth(base, (alb) => {
        alb.allowTo('api', 'sg-0c3d0000000000a01', 8000);
        alb.allowTo('admin', 'sg-0c3d0000000000a02', 8080);
      });
      const egress = all(resources, 'aws_vpc_security_group_egress_rule');
      expect(egress).toHaveLength(2);
      expect(egress).toEqual([
        expect.objectContaining({
          description: 'To admin on 8080',
          from_port: 8080,
          to_port: 8080,
          referenced_security_group_id: 'sg-0c3d0000000000a02',
        }),
        expect.objectContaining({
          description: 'To api on 8000',
          ip_protocol: 'tcp',
          from_port: 8000,
          to_port: 8000,
          referenced_security_group_id: 'sg-0c3d0000000000a01',
        }),
      ]);
      for (const rule of all(resources, 'aws_vpc_security_group_egress_rule')) {
        expect(rule).not.toHaveProperty('cidr_ipv4');
      }
    });

    test('allowTo refuses a port outside 1..65535', () => {
      const stack = new TerraformStack(Testing.app(), 's');
      const alb = new ApplicationLoadBalancer(stack, 'alb', base);
      expect(() => alb.allowTo('api', 'sg-0c3d0000000000a01', 70000)).toThrow(
        's/alb.allowTo("api"): port 70000 is outside 1..65535',
      );
    });

    test('allowIdentityProviderEgress opens HTTPS out once, however often it is asked', () => {
      const resources = synth(base, (alb) => {
        alb.allowIdentityProviderEgress();
        alb.allowIdentityProviderEgress();
      });
      expect(all(resources, 'aws_vpc_security_group_egress_rule')).toEqual([
        expect.objectContaining({ from_port: 443, to_port: 443, cidr_ipv4: '0.0.0.0/0', ip_protocol: 'tcp' }),
      ]);
    });
  });

  describe('with FargateService', () => {
    test('a service rule, alarms and request scaling use the created listener and load balancer', () => {
      const json = Testing.synthScope((scope) => {
        const alb = new ApplicationLoadBalancer(scope, 'alb', base);
        new FargateService(scope, 'api', {
          serviceName: 'api',
          namePrefix: 'acme-prod',
          region: 'eu-west-1',
          cluster: {
            clusterArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/acme-prod`,
            clusterName: 'acme-prod',
          },
          repository: ServiceRepository.fromName({
            accountId: ACCOUNT,
            region: 'eu-west-1',
            repositoryName: 'acme/api',
          }),
          roles: ServiceRoles.fromNames({
            organization: 'acme',
            environment: 'prod',
            serviceName: 'api',
            accountId: ACCOUNT,
            region: 'eu-west-1',
          }),
          imageTag: 'v1.3.1',
          cpu: 512,
          memoryMiB: 1024,
          vpcId: base.vpcId,
          subnetIds: ['subnet-0c3d0000000000a03', 'subnet-0c3d0000000000b03'],
          kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0c3d0000-0000-4000-8000-000000000001`,
          port: 8000,
          loadBalancer: alb.listener,
          routing: { priority: 100, hostHeaders: ['api.acme.example'] },
        });
      });
      expect(json).toHaveResourceWithProperties(LbListenerRule, {
        listener_arn: expect.stringMatching(/^\$\{aws_lb_listener\.alb_https_[0-9A-F]+\.arn\}$/),
      });
      expect(json).toHaveResourceWithProperties(LbListener, { port: 443 });
      const resources = (JSON.parse(json) as { resource: Resources }).resource;
      const alarm = all(resources, 'aws_cloudwatch_metric_alarm').find(
        (a) => a.metric_name === 'TargetResponseTime',
      );
      expect(alarm?.dimensions).toMatchObject({
        LoadBalancer: expect.stringMatching(/^\$\{aws_lb\.alb_load-balancer_[0-9A-F]+\.arn_suffix\}$/),
      });
      const requests = all(resources, 'aws_appautoscaling_policy').find((p) =>
        String(p.name).endsWith('-requests'),
      );
      expect(JSON.stringify(requests)).toMatch(
        /aws_lb\.alb_load-balancer_[0-9A-F]+\.arn_suffix\}\/\$\{aws_lb_target_group\./,
      );
      const tasks = all(resources, 'aws_security_group').find((g) => g.name === 'acme-prod-api-tasks');
      expect(tasks?.ingress).toEqual([
        expect.objectContaining({
          from_port: 8000,
          security_groups: [
            expect.stringMatching(/^\$\{aws_security_group\.alb_security-group_[0-9A-F]+\.id\}$/),
          ],
        }),
      ]);
      // The service opened the load balancer's egress to its tasks through the listener: no call to forget.
      expect(all(resources, 'aws_vpc_security_group_egress_rule')).toEqual([
        expect.objectContaining({
          from_port: 8000,
          to_port: 8000,
          ip_protocol: 'tcp',
          referenced_security_group_id: expect.stringMatching(
            /^\$\{aws_security_group\.api_security-group_[0-9A-F]+\.id\}$/,
          ),
        }),
      ]);
    });
  });

  describe('rejects', () => {
    test.each<[string, Partial<ApplicationLoadBalancerProps>, string]>([
      [
        'one subnet',
        { subnetIds: ['subnet-0c3d0000000000d03'] },
        'stack/alb.subnetIds: 1 subnet(s) given; an application load balancer needs at least 2, in distinct Availability Zones',
      ],
      [
        'a malformed subnet id',
        { subnetIds: ['subnet-0c3d0000000000d03', 'subnet-XYZ'] },
        'stack/alb.subnetIds: "subnet-XYZ" is not a subnet id (subnet-0123456789abcdef0)',
      ],
      [
        'the same subnet twice',
        { subnetIds: ['subnet-0c3d0000000000d03', 'subnet-0c3d0000000000d03'] },
        'stack/alb.subnetIds: "subnet-0c3d0000000000d03" is listed twice; give distinct subnets',
      ],
      [
        'a certificate that is not an ACM ARN',
        { certificateArn: 'arn:aws:iam::333333333333:server-certificate/acme' },
        'stack/alb.certificateArn: "arn:aws:iam::333333333333:server-certificate/acme" is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
      ],
      [
        'a certificate of another region',
        {
          certificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/0c3d0000-0000-4000-8000-0000000000c3`,
        },
        `stack/alb.certificateArn: "arn:aws:acm:us-east-1:${ACCOUNT}:certificate/0c3d0000-0000-4000-8000-0000000000c3" is in us-east-1/${ACCOUNT}; the load balancer is in eu-west-1/${ACCOUNT}, and ELB uses only certificates of its own account and region`,
      ],
      [
        'a TLS 1.0 security policy',
        { sslPolicy: 'ELBSecurityPolicy-2016-08' },
        'stack/alb.sslPolicy: "ELBSecurityPolicy-2016-08" is not a TLS 1.2+ ELB security policy (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -TLS-1-2-*, -FS-1-2-*; e.g. "ELBSecurityPolicy-TLS13-1-2-2021-06")',
      ],
      [
        'an internal load balancer without CIDRs',
        { internal: true },
        'stack/alb.allowedCidrs: not given, but the load balancer is internal; name the networks that may reach it (e.g. the VPC CIDR "10.0.0.0/16")',
      ],
      [
        'an empty CIDR list',
        { allowedCidrs: [] },
        'stack/alb.allowedCidrs: empty, so no one could connect; name at least one IPv4 CIDR (or leave it out for "0.0.0.0/0" on an internet-facing load balancer)',
      ],
      [
        'a CIDR with host bits',
        { allowedCidrs: ['10.30.1.7/16'] },
        'stack/alb.allowedCidrs: "10.30.1.7/16" is not a network address (host bits set); did you mean "10.30.0.0/16"?',
      ],
      [
        'something that is not a CIDR',
        { allowedCidrs: ['10.300.0.0/16'] },
        'stack/alb.allowedCidrs: "10.300.0.0/16" is not an IPv4 CIDR (a.b.c.d/n, e.g. "203.0.113.0/24")',
      ],
      [
        'the monitor desync mode',
        { desyncMitigationMode: 'monitor' as 'defensive' },
        'stack/alb.desyncMitigationMode: "monitor" is not "defensive" or "strictest" ("monitor" lets desync requests through)',
      ],
      [
        'an idle timeout past 4000 s',
        { idleTimeoutSeconds: 4001 },
        'stack/alb.idleTimeoutSeconds: 4001 must be an integer from 1 to 4000 seconds',
      ],
      [
        'an access-log prefix with a leading slash',
        { accessLogs: { bucket: 'acme-elb-logs', prefix: '/acme' } },
        'stack/alb.accessLogs.prefix: "/acme" must be non-empty and neither start nor end with "/" (ELB adds "/AWSLogs/<account>/...")',
      ],
      [
        'an access-log prefix containing AWSLogs',
        { accessLogs: { bucket: 'acme-elb-logs', prefix: 'AWSLogs' } },
        'stack/alb.accessLogs.prefix: "AWSLogs" contains "AWSLogs", which Elastic Load Balancing refuses in a prefix',
      ],
      [
        'an access-log bucket that is not a bucket name',
        { accessLogs: { bucket: 'Acme_Logs' } },
        "stack/alb.accessLogs.bucket: \"Acme_Logs\" is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')",
      ],
      [
        'deletion protection off without a reason',
        { disableDeletionProtection: { reason: 'test' } },
        'stack/alb.disableDeletionProtection.reason: deletion protection stays on unless a reason of 10+ characters says why the load balancer may be deleted (e.g. "ephemeral preview environment")',
      ],
      [
        'a name ELB reserves',
        { name: 'internal-prod' },
        'stack/alb.name: "internal-prod" starts with "internal-", which ELB reserves',
      ],
      [
        'a name with characters ELB refuses',
        { name: 'acme_prod' },
        `stack/alb.name: "acme_prod" must be letters, digits and '-', not starting or ending with '-'`,
      ],
    ])('%s', (_case, props, problem) => {
      expect(problemsOf(props)).toEqual([problem]);
      expect(() => synth({ ...base, ...props })).toThrow(GantryConfigError);
    });

    test('a CIDR given as a reference (the CIDRs name the ingress rules)', () => {
      const stack = new TerraformStack(Testing.app(), 's');
      const cidr = new TerraformVariable(stack, 'cidr', { type: 'string' }).stringValue;
      expect(() => new ApplicationLoadBalancer(stack, 'alb', { ...base, allowedCidrs: [cidr] })).toThrow(
        's/alb.allowedCidrs: a reference was given; the CIDRs name the ingress rules, so give literals',
      );
    });

    test('every problem at once', () => {
      expect(
        problemsOf({
          subnetIds: ['subnet-0c3d0000000000d03'],
          sslPolicy: 'ELBSecurityPolicy-2016-08',
          idleTimeoutSeconds: 0,
        }),
      ).toEqual([
        expect.stringMatching(/^stack\/alb\.subnetIds: /),
        expect.stringMatching(/^stack\/alb\.sslPolicy: /),
        expect.stringMatching(/^stack\/alb\.idleTimeoutSeconds: /),
      ]);
    });
  });
});
