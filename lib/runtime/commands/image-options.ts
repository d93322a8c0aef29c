/**
 * The options that name images by digest and the keys that sign them, shared by `gantry verify-images`
 * and `gantry deploy`: `--image <service>=<repository>@sha256:<64 hex>`, repeatable.
 */
import { InvalidArgumentError } from 'commander';

const IMAGE = /^([a-z0-9][a-z0-9-]*)=([^@\s]+)@(sha256:[0-9a-f]{64})$/;

/** Commander parser of a repeatable `--image`: checks the form, collects the values. */
export function imageOption(value: string, previous: string[] = []): string[] {
  if (!IMAGE.test(value))
    throw new InvalidArgumentError(
      `${JSON.stringify(value)} is not <service>=<repository>@sha256:<64 hex>, e.g. api=111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api@sha256:...`,
    );
  return [...previous, value];
}

/** Commander parser of a repeatable option: collects the values. */
export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The parts of an `--image` value that `imageOption` accepted. */
export function parseImage(value: string): { service: string; repository: string; digest: string } {
  const [, service, repository, digest] = IMAGE.exec(value) as RegExpExecArray;
  return { service, repository, digest };
}
