/**
 * Keyless signatures checked before a services deploy (`gantry deploy --verify-signatures keyless`, or
 * `release.requireSignatures`): for each changed service, `cosign verify` of `<repository>:<tag>` against
 * the identity of the workflow that signs it (`build-publish.yml` of this repository at the deployed tag,
 * or the source repository's signing workflow on a `v*` tag) and GitHub Actions' OIDC issuer. Cosign
 * checks the Fulcio certificate chain, the identity, the Rekor inclusion and the signed digest; Gantry
 * takes the digest from its JSON output (every signature must name the same one) and records it on the
 * deployment row. A non-zero exit, a timeout, output that is not that JSON, or cosign missing refuses.
 *
 * The repository a signature names (`docker-reference`) is not compared: the same digest is signed in
 * every publish registry and a promotion copies signatures between registries; what is trusted is the
 * identity that signed the digest.
 */
import type { ReleaseSigner } from '../../core/release-facts';
import { isObject } from '../../core/stack-facts';
import { runCommand, type CommandRunner } from '../command';
import { DIGEST, SIMPLE_SIGNING_TYPE } from '../signatures';

/** The OIDC issuer of GitHub Actions' tokens, which Fulcio names in the certificate. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** How long one `cosign verify` may take (registry, Rekor and TUF lookups). */
export const COSIGN_TIMEOUT_MS = 120_000;

/** Characters of cosign's output kept: room for many signatures with their bundles. */
export const COSIGN_MAX_OUTPUT = 4 * 1024 * 1024;

/** The certificate identity cosign must find: exact, or an anchored regular expression (Go syntax). */
export interface ExpectedIdentity {
  readonly kind: 'exact' | 'regexp';
  readonly value: string;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The identity a signature of `signer` on the image tagged `tag` carries, or why there is none: this
 * repository's `build-publish.yml` runs on `v*` tags and tags each image with its git tag, so the
 * certificate names that very tag; a push build (`sha-<commit>`, environments pushes deploy) is signed by
 * the default branch's run of `terraform-apply.yml`; a source repository tags its images itself, so any of
 * its `v*` tags.
 */
export function expectedIdentity(signer: ReleaseSigner, tag: string): ExpectedIdentity | string {
  const workflow = `https://github.com/${signer.repository}/.github/workflows/${signer.workflow}`;
  if (signer.tag === 'any-v') return { kind: 'regexp', value: `^${escapeRegExp(workflow)}@refs/tags/v` };
  if (tag.startsWith('v')) return { kind: 'exact', value: `${workflow}@refs/tags/${tag}` };
  // A push build (`sha-<commit>`): the default branch's run of the apply workflow signed it.
  if (signer.push && tag.startsWith('sha-'))
    return {
      kind: 'exact',
      value: `https://github.com/${signer.repository}/.github/workflows/${signer.push.workflow}@refs/heads/${signer.push.branch}`,
    };
  return signer.push
    ? `tag ${JSON.stringify(tag)} is neither a v* tag (${signer.workflow} signs those) nor a push build's sha- tag (${signer.push.workflow} on ${signer.push.branch})`
    : `tag ${JSON.stringify(tag)} is not a v* tag: ${signer.workflow} signs only the images of v* tags (no push build signs images for this environment)`;
}

/** `cosign verify` of `reference` for `identity` and GitHub Actions' issuer, JSON on stdout. */
export function cosignVerifyArgs(identity: ExpectedIdentity, reference: string): string[] {
  return [
    'verify',
    identity.kind === 'exact' ? '--certificate-identity' : '--certificate-identity-regexp',
    identity.value,
    '--certificate-oidc-issuer',
    GITHUB_ACTIONS_ISSUER,
    '--output',
    'json',
    reference,
  ];
}

/**
 * The digest of cosign's verification output (a JSON array of simple-signing payloads, one per verified
 * signature), or why it cannot be used: not JSON, empty, a payload of another type, a digest that is not
 * `sha256:<64 hex>`, signatures naming different digests, or a certificate subject or issuer (when the
 * output names them) other than the expected ones.
 */
export function verifiedDigest(
  stdout: string,
  identity: ExpectedIdentity,
): { digest: string } | { problem: string } {
  let entries: unknown;
  try {
    entries = JSON.parse(stdout);
  } catch {
    return { problem: 'cosign printed no JSON verification output' };
  }
  if (!Array.isArray(entries) || entries.length === 0)
    return { problem: 'cosign printed no verified signature (an empty or non-array output)' };
  const digests = new Set<string>();
  for (const entry of entries as unknown[]) {
    const e = isObject(entry) ? entry : {};
    const critical = isObject(e.critical) ? e.critical : {};
    const image = isObject(critical.image) ? critical.image : {};
    const digest = image['docker-manifest-digest'];
    if (critical.type !== SIMPLE_SIGNING_TYPE)
      return { problem: `cosign's output has a payload that is not a ${SIMPLE_SIGNING_TYPE}` };
    if (typeof digest !== 'string' || !DIGEST.test(digest))
      return { problem: `cosign's output names digest ${JSON.stringify(digest)}, not sha256:<64 hex>` };
    const optional = isObject(e.optional) ? e.optional : {};
    const subject = optional.Subject;
    if (
      typeof subject === 'string' &&
      !(identity.kind === 'exact' ? subject === identity.value : subject.startsWith(unanchored(identity)))
    )
      return { problem: `cosign's output names certificate subject ${JSON.stringify(subject)}` };
    if (typeof optional.Issuer === 'string' && optional.Issuer !== GITHUB_ACTIONS_ISSUER)
      return { problem: `cosign's output names issuer ${JSON.stringify(optional.Issuer)}` };
    digests.add(digest);
  }
  if (digests.size > 1)
    return { problem: `the signatures name different digests (${[...digests].join(', ')})` };
  return { digest: [...digests][0] };
}

/** The literal prefix an `any-v` regexp stands for (the regexp is `^<escaped prefix>`). */
const unanchored = (identity: ExpectedIdentity) => identity.value.replace(/^\^/, '').replace(/\\(.)/g, '$1');

/** A changed service's image as the release facts name it. */
export interface KeylessImage {
  /** The environment's ECR repository of the service (release facts), verified at the deployed tag. */
  readonly repository: string;
  /** Who signs it; null: nothing does, so it is refused. */
  readonly signer: ReleaseSigner | null;
}

/** The keyless check of a release (see the file comment). */
export interface KeylessCheck {
  /** Per service name, its repository and signer (release facts). */
  readonly images: ReadonlyMap<string, KeylessImage>;
  /** The environment cosign runs in (PATH, registry credentials). */
  readonly env: NodeJS.ProcessEnv;
  /** @default `runCommand` (spawn, no shell) */
  readonly run?: CommandRunner;
  /** @default 'cosign' (found on `env.PATH`) */
  readonly cosign?: string;
  /** Per image. @default COSIGN_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/** What to install when cosign is not there. */
export const COSIGN_MISSING =
  'install cosign v2 on the PATH of the deploy (GitHub Actions: sigstore/cosign-installer; elsewhere: ' +
  'https://docs.sigstore.dev/cosign/system_config/installation/)';

/**
 * Verifies the image of each of `services` at its tag; returns the digests by service and one problem
 * per image that does not verify (`<service> (<repository>:<tag>): <why>`, scrubbed). A digest other
 * than the one `recorded` for the tag (a redeploy's, a promotion's) is a problem too. `references` names
 * another image to verify for a service (a promotion's upstream `<repository>@<digest>`). When cosign
 * cannot be started, one problem says what to install, and no further image is tried.
 */
export async function keylessDigests(
  check: KeylessCheck,
  services: readonly { readonly name: string; readonly imageTag: string }[],
  recorded: ReadonlyMap<string, string>,
  scrub: (text: string) => string,
  references: ReadonlyMap<string, string> = new Map(),
): Promise<{ digests: Map<string, string>; problems: string[] }> {
  const run = check.run ?? runCommand;
  const cosign = check.cosign ?? 'cosign';
  const digests = new Map<string, string>();
  const problems: string[] = [];
  for (const s of services) {
    const image = check.images.get(s.name);
    if (!image) {
      problems.push(`${s.name} (tag ${s.imageTag}): no repository in the release facts`);
      continue;
    }
    const reference = references.get(s.name) ?? `${image.repository}:${s.imageTag}`;
    const at = `${s.name} (${reference})`;
    if (!image.signer) {
      problems.push(
        `${at}: nothing signs this service (no sourcePaths, no release.sourceRepositories entry), so no signature can be expected`,
      );
      continue;
    }
    const identity = expectedIdentity(image.signer, s.imageTag);
    if (typeof identity === 'string') {
      problems.push(`${at}: ${identity}`);
      continue;
    }
    const result = await run(cosign, cosignVerifyArgs(identity, reference), {
      env: check.env,
      timeoutMs: check.timeoutMs ?? COSIGN_TIMEOUT_MS,
      scrub,
      // The JSON holds each signature's Rekor bundle (a few KiB each): kept whole, never cut to unparsable.
      maxOutput: COSIGN_MAX_OUTPUT,
    });
    if (result.error !== null) {
      const missing = /ENOENT/.test(result.error);
      problems.push(
        missing
          ? `${cosign} is not installed or not on PATH (${result.error}): ${COSIGN_MISSING}`
          : `${at}: cosign could not run: ${result.error}`,
      );
      if (missing) break;
      continue;
    }
    if (result.timedOut) {
      problems.push(
        `${at}: cosign verify did not finish within ${(check.timeoutMs ?? COSIGN_TIMEOUT_MS) / 1000} s`,
      );
      continue;
    }
    const expected = `${identity.kind === 'exact' ? 'identity' : 'identity matching'} ${identity.value}, issuer ${GITHUB_ACTIONS_ISSUER}`;
    if (result.code !== 0) {
      problems.push(
        `${at}: no valid signature by ${expected} (cosign exited ${result.code}: ${lastError(result.stderr)})`,
      );
      continue;
    }
    const verified = verifiedDigest(result.stdout, identity);
    if ('problem' in verified) {
      problems.push(`${at}: ${verified.problem}`);
      continue;
    }
    const known = recorded.get(s.name);
    if (known && known !== verified.digest) {
      problems.push(`${at}: signed digest ${verified.digest}, the ledger recorded ${known} for this tag`);
      continue;
    }
    digests.set(s.name, verified.digest);
  }
  return { digests, problems };
}

/** Cosign's error, in a line: its `Error: ...` line (the last one), else its last line, at most 300 characters. */
function lastError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const line =
    [...lines].reverse().find((l) => l.startsWith('Error:')) ?? lines[lines.length - 1] ?? 'no output';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
