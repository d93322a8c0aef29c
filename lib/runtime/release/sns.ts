/**
 * The SNS SDK, loaded when a deploy first publishes to a topic, not when Gantry is imported (as the
 * ECS SDK, `./ecs`); and the client `gantry deploy` publishes with: configured as the ECS client is
 * (the region, here the topic's; endpoint and credentials from the SDK's environment and profile).
 */
import type * as Sns from '@aws-sdk/client-sns';

export function snsSdk(): typeof Sns {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-sns') as typeof Sns;
}

/** Makes the client that publishes to topics of `region`. */
export type SnsClientFactory = (region: string) => Sns.SNSClient;

export const defaultSnsClient: SnsClientFactory = (region) => new (snsSdk().SNSClient)({ region });
