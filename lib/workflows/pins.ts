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
} as const satisfies Record<string, ActionPin>;

export type PinnedAction = keyof typeof ACTION_PINS;

/** The `uses:` value of a pinned action: `owner/repo@<sha>`. */
export function uses(name: PinnedAction): string {
  const pin = ACTION_PINS[name];
  return `${pin.action}@${pin.sha}`;
}
