/**
 * The deploy buildspec's build phase for `<env>-services`, run for real in bash with a fake `npx`: it is
 * `gantry deploy <env> --no-synth --json`, its Markdown summary is printed to the build log with the
 * marker the apply workflow looks for, and its exit code is the build's.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SUMMARY_LOG_MARKER } from '../../../lib/core/naming';
import { deployBuildspec } from '../../../lib/runner/private/buildspec';

function buildCommands(): string[] {
  const spec = parse(
    deployBuildspec({
      environmentName: 'prod',
      stacks: ['prod-services'],
      deployServices: true,
      ledgerUrlSecretArn: 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:acme/prod/gantry-ledger-url',
      nodejsVersion: '20',
      synthCommand: 'npm run synth',
      runtimeCommand: 'npx --no -- gantry',
      defaultBranch: 'main',
    }),
  ) as { phases: { build: { commands: string[] } } };
  return spec.phases.build.commands;
}

/**
 * Runs the build commands as CodeBuild does (one bash, stopping at the first failure). The fake `npx`
 * records its arguments, writes a summary to `$GITHUB_STEP_SUMMARY` as the runtime does, and exits `code`;
 * the synth command is a no-op.
 */
function runBuild(code: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-buildspec-deploy-'));
  const calls = path.join(dir, 'calls');
  const npx = [
    '#!/usr/bin/env bash',
    `echo "$*" >> "${calls}"`,
    'printf \'### `gantry deploy prod`: verified (run 7)\\n\\n| Service | Tag |\\n\' >> "$GITHUB_STEP_SUMMARY"',
    'echo \'{"outcome":"verified"}\'',
    `exit ${code}`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'npx'), npx, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'npm'), '#!/bin/sh\ntrue\n', { mode: 0o755 });
  const result = spawnSync('bash', ['-c', ['set -e', ...buildCommands(), 'echo after'].join('\n')], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      HOME: process.env.HOME,
      CODEBUILD_RESOLVED_SOURCE_VERSION: 'abc',
    },
  });
  return {
    status: result.status,
    stdout: result.stdout,
    calls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '',
  };
}

describe('the deploy buildspec deploys the services stack', () => {
  test('runs gantry deploy of the environment and prints its summary with the marker', () => {
    const r = runBuild(0);
    expect(r.status).toBe(0);
    expect(r.calls).toBe('--no -- gantry deploy prod --no-synth --json\n');
    const marked = r.stdout.split('\n').filter((l) => l.startsWith(SUMMARY_LOG_MARKER));
    expect(marked).toEqual([
      `${SUMMARY_LOG_MARKER} ### \`gantry deploy prod\`: verified (run 7)`,
      `${SUMMARY_LOG_MARKER} `,
      `${SUMMARY_LOG_MARKER} | Service | Tag |`,
    ]);
    expect(r.stdout).toContain('{"outcome":"verified"}');
    expect(r.stdout).toContain('gantry: deploy of prod exited 0');
    expect(r.stdout).toContain('after');
  });

  test.each([
    [1, 'failed or rolled back'],
    [3, 'refused'],
  ])('exit %i (%s) fails the build, after printing the summary', (code) => {
    const r = runBuild(code);
    expect(r.status).toBe(code);
    expect(r.stdout).toContain(`${SUMMARY_LOG_MARKER} ### \`gantry deploy prod\``);
    expect(r.stdout).toContain(`gantry: deploy of prod exited ${code}`);
    expect(r.stdout).not.toContain('after');
  });

  test('no line of the commands starts with the marker (CodeBuild echoes them into the same log)', () => {
    const lines = buildCommands().flatMap((c) => c.split('\n'));
    expect(lines.filter((l) => l.trimStart().startsWith(SUMMARY_LOG_MARKER))).toEqual([]);
    expect(buildCommands().join('\n')).not.toMatch(/[$%]\{/);
  });
});
