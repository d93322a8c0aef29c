/**
 * The SNS SDK, loaded when a deploy first publishes to a topic, not when Gantry is imported (as the
 * ECS SDK, `./ecs`); and the client `gantry deploy` publishes with: configured as the ECS client is
 * (the region, here the topic's; endpoint and credentials from the command's environment, else the
 * SDK's defaults).
 */
import type * as Sns from '@aws-sdk/client-sns';
import { awsClientSettings } from '../aws-config';

export function snsSdk(): typeof Sns {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-sns') as typeof Sns;
}

/** Makes the client that publishes to topics of `region`. */
export type SnsClientFactory = (region: string) => Sns.SNSClient;

/** The client factory of a command whose environment is `env` (`CliIo.env`). */
export function snsClientFrom(env: NodeJS.ProcessEnv): SnsClientFactory {
  return (region) => new (snsSdk().SNSClient)(awsClientSettings(env, 'SNS', region));
}

export const defaultSnsClient: SnsClientFactory = snsClientFrom(process.env);
