import { parameterName, secretKind } from './policies';
import { toYaml, type YamlValue } from './yaml-emitter';

export interface DeployBuildspecInputs {
  readonly environmentName: string;
  /** Stacks planned then applied, in order. Validated as `[A-Za-z0-9_-]+` (safe in a shell word). */
  readonly stacks: readonly string[];
  /** Secrets Manager secret ARN or SSM parameter ARN holding the ledger URL. */
  readonly ledgerUrlSecretArn: string;
  readonly nodejsVersion: string;
  readonly synthCommand: string;
  readonly runtimeCommand: string;
  /**
   * SSM parameter name mapped to `GANTRY_IMAGE_TAGS`: the image tags a workflow dispatch bound to
   * its commit, which `gantry plan` applies only at that commit. @default none
   */
  readonly imageTagsParameterName?: string;
  /**
   * Secrets Manager ARN of a GitHub token that can read the repository's Actions runs, mapped to
   * `GANTRY_GITHUB_TOKEN` (with `GANTRY_GITHUB_REPOSITORY`): `gantry apply` verifies an
   * environment's N >= 2 approvals on the run that started the build. @default none
   */
  readonly githubTokenSecretArn?: string;
  /** `owner/name`, exported as `GANTRY_GITHUB_REPOSITORY` with the token. */
  readonly repository?: string;
}

/**
 * The deploy project's buildspec, defined in Terraform so that nothing in the repository (and so no
 * pull request) changes what runs with the apply rights. The commit is the build's source version
 * (`StartBuild --source-version <sha>`); the ledger URL comes from Secrets Manager or Parameter
 * Store at build time, never as a literal; so do a dispatch's image tags and its GitHub run
 * (`GANTRY_IMAGE_TAGS`) and the token that reads the run's approvals (`GANTRY_GITHUB_TOKEN`).
 */
export function deployBuildspec(input: DeployBuildspecInputs): string {
  const kind = secretKind(input.ledgerUrlSecretArn);
  const parameters: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  if (kind === 'ssm') parameters.GANTRY_LEDGER_URL = parameterName(input.ledgerUrlSecretArn);
  else secrets.GANTRY_LEDGER_URL = input.ledgerUrlSecretArn;
  if (input.imageTagsParameterName) parameters.GANTRY_IMAGE_TAGS = input.imageTagsParameterName;
  if (input.githubTokenSecretArn) secrets.GANTRY_GITHUB_TOKEN = input.githubTokenSecretArn;
  const secretRef: Record<string, YamlValue> = {
    ...(Object.keys(parameters).length > 0 ? { 'parameter-store': parameters } : {}),
    ...(Object.keys(secrets).length > 0 ? { 'secrets-manager': secrets } : {}),
  };
  const perStack = input.stacks.flatMap((stack) => [
    `export GANTRY_STACK=${stack}`,
    `${input.runtimeCommand} plan ${stack} --no-synth`,
    `${input.runtimeCommand} apply ${stack}`,
  ]);
  return toYaml({
    version: 0.2,
    env: {
      shell: 'bash',
      variables: {
        CI: 'true',
        GANTRY_ENVIRONMENT: input.environmentName,
        GANTRY_STACKS: input.stacks.join(' '),
        ...(input.githubTokenSecretArn && input.repository
          ? { GANTRY_GITHUB_REPOSITORY: input.repository }
          : {}),
      },
      ...secretRef,
    },
    phases: {
      install: {
        'runtime-versions': { nodejs: input.nodejsVersion },
        commands: ['npm ci'],
      },
      build: {
        commands: [
          // The commit CodeBuild checked out; the build refuses to run without one. (No `${` here:
          // Terraform would read it as an interpolation.)
          'test -n "$CODEBUILD_RESOLVED_SOURCE_VERSION"',
          'export GANTRY_COMMIT="$CODEBUILD_RESOLVED_SOURCE_VERSION"',
          input.synthCommand,
          ...perStack,
        ],
      },
    },
  });
}
