/**
 * The HTTPS listener services attach their rules to: an existing one (`listenerArn` and
 * `securityGroupId`), or one on an application load balancer `<env>-services` creates (`create`).
 */
import type { ProblemList } from '../core/errors';
import { securityGroupIdProblem } from '../core/identifiers';
import type { ApplicationLoadBalancerSettings } from '../service/application-load-balancer';
import { loadBalancerSettingsProblems } from '../service/private/load-balancer-settings';
import { loadBalancerSuffixOfListener } from '../service/private/names';
import { show } from '../core/errors';

/** Exactly one form. */
export type LoadBalancerConfig = ExistingLoadBalancerConfig | CreatedLoadBalancerConfig;

/** An existing ALB's HTTPS listener. */
export interface ExistingLoadBalancerConfig {
  /** ARN of an existing ALB listener. */
  readonly listenerArn: string;
  /** Security group of that load balancer; tasks accept traffic only from it. */
  readonly securityGroupId: string;
}

/** An application load balancer `<env>-services` creates, named `<org>-<env>`. */
export interface CreatedLoadBalancerConfig {
  readonly create: LoadBalancerCreateConfig;
}

/**
 * The settings of the load balancer `<env>-services` creates: those of the `ApplicationLoadBalancer`
 * construct (`subnetIds` and `certificateArn` required; `internal`, `allowedCidrs`, `sslPolicy`,
 * `httpRedirect`, `desyncMitigationMode`, `idleTimeoutSeconds`, `accessLogs`,
 * `disableDeletionProtection` optional, each documented with its default there). The certificate must
 * be in the environment's account and region.
 */
export type LoadBalancerCreateConfig = ApplicationLoadBalancerSettings;

/**
 * Exactly one form of `loadBalancer`: an existing listener (`listenerArn` and `securityGroupId`), or
 * `create`, whose settings are checked like the `ApplicationLoadBalancer` construct checks them, with
 * the certificate in the environment's account and region.
 */
export function validateLoadBalancer(
  env: {
    readonly name: string;
    readonly accountId: string;
    readonly region: string;
    readonly loadBalancer?: LoadBalancerConfig;
  },
  organization: string,
  problems: ProblemList,
): void {
  const lb = env.loadBalancer as
    (Partial<ExistingLoadBalancerConfig> & Partial<CreatedLoadBalancerConfig>) | undefined;
  if (lb === undefined) return;
  const path = `${env.name}.loadBalancer`;
  const existing = lb.listenerArn !== undefined || lb.securityGroupId !== undefined;
  if (lb.create === undefined) {
    if (
      problems.check(
        typeof lb.listenerArn === 'string' && typeof lb.securityGroupId === 'string',
        path,
        'give listenerArn and securityGroupId (an existing HTTPS listener), or create: { subnetIds, certificateArn } (a load balancer Gantry creates)',
      )
    ) {
      problems.check(
        loadBalancerSuffixOfListener(lb.listenerArn as string) !== undefined,
        `${path}.listenerArn`,
        `${show(lb.listenerArn)} is not an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)`,
      );
      problems.addIf(`${path}.securityGroupId`, securityGroupIdProblem(lb.securityGroupId));
    }
    return;
  }
  if (existing) {
    problems.add(
      path,
      'gives both create and listenerArn/securityGroupId; give one form: create (Gantry creates the load balancer) or listenerArn and securityGroupId (an existing listener)',
    );
  }
  problems.addAll(`${path}.create`, loadBalancerSettingsProblems(lb.create, env));
  const name = `${organization}-${env.name}`;
  problems.check(
    !name.startsWith('internal-'),
    `${path}.create`,
    `the load balancer would be named ${show(name)}, and ELB reserves names starting with "internal-"; rename the organization`,
  );
}
