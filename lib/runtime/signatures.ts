/**
 * Image signatures checked before a services apply: each image, named by digest, must carry a Cosign
 * signature (the "simple signing" payload naming that repository and that digest) that verifies under a
 * trusted key. An unsigned or wrongly signed image is refused (exit 3) with a `refused` row.
 *
 * This verifier checks key-based signatures from recorded bundles (`cosign sign --key`, or a bundle
 * saved by `cosign download signature`), which runs offline and in tests. Keyless signatures made by
 * `build-publish.yml` (and the push builds) are verified by `cosign verify` itself, inside the deploy:
 * `release/keyless.ts` (`gantry deploy --verify-signatures keyless`).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT, RuntimeError } from './errors';
import type { Ledger, StartRunInput } from './ledger';

/** A recorded signature: the signed payload and the signature, both base64 (as `cosign` stores them). */
export interface SignatureBundle {
  readonly payload: string;
  readonly signature: string;
}

/** One image to check: `<repository>@<digest>`, and its recorded signature when there is one. */
export interface ImageToVerify {
  readonly service: string;
  /** `<registry>/<name>`, e.g. `111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api`. */
  readonly repository: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  readonly bundle?: SignatureBundle;
}

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
/** An image digest as registries and cosign write it. */
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Why the image's signature does not hold, or undefined when it verifies under one of `keys`. */
export function signatureProblem(image: ImageToVerify, keys: readonly KeyObject[]): string | undefined {
  if (!DIGEST.test(image.digest)) return `digest ${JSON.stringify(image.digest)} is not sha256:<64 hex>`;
  if (!image.bundle) return 'no signature found (unsigned image)';
  let payload: Buffer;
  let signature: Buffer;
  try {
    payload = Buffer.from(image.bundle.payload, 'base64');
    signature = Buffer.from(image.bundle.signature, 'base64');
  } catch {
    return 'the signature bundle is not base64';
  }
  if (!keys.some((key) => verify('sha256', payload, key, signature)))
    return 'the signature does not verify under any trusted key (wrongly signed)';
  let claims: {
    critical?: { type?: unknown; image?: Record<string, unknown>; identity?: Record<string, unknown> };
  };
  try {
    claims = JSON.parse(payload.toString('utf8')) as typeof claims;
  } catch {
    return 'the signed payload is not JSON';
  }
  const critical = claims.critical ?? {};
  if (critical.type !== SIMPLE_SIGNING_TYPE) return `the signed payload is not a ${SIMPLE_SIGNING_TYPE}`;
  if (critical.image?.['docker-manifest-digest'] !== image.digest)
    return `the signature is for ${JSON.stringify(critical.image?.['docker-manifest-digest'])}, not ${image.digest}`;
  if (critical.identity?.['docker-reference'] !== image.repository)
    return `the signature is for repository ${JSON.stringify(critical.identity?.['docker-reference'])}, not ${image.repository}`;
  return undefined;
}

/** The trusted public keys from PEM files (`option` names the flag they came from, for the error). */
export function readPublicKeys(files: readonly string[], cwd: string, option = '--key'): KeyObject[] {
  return files.map((file) => {
    try {
      return createPublicKey(fs.readFileSync(path.resolve(cwd, file)));
    } catch (error) {
      throw new RuntimeError(
        `${option} ${file}: not a readable PEM public key (${(error as Error).message})`,
        EXIT.failure,
      );
    }
  });
}

/** `<dir>/<service>.json` when it exists. */
export function readBundle(dir: string, service: string): SignatureBundle | undefined {
  const file = path.join(dir, `${service}.json`);
  if (!fs.existsSync(file)) return undefined;
  let parsed: Partial<SignatureBundle>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SignatureBundle>;
  } catch {
    parsed = {};
  }
  // A bundle that is not { payload, signature } verifies under no key: refused as wrongly signed.
  return {
    payload: typeof parsed.payload === 'string' ? parsed.payload : '',
    signature: typeof parsed.signature === 'string' ? parsed.signature : '',
  };
}

/** One line per image whose signature does not hold: `<service> (<repository>@<digest>): <why>`. */
export function signatureProblems(images: readonly ImageToVerify[], keys: readonly KeyObject[]): string[] {
  return images.flatMap((image) => {
    const problem = signatureProblem(image, keys);
    return problem ? [`${image.service} (${image.repository}@${image.digest}): ${problem}`] : [];
  });
}

/** The reason a refused row gives for `problems`. */
export const signatureRefusal = (problems: readonly string[]) =>
  `image signature check failed: ${problems.join('; ')}`;

/**
 * Checks every image; when one fails, writes one `refused` row for `<env>-services` naming each problem
 * and throws a RuntimeError with exit 3. Returns the verified digests by service.
 */
export async function verifyImages(options: {
  readonly ledger: Ledger;
  readonly environment: string;
  readonly images: readonly ImageToVerify[];
  readonly keys: readonly KeyObject[];
  readonly run: Omit<StartRunInput, 'stack' | 'action' | 'environment'>;
}): Promise<Record<string, string>> {
  const problems = signatureProblems(options.images, options.keys);
  if (options.images.length === 0) problems.push('no image given to verify');
  if (problems.length > 0) {
    const reason = signatureRefusal(problems);
    const row = await options.ledger.recordRefusal({
      ...options.run,
      stack: `${options.environment}-services`,
      action: 'apply',
      environment: options.environment,
      reason,
    });
    throw new RuntimeError(`refused (ledger row ${row.id}): ${reason}`, EXIT.refused);
  }
  return Object.fromEntries(options.images.map((i) => [i.service, i.digest]));
}
