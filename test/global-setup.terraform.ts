/**
 * Global setup of the Terraform project: the offline plans that several suites read, made once
 * before any of them starts, one Terraform per core (see test/plan-cache.ts). A suite that plans
 * something else plans it itself; what is planned here is only what is read more than once.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { warmPlanCache } from './plan-cache';
import { terraformAvailable } from './terraform-harness';
import { distinctShapes, PLANNED_SHAPES_ORDER, synthApp, withCreatedLoadBalancer } from './util';

/**
 * The plans read through `cachedPlan`: one reference stack per shape (test/stacks/terraform.test.ts;
 * prod-services also by services-stack.test.ts and deploy-permissions.terraform.test.ts), and
 * prod-services with a created load balancer (deploy-permissions.terraform.test.ts).
 */
export function sharedPlanDirs(): string[] {
  const reference = synthApp();
  const created = synthApp(withCreatedLoadBalancer());
  return [
    ...distinctShapes(reference, PLANNED_SHAPES_ORDER).map((s) => path.join(reference, 'stacks', s.stackId)),
    path.join(created, 'stacks', 'prod-services'),
  ];
}

export default async function globalSetup(): Promise<void> {
  // Without Terraform the suites skip (outside CI) or fail (in CI) themselves, and say why.
  if (!terraformAvailable) return;
  await warmPlanCache(sharedPlanDirs(), Math.max(2, os.availableParallelism()));
}
