/**
 * A `package-lock.json` for a consumer app that installs Gantry's tarball beside the packages its own
 * app needs, pinned to exactly the versions of this repository's lock. With it, `npm ci --offline`
 * installs from the npm cache alone: `npm ci` (what CI ran) caches tarballs by integrity, not the
 * registry's metadata, so an install that has to resolve version ranges cannot run offline.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly peer?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [key: string]: unknown;
}

interface Lock {
  readonly packages: Record<string, LockEntry>;
}

/** Where node would find `name` from the package at lock path `from` (`''` is the root). */
function resolveFrom(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

export interface ConsumerLockInput {
  /** The repository's `package-lock.json`. */
  readonly repositoryLock: string;
  /** The consumer's `dependencies` besides Gantry (names from the repository's lock). */
  readonly dependencies: readonly string[];
  /** The tarball `npm pack` made, and its file name relative to the consumer app. */
  readonly tarball: string;
  readonly tarballName: string;
  /** Gantry's own `package.json`. */
  readonly gantryPackage: {
    readonly name: string;
    readonly version: string;
    readonly dependencies?: Record<string, string>;
    readonly peerDependencies?: Record<string, string>;
    readonly bin?: Record<string, string>;
    readonly license?: string;
    readonly engines?: Record<string, string>;
  };
}

/** The consumer's `package.json` and `package-lock.json`, as objects. */
export function consumerLock(input: ConsumerLockInput): { packageJson: object; lock: object } {
  const repo = JSON.parse(fs.readFileSync(input.repositoryLock, 'utf8')) as Lock;
  const versions: Record<string, string> = {};
  for (const name of input.dependencies) {
    const entry = repo.packages[`node_modules/${name}`];
    if (!entry?.version) throw new Error(`${name} is not in ${input.repositoryLock}`);
    versions[name] = entry.version;
  }
  const gantry = input.gantryPackage;
  const dependencies = { ...versions, [gantry.name]: `file:${input.tarballName}` };
  const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(input.tarball)).digest('base64')}`;

  const out: Record<string, LockEntry> = {
    '': { name: 'consumer-app', version: '1.0.0', dependencies },
    [`node_modules/${gantry.name}`]: {
      version: gantry.version,
      resolved: `file:${input.tarballName}`,
      integrity,
      license: gantry.license,
      dependencies: gantry.dependencies,
      bin: gantry.bin,
      engines: gantry.engines,
      peerDependencies: gantry.peerDependencies,
    },
  };
  // Every package the app's dependencies and Gantry's need, transitively, as the repository resolved them.
  const queue: Array<[from: string, name: string, optional: boolean]> = [
    ...input.dependencies.map((name): [string, string, boolean] => ['', name, false]),
    ...Object.keys({ ...gantry.dependencies, ...gantry.peerDependencies }).map(
      (name): [string, string, boolean] => ['', name, false],
    ),
  ];
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift() as [string, string, boolean];
    const at = resolveFrom(repo.packages, from, name);
    if (!at) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${from || 'the app'}) is not in ${input.repositoryLock}`);
    }
    if (out[at]) continue;
    const { dev: _dev, peer: _peer, ...entry } = repo.packages[at];
    out[at] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) queue.push([at, dep, false]);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) queue.push([at, dep, true]);
    for (const [dep] of Object.entries(entry.peerDependencies ?? {})) {
      queue.push([at, dep, entry.peerDependenciesMeta?.[dep]?.optional === true]);
    }
  }
  // Bundled dependencies travel inside their parent's tarball: keep them listed with it.
  for (const [path, entry] of Object.entries(repo.packages)) {
    if (
      entry.inBundle &&
      !out[path] &&
      Object.keys(out).some((p) => p && path.startsWith(`${p}/node_modules/`))
    ) {
      const { dev: _dev, peer: _peer, ...rest } = entry;
      out[path] = rest;
    }
  }
  return {
    packageJson: { name: 'consumer-app', version: '1.0.0', private: true, dependencies },
    lock: { name: 'consumer-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: out },
  };
}
