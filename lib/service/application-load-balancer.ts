import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { GantryConfigError } from '../core/errors';
import { Policy } from '../policy';
import type { ServiceListener } from './fargate-service';
import { loadBalancerSettingsProblems } from './private/load-balancer-settings';
import { fitName } from './private/names';

/** The HTTPS listener's security policy unless one is given: TLS 1.3 and 1.2, no older protocol. */
export const DEFAULT_LOAD_BALANCER_SSL_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/** How a load balancer is set up: the props beyond its place (the configuration's `loadBalancer.create`). */
export interface ApplicationLoadBalancerSettings {
  /**
   * At least two subnets in distinct Availability Zones: public subnets for an internet-facing load
   * balancer, private ones for an internal one.
   */
  readonly subnetIds: readonly string[];
  /** ACM certificate ARN of the HTTPS listener, in `accountId` and `region`. */
  readonly certificateArn: string;
  /** Internal (VPC-only) instead of internet-facing. @default false */
  readonly internal?: boolean;
  /**
   * Literal IPv4 CIDRs that may connect on 443 (and 80 for the redirect).
   * @default ['0.0.0.0/0'] when internet-facing; required when `internal`
   */
  readonly allowedCidrs?: readonly string[];
  /** A TLS 1.2+ security policy of the HTTPS listener. @default 'ELBSecurityPolicy-TLS13-1-2-2021-06' */
  readonly sslPolicy?: string;
  /** An HTTP listener on port 80 that only redirects to HTTPS. @default true */
  readonly httpRedirect?: boolean;
  /** @default 'defensive' */
  readonly desyncMitigationMode?: 'defensive' | 'strictest';
  /** @default 60 */
  readonly idleTimeoutSeconds?: number;
  /** Access logs to an existing bucket that lets Elastic Load Balancing write. @default none */
  readonly accessLogs?: { readonly bucket: string; readonly prefix?: string };
  /**
   * Turns deletion protection off, for this reason (10+ characters), recorded as a GANTRY-ELB-002
   * suppression in the stack's metadata. @default deletion protection on
   */
  readonly disableDeletionProtection?: { readonly reason: string };
}

export interface ApplicationLoadBalancerProps extends ApplicationLoadBalancerSettings {
  /**
   * Name of the load balancer (`<name>`) and of its security group (`<name>-alb`), e.g. `acme-prod`;
   * shortened with a hash past ELB's 32 characters. Must not start with `internal-`.
   */
  readonly name: string;
  /** The account and region of the load balancer (its certificate must be in them). */
  readonly accountId: string;
  readonly region: string;
  readonly vpcId: string;
}

/**
 * An application load balancer with strict defaults, for `FargateService`s to attach to:
 * - invalid header fields dropped, desync mitigation `defensive` (or `strictest`), deletion
 *   protection on unless turned off with a reason, optional access logs;
 * - an HTTPS listener on 443 with a TLS 1.2+ policy (default `ELBSecurityPolicy-TLS13-1-2-2021-06`)
 *   whose default action is a fixed 404, and (default on) an HTTP listener on 80 that only
 *   redirects to HTTPS;
 * - its own security group: ingress 443 (and 80 with the redirect) from `allowedCidrs`, and no
 *   egress at all until `allowTo` opens one port to one security group (a task's), or
 *   `allowIdentityProviderEgress` opens HTTPS for Cognito/OIDC authentication. Its rules are
 *   separate resources, so the target security groups may reference this one without a cycle.
 *
 * `listener` is the handle to pass as `FargateServiceProps.loadBalancer`; `dnsName` and `zoneId` are
 * what a DNS alias record points at.
 */
export class ApplicationLoadBalancer extends Construct {
  /** The load balancer's name (at most 32 characters). */
  public readonly name: string;
  public readonly loadBalancerArn: string;
  /** `app/<name>/<id>`: the `LoadBalancer` dimension of CloudWatch metrics. */
  public readonly loadBalancerArnSuffix: string;
  /** DNS name to point a CNAME or alias record at. */
  public readonly dnsName: string;
  /** Route 53 hosted zone id of the load balancer, for an alias record. */
  public readonly zoneId: string;
  public readonly securityGroupId: string;
  public readonly httpsListenerArn: string;
  /** The port-80 redirect listener, unless `httpRedirect` is false. */
  public readonly httpListenerArn?: string;
  /**
   * The HTTPS listener as services attach to it (`FargateServiceProps.loadBalancer`): each service that
   * attaches opens this load balancer's egress to its tasks on its port (`allowTo`), and to the identity
   * provider when its rule authenticates.
   */
  public readonly listener: ServiceListener;
  public readonly loadBalancer: Lb;
  public readonly httpsListener: LbListener;
  public readonly httpListener?: LbListener;
  public readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: ApplicationLoadBalancerProps) {
    super(scope, id);
    const internal = props.internal ?? false;
    const cidrs = props.allowedCidrs ?? (internal ? [] : ['0.0.0.0/0']);
    const redirect = props.httpRedirect ?? true;
    const name = fitName(props.name, 32);
    validate(this.node.path, props, name);
    this.name = name;

    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: fitName(`${props.name}-alb`, 255),
      description: `Gantry load balancer ${name}: HTTPS${redirect ? ' (and the HTTP redirect)' : ''} in, only to the services out`,
      vpcId: props.vpcId,
    });
    this.securityGroupId = this.securityGroup.id;
    const ports = redirect
      ? ([
          ['https', 443],
          ['http', 80],
        ] as const)
      : ([['https', 443]] as const);
    for (const [protocol, port] of ports) {
      for (const cidr of cidrs) {
        new VpcSecurityGroupIngressRule(this, `${protocol}-from-${cidr.replace(/[./]/g, '-')}`, {
          securityGroupId: this.securityGroup.id,
          description: `${protocol.toUpperCase()} from ${cidr}`,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidrIpv4: cidr,
        });
      }
    }

    const lb = new Lb(this, 'load-balancer', {
      name,
      internal,
      loadBalancerType: 'application',
      ipAddressType: 'ipv4',
      securityGroups: [this.securityGroup.id],
      subnets: props.subnetIds as string[],
      dropInvalidHeaderFields: true,
      desyncMitigationMode: props.desyncMitigationMode ?? 'defensive',
      idleTimeout: props.idleTimeoutSeconds ?? 60,
      enableDeletionProtection: props.disableDeletionProtection === undefined,
      ...(props.accessLogs
        ? {
            accessLogs: {
              enabled: true,
              bucket: props.accessLogs.bucket,
              ...(props.accessLogs.prefix !== undefined ? { prefix: props.accessLogs.prefix } : {}),
            },
          }
        : {}),
    });
    if (props.disableDeletionProtection) {
      Policy.suppress(
        lb,
        'GANTRY-ELB-002',
        `deletion protection off: ${props.disableDeletionProtection.reason.trim()}`,
      );
    }
    this.loadBalancer = lb;
    this.loadBalancerArn = lb.arn;
    this.loadBalancerArnSuffix = lb.arnSuffix;
    this.dnsName = lb.dnsName;
    this.zoneId = lb.zoneId;

    const https = new LbListener(this, 'https', {
      loadBalancerArn: lb.arn,
      port: 443,
      protocol: 'HTTPS',
      sslPolicy: props.sslPolicy ?? DEFAULT_LOAD_BALANCER_SSL_POLICY,
      certificateArn: props.certificateArn,
      defaultAction: [
        {
          type: 'fixed-response',
          fixedResponse: { contentType: 'text/plain', messageBody: 'Not found', statusCode: '404' },
        },
      ],
    });
    this.httpsListener = https;
    this.httpsListenerArn = https.arn;
    if (redirect) {
      const http = new LbListener(this, 'http', {
        loadBalancerArn: lb.arn,
        port: 80,
        protocol: 'HTTP',
        defaultAction: [
          { type: 'redirect', redirect: { port: '443', protocol: 'HTTPS', statusCode: 'HTTP_301' } },
        ],
      });
      this.httpListener = http;
      this.httpListenerArn = http.arn;
    }
    this.listener = {
      listenerArn: https.arn,
      securityGroupId: this.securityGroup.id,
      loadBalancerArnSuffix: lb.arnSuffix,
      connectTarget: (target) => {
        this.allowTo(target.id, target.securityGroupId, target.port);
        if (target.authenticated) this.allowIdentityProviderEgress();
      },
    };
  }

  /**
   * Opens the load balancer's egress to one security group on one TCP port (a service's tasks, for
   * forwarded requests and health checks). `id` names the rule and must be unique per load balancer.
   */
  public allowTo(id: string, securityGroupId: string, port: number): void {
    if (!Token.isUnresolved(port) && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new GantryConfigError(
        `${this.node.path}.allowTo(${JSON.stringify(id)}): port ${port} is outside 1..65535`,
      );
    }
    new VpcSecurityGroupEgressRule(this, `to-${id}`, {
      securityGroupId: this.securityGroup.id,
      description: `To ${id} on ${port}`,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      referencedSecurityGroupId: securityGroupId,
    });
  }

  /**
   * Opens egress HTTPS (443) to anywhere: Cognito or OIDC authentication in a listener rule needs the
   * load balancer to reach the identity provider's token and user info endpoints, whose addresses are
   * not fixed. Called once for any number of authenticated rules.
   */
  public allowIdentityProviderEgress(): void {
    if (this.node.tryFindChild('to-identity-provider')) return;
    new VpcSecurityGroupEgressRule(this, 'to-identity-provider', {
      securityGroupId: this.securityGroup.id,
      description: 'HTTPS to the identity provider (Cognito/OIDC token and user info endpoints)',
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: '0.0.0.0/0',
    });
  }
}

function validate(path: string, props: ApplicationLoadBalancerProps, name: string): void {
  const problems = loadBalancerSettingsProblems(props, props).map((p) => `${path}.${p.field}: ${p.message}`);
  if (!Token.isUnresolved(props.name)) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(props.name)) {
      problems.push(
        `${path}.name: ${JSON.stringify(props.name)} must be letters, digits and '-', not starting or ending with '-'`,
      );
    } else if (name.startsWith('internal-')) {
      problems.push(`${path}.name: ${JSON.stringify(name)} starts with "internal-", which ELB reserves`);
    }
  }
  for (const cidr of props.allowedCidrs ?? []) {
    if (Token.isUnresolved(cidr)) {
      problems.push(
        `${path}.allowedCidrs: a reference was given; the CIDRs name the ingress rules, so give literals`,
      );
    }
  }
  if (problems.length > 0) throw new GantryConfigError(problems);
}
