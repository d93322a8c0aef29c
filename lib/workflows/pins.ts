/**
 * The one place where the third-party actions of the generated workflows are pinned: a full
 * 40-hex commit SHA (a tag can be moved, a commit cannot) and the release it was taken from,
 * written as a comment next to each `uses:` so reviewers and Dependabot/Renovate see the version.
 *
 * Provenance: each SHA is the commit its release tag pointed to, cross-checked against public
 * workflows that pin the same release. Re-verify when bumping:
 * `git ls-remote https://github.com/<action> refs/tags/<version>` (a tag object needs `^{}`).
 */
export interface ActionPin {
  /** `owner/repo` of the action. */
  readonly action: string;
  /** The full commit SHA the workflows use. */
  readonly sha: string;
  /** The release tag that commit is, written as the `# vX.Y.Z` comment. */
  readonly version: string;
}

export const ACTION_PINS = {
  checkout: {
    action: 'actions/checkout',
    sha: '08eba0b27e820071cde6df949e0beb9ba4906955',
    version: 'v4.3.0',
  },
  setupNode: {
    action: 'actions/setup-node',
    sha: '49933ea5288caeca8642d1e84afbd3f7d6820020',
    version: 'v4.4.0',
  },
  setupTerraform: {
    action: 'hashicorp/setup-terraform',
    sha: 'b9cd54a3c349d3f38e8881555d616ced269862dd',
    version: 'v3.1.2',
  },
  configureAwsCredentials: {
    action: 'aws-actions/configure-aws-credentials',
    sha: 'b47578312673ae6fa5b5096b330d9fbac3d116df',
    version: 'v4.2.1',
  },
  githubScript: {
    action: 'actions/github-script',
    sha: '60a0d83039c74a4aee543508d2ffcb1c3799cdea',
    version: 'v7.0.1',
  },
  setupQemu: {
    action: 'docker/setup-qemu-action',
    sha: '29109295f81e9208d7d86ff1c6c12d2833863392',
    version: 'v3.6.0',
  },
  setupBuildx: {
    action: 'docker/setup-buildx-action',
    sha: 'e468171a9de216ec08956ac3ada2f0791b6bd435',
    version: 'v3.11.1',
  },
  buildPush: {
    action: 'docker/build-push-action',
    sha: '263435318d21b8e681c14492fe198d362a7d2c83',
    version: 'v6.18.0',
  },
  cosignInstaller: {
    action: 'sigstore/cosign-installer',
    sha: 'd58896d6a1865668819e1d91763c7751a165e159',
    version: 'v3.9.2',
  },
  attestBuildProvenance: {
    action: 'actions/attest-build-provenance',
    sha: 'e8998f949152b193b063cb0ec769d69d929409be',
    version: 'v2.4.0',
  },
  // v0.35.0: the release recommended after CVE-2026-33634 (older trivy-action tags were re-pointed); SHA only.
  trivy: {
    action: 'aquasecurity/trivy-action',
    sha: '57a97c7e7821a5776cebc9bb87c984fa69cba8f1',
    version: 'v0.35.0',
  },
  grype: {
    action: 'anchore/scan-action',
    sha: 'e1165082ffb1fe366ebaf02d8526e7c4989ea9d2',
    version: 'v7.4.0',
  },
} as const satisfies Record<string, ActionPin>;

export type PinnedAction = keyof typeof ACTION_PINS;

/** The `uses:` value of a pinned action: `owner/repo@<sha>`. */
export function uses(name: PinnedAction): string {
  const pin = ACTION_PINS[name];
  return `${pin.action}@${pin.sha}`;
}

/** A CPU architecture the pinned cosign binary is installed for (`uname -m`: x86_64, aarch64). */
export type CosignArch = 'amd64' | 'arm64';

/**
 * The cosign binary the deploy project's build installs where its deploys need one
 * (`runners.deploy.cosign: 'install'`): the release and the SHA-256 of each Linux binary exactly as the
 * pinned `sigstore/cosign-installer` publishes them in its own action.yml (`bootstrap_version`,
 * `bootstrap_linux_amd64_sha`, `bootstrap_linux_arm64_sha` at commit `installerSha`), so the workflows'
 * cosign and the build's are the same release, checked against the same digests. Bump with
 * `ACTION_PINS.cosignInstaller`: re-take the three values from the new commit's action.yml and set
 * `installerSha` to it (a test holds the two together).
 */
export const COSIGN_BINARY = {
  version: 'v2.5.3',
  /** `<downloadBase>/<version>/cosign-linux-<arch>`. */
  downloadBase: 'https://github.com/sigstore/cosign/releases/download',
  sha256: {
    amd64: '783b5d6c74105401c63946c68d9b2a4e1aab3c8abce043e06b8510b02b623ec9',
    arm64: 'bffabe4cf183122b7de3111257a863c99e7dc6cf1093bfd7bf961de1795589b8',
  } satisfies Record<CosignArch, string>,
  /** The `sigstore/cosign-installer` commit whose action.yml the version and digests were taken from. */
  installerSha: 'd58896d6a1865668819e1d91763c7751a165e159',
} as const;
