/**
 * The settings of an AWS SDK client a command creates, read from the command's environment
 * (`CliIo.env`) rather than the process's: a command run in-process for another environment (a test,
 * an app embedding the CLI) talks to the endpoint and with the credentials of that environment.
 * What the environment does not set is left to the SDK's defaults (profiles, SSO, instance roles).
 */
export interface AwsClientSettings {
  readonly region: string;
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * `service` is the SDK's service id as in `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `ECS`, `SNS`): that
 * variable wins over `AWS_ENDPOINT_URL`, as in the SDK.
 */
export function awsClientSettings(
  env: NodeJS.ProcessEnv,
  service: string,
  region: string,
): AwsClientSettings {
  const endpoint = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL || undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const credentials =
    accessKeyId && secretAccessKey
      ? {
          accessKeyId,
          secretAccessKey,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  return { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
}
