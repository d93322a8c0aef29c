/**
 * The ECS SDK, loaded when a command first talks to ECS (deploy, rollback, migrate), not when
 * Gantry is imported: the constructs' import stays light.
 */
import type * as Ecs from '@aws-sdk/client-ecs';

export function ecsSdk(): typeof Ecs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-ecs') as typeof Ecs;
}
