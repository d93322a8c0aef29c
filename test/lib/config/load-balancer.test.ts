import type { LoadBalancerCreateConfig, LoadBalancerConfig, ServiceConfig } from '../../../lib/config';
import { PROD_CREATED_LOAD_BALANCER, problemsOf, withCreatedLoadBalancer, withEnvironment } from '../../util';

const created = (change: Partial<LoadBalancerCreateConfig>) =>
  problemsOf(withCreatedLoadBalancer({ ...PROD_CREATED_LOAD_BALANCER, ...change }));

describe('validateConfig: loadBalancer.create', () => {
  test('accepts a created load balancer with the defaults', () => {
    expect(problemsOf(withCreatedLoadBalancer())).toEqual([]);
  });

  test('accepts every option within bounds', () => {
    expect(
      created({
        internal: true,
        allowedCidrs: ['10.30.0.0/16', '192.168.0.0/24'],
        sslPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06',
        httpRedirect: false,
        desyncMitigationMode: 'strictest',
        idleTimeoutSeconds: 300,
        accessLogs: { bucket: 'acme-prod-elb-logs', prefix: 'prod' },
        disableDeletionProtection: { reason: 'ephemeral preview environment' },
      }),
    ).toEqual([]);
  });

  test.each<[string, Partial<LoadBalancerCreateConfig>, string]>([
    [
      'fewer than two subnets',
      { subnetIds: ['subnet-0c3d0000000000d03'] },
      'prod.loadBalancer.create.subnetIds: 1 subnet(s) given; an application load balancer needs at least 2, in distinct Availability Zones',
    ],
    [
      'a malformed subnet id',
      { subnetIds: ['subnet-0c3d0000000000d03', 'sn-1234'] },
      'prod.loadBalancer.create.subnetIds: "sn-1234" is not a subnet id (subnet-0123456789abcdef0)',
    ],
    [
      'a certificate ARN that is not ACM',
      { certificateArn: 'my-certificate' },
      'prod.loadBalancer.create.certificateArn: "my-certificate" is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
    ],
    [
      'a certificate of another account',
      {
        certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/0a1d0000-0000-4000-8000-0000000000c1',
      },
      'prod.loadBalancer.create.certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0a1d0000-0000-4000-8000-0000000000c1" is in eu-west-1/111111111111; the load balancer is in eu-west-1/333333333333, and ELB uses only certificates of its own account and region',
    ],
    [
      'a certificate of us-east-1 (CloudFront)',
      {
        certificateArn: 'arn:aws:acm:us-east-1:333333333333:certificate/0c3d0000-0000-4000-8000-0000000000c3',
      },
      'prod.loadBalancer.create.certificateArn: "arn:aws:acm:us-east-1:333333333333:certificate/0c3d0000-0000-4000-8000-0000000000c3" is in us-east-1/333333333333; the load balancer is in eu-west-1/333333333333, and ELB uses only certificates of its own account and region',
    ],
    [
      'a CIDR that is not one',
      { allowedCidrs: ['10.0.0.0'] },
      'prod.loadBalancer.create.allowedCidrs: "10.0.0.0" is not an IPv4 CIDR (a.b.c.d/n, e.g. "203.0.113.0/24")',
    ],
    [
      'a prefix length past 32',
      { allowedCidrs: ['10.0.0.0/33'] },
      'prod.loadBalancer.create.allowedCidrs: "10.0.0.0/33" is not an IPv4 CIDR (a.b.c.d/n, e.g. "203.0.113.0/24")',
    ],
    [
      'a CIDR with host bits set',
      { allowedCidrs: ['203.0.113.9/24'] },
      'prod.loadBalancer.create.allowedCidrs: "203.0.113.9/24" is not a network address (host bits set); did you mean "203.0.113.0/24"?',
    ],
    [
      'a CIDR listed twice',
      { allowedCidrs: ['10.30.0.0/16', '10.30.0.0/16'] },
      'prod.loadBalancer.create.allowedCidrs: "10.30.0.0/16" is listed twice',
    ],
    [
      'an internal load balancer without CIDRs',
      { internal: true },
      'prod.loadBalancer.create.allowedCidrs: not given, but the load balancer is internal; name the networks that may reach it (e.g. the VPC CIDR "10.0.0.0/16")',
    ],
    [
      'a TLS 1.1 policy',
      { sslPolicy: 'ELBSecurityPolicy-TLS-1-1-2017-01' },
      'prod.loadBalancer.create.sslPolicy: "ELBSecurityPolicy-TLS-1-1-2017-01" is not a TLS 1.2+ ELB security policy (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -TLS-1-2-*, -FS-1-2-*; e.g. "ELBSecurityPolicy-TLS13-1-2-2021-06")',
    ],
    [
      'desync mitigation "monitor"',
      { desyncMitigationMode: 'monitor' as 'defensive' },
      'prod.loadBalancer.create.desyncMitigationMode: "monitor" is not "defensive" or "strictest" ("monitor" lets desync requests through)',
    ],
    [
      'an idle timeout of 0',
      { idleTimeoutSeconds: 0 },
      'prod.loadBalancer.create.idleTimeoutSeconds: 0 must be an integer from 1 to 4000 seconds',
    ],
    [
      'an access-log prefix ending in a slash',
      { accessLogs: { bucket: 'acme-prod-elb-logs', prefix: 'prod/' } },
      'prod.loadBalancer.create.accessLogs.prefix: "prod/" must be non-empty and neither start nor end with "/" (ELB adds "/AWSLogs/<account>/...")',
    ],
    [
      'deletion protection off with an empty reason',
      { disableDeletionProtection: { reason: '   ' } },
      'prod.loadBalancer.create.disableDeletionProtection.reason: deletion protection stays on unless a reason of 10+ characters says why the load balancer may be deleted (e.g. "ephemeral preview environment")',
    ],
    [
      'a redirect flag that is not a boolean',
      { httpRedirect: 'yes' as unknown as boolean },
      'prod.loadBalancer.create.httpRedirect: "yes" must be true or false',
    ],
  ])('rejects %s', (_case, change, problem) => {
    expect(created(change)).toEqual([problem]);
  });

  test('rejects both forms at once', () => {
    const both = {
      create: PROD_CREATED_LOAD_BALANCER,
      listenerArn:
        'arn:aws:elasticloadbalancing:eu-west-1:333333333333:listener/app/acme-prod/0c3d000000000003/0c3d0000000000f3',
      securityGroupId: 'sg-0c3d00000000000a3',
    } as unknown as LoadBalancerConfig;
    expect(problemsOf(withEnvironment('prod', (env) => ({ ...env, loadBalancer: both })))).toEqual([
      'prod.loadBalancer: gives both create and listenerArn/securityGroupId; give one form: create (Gantry creates the load balancer) or listenerArn and securityGroupId (an existing listener)',
    ]);
  });

  test('rejects an existing listener without its security group', () => {
    const half = {
      listenerArn:
        'arn:aws:elasticloadbalancing:eu-west-1:333333333333:listener/app/acme-prod/0c3d000000000003/0c3d0000000000f3',
    } as unknown as LoadBalancerConfig;
    expect(problemsOf(withEnvironment('prod', (env) => ({ ...env, loadBalancer: half })))).toEqual([
      'prod.loadBalancer: give listenerArn and securityGroupId (an existing HTTPS listener), or create: { subnetIds, certificateArn } (a load balancer Gantry creates)',
    ]);
  });

  test('rejects a load balancer name ELB reserves ("internal-...")', () => {
    const config = withCreatedLoadBalancer();
    const internalOrg = { ...config, organization: { ...config.organization, name: 'internal' } };
    expect(problemsOf(internalOrg)).toEqual([
      'prod.loadBalancer.create: the load balancer would be named "internal-prod", and ELB reserves names starting with "internal-"; rename the organization',
    ]);
  });

  test('reports every problem at once', () => {
    expect(
      created({ subnetIds: [], certificateArn: 'x', allowedCidrs: ['300.0.0.0/8'] }).map(
        (p) => p.split(':')[0],
      ),
    ).toEqual([
      'prod.loadBalancer.create.subnetIds',
      'prod.loadBalancer.create.certificateArn',
      'prod.loadBalancer.create.allowedCidrs',
    ]);
  });
});

describe('validateConfig: services[].enableExecuteCommand', () => {
  const withApi = (change: (s: ServiceConfig) => ServiceConfig) =>
    withEnvironment('prod', (env) => ({
      ...env,
      services: env.services.map((s) => (s.name === 'api' ? change(s) : s)),
    }));

  test('is allowed in a production environment when set explicitly, on services and workers', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      services: env.services.map((s) => ({ ...s, enableExecuteCommand: true })),
    }));
    expect(config.environments.find((e) => e.name === 'prod')?.production).toBe(true);
    expect(problemsOf(config)).toEqual([]);
  });

  test('rejects a value that is not a boolean', () => {
    expect(problemsOf(withApi((s) => ({ ...s, enableExecuteCommand: 'yes' as unknown as boolean })))).toEqual(
      ['prod.services[0].enableExecuteCommand: "yes" must be true or false'],
    );
  });
});
