/** The VPC an environment's workloads and runners live in: given ids, or SSM parameters to read them from. */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import { subnetIdProblem, vpcIdProblem } from '../core/identifiers';

export type NetworkConfig =
  | {
      readonly vpcId: string;
      readonly privateSubnetIds: readonly string[];
      /** Publish the ids as SSM parameters under `/<org>/<env>/` from the foundation stack. @default false */
      readonly publishToSsm?: boolean;
    }
  | {
      /** Read the ids from SSM parameters under this prefix (`<prefix>vpc-id`, `<prefix>private-subnet-ids`). */
      readonly fromSsm: { readonly prefix: string };
    };

export function validateNetwork(network: NetworkConfig, path: string, problems: ProblemList): void {
  if (typeof network !== 'object' || network === null) {
    problems.add(
      path,
      `${show(network)} is not a network ({ vpcId, privateSubnetIds } or { fromSsm: { prefix } })`,
    );
    return;
  }
  if ('fromSsm' in network) {
    problems.check(
      typeof network.fromSsm?.prefix === 'string' && /^\/[A-Za-z0-9_./-]*\/$/.test(network.fromSsm.prefix),
      `${path}.fromSsm.prefix`,
      `${show(network.fromSsm?.prefix)} must start and end with "/"`,
    );
    return;
  }
  problems.addIf(`${path}.vpcId`, vpcIdProblem(network.vpcId));
  const subnets = Array.isArray(network.privateSubnetIds) ? network.privateSubnetIds : [];
  problems.check(
    subnets.length >= 1,
    `${path}.privateSubnetIds`,
    'no subnet given, at least one private subnet is needed',
  );
  for (const id of subnets) problems.addIf(`${path}.privateSubnetIds`, subnetIdProblem(id));
  if (network.publishToSsm !== undefined) {
    problems.check(
      typeof network.publishToSsm === 'boolean',
      `${path}.publishToSsm`,
      `${show(network.publishToSsm)} must be true or false`,
    );
  }
}
