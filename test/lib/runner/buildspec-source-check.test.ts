/**
 * The deploy buildspec's first commands, run for real in bash against real git repositories: a commit
 * that is not on the default branch, or that is not the commit the apply workflow handed over, stops the
 * build before `npm ci` (docs/security.md, invariant 27), and installs never run install scripts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { deployBuildspec } from '../../../lib/runner/private/buildspec';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...IDENTITY } }).trim();
const IDENTITY = {
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

/** A bare `origin` with `main` and a `feature` branch, and a full clone of it as CodeBuild makes one. */
function repositories(): { clone: string; mainCommit: string; featureCommit: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-buildspec-'));
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  git(work, 'init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(work, 'a.txt'), 'main\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'main');
  const mainCommit = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '--quiet', '-b', 'feature');
  fs.writeFileSync(path.join(work, 'b.txt'), 'feature\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'feature');
  const featureCommit = git(work, 'rev-parse', 'HEAD');
  const origin = path.join(root, 'origin.git');
  git(root, 'clone', '--quiet', '--bare', work, origin);
  const clone = path.join(root, 'clone');
  git(root, 'clone', '--quiet', origin, clone);
  return { clone, mainCommit, featureCommit };
}

function installCommands(withHandoff: boolean): string[] {
  const spec = parse(
    deployBuildspec({
      environmentName: 'prod',
      stacks: ['prod-services'],
      ledgerUrlSecretArn: 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:acme/prod/gantry-ledger-url',
      nodejsVersion: '20',
      synthCommand: 'npm run synth',
      runtimeCommand: 'npx --no -- gantry',
      ...(withHandoff ? { imageTagsParameterName: '/acme/prod/gantry/image-tags' } : {}),
      defaultBranch: 'main',
    }),
  ) as { env: { variables: Record<string, string> }; phases: { install: { commands: string[] } } };
  expect(spec.env.variables.GANTRY_DEFAULT_BRANCH).toBe('main');
  return spec.phases.install.commands;
}

/** Runs the commands as CodeBuild does (one bash, stopping at the first failure), `npm` recording its calls. */
function runInstall(clone: string, commands: string[], env: Record<string, string>) {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-fake-npm-'));
  const calls = path.join(bin, 'calls');
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\necho "npm $*" >> "${calls}"\n`, { mode: 0o755 });
  const script = ['set -e', ...commands].join('\n');
  const result = spawnSync('bash', ['-c', script], {
    cwd: clone,
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, ...env },
  });
  return {
    status: result.status,
    stderr: result.stderr,
    npm: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '',
  };
}

describe('the deploy buildspec checks its source before installing anything', () => {
  const repos = repositories();

  test('a commit on the default branch installs, without install scripts', () => {
    git(repos.clone, 'checkout', '--quiet', repos.mainCommit);
    const run = runInstall(repos.clone, installCommands(false), {
      CODEBUILD_RESOLVED_SOURCE_VERSION: repos.mainCommit,
      GANTRY_DEFAULT_BRANCH: 'main',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.npm).toBe('npm ci --ignore-scripts\n');
  });

  test('a commit of another branch is refused before npm ci', () => {
    git(repos.clone, 'checkout', '--quiet', repos.featureCommit);
    const run = runInstall(repos.clone, installCommands(false), {
      CODEBUILD_RESOLVED_SOURCE_VERSION: repos.featureCommit,
      GANTRY_DEFAULT_BRANCH: 'main',
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`commit ${repos.featureCommit} is not on main`);
    expect(run.npm).toBe('');
  });

  test('no resolved source version, or a default branch the clone does not have, is refused', () => {
    const none = runInstall(repos.clone, installCommands(false), { GANTRY_DEFAULT_BRANCH: 'main' });
    expect(none.status).not.toBe(0);
    expect(none.npm).toBe('');
    const unknown = runInstall(repos.clone, installCommands(false), {
      CODEBUILD_RESOLVED_SOURCE_VERSION: repos.mainCommit,
      GANTRY_DEFAULT_BRANCH: 'trunk',
    });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('trunk is not in the clone');
    expect(unknown.npm).toBe('');
  });

  test('with a handoff, the handed-over commit must be the one checked out', () => {
    git(repos.clone, 'checkout', '--quiet', repos.mainCommit);
    const env = { CODEBUILD_RESOLVED_SOURCE_VERSION: repos.mainCommit, GANTRY_DEFAULT_BRANCH: 'main' };
    const other = runInstall(repos.clone, installCommands(true), {
      ...env,
      GANTRY_IMAGE_TAGS: JSON.stringify({ commit: repos.featureCommit, tags: {} }),
    });
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain(`names commit '${repos.featureCommit}'`);
    expect(other.npm).toBe('');
    const same = runInstall(repos.clone, installCommands(true), {
      ...env,
      GANTRY_IMAGE_TAGS: JSON.stringify({ commit: repos.mainCommit, tags: {} }),
    });
    expect(same.status).toBe(0);
    expect(same.npm).toBe('npm ci --ignore-scripts\n');
  });
});
