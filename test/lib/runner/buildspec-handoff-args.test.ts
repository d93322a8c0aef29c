/**
 * The deploy project's `gantry deploy` command, run for real in bash with a stand-in runtime that records
 * its arguments: a dispatch's promotion, redeploy and unverified reason reach the build through the handoff
 * value (`promoteFrom`, `redeploy`, `unverifiedReason`) and become `--promote-from` / `--redeploy` /
 * `--unverified-reason`; any other value stops the build
 * before the runtime runs (fail closed).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { deployBuildspec } from '../../../lib/runner/private/buildspec';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-handoff-args-'));
const runtime = path.join(dir, 'fake-gantry');
const argsFile = path.join(dir, 'args');
fs.writeFileSync(runtime, `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > ${JSON.stringify(argsFile)}\n`, {
  mode: 0o755,
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function deployCommand(withHandoff: boolean): string {
  const spec = parse(
    deployBuildspec({
      environmentName: 'staging',
      stacks: ['staging-services'],
      deployServices: true,
      ledgerUrlSecretArn:
        'arn:aws:secretsmanager:eu-west-1:222222222222:secret:acme/staging/gantry-ledger-url',
      nodejsVersion: '20',
      synthCommand: 'npm run synth',
      runtimeCommand: runtime,
      ...(withHandoff ? { imageTagsParameterName: '/acme/staging/gantry/image-tags' } : {}),
      defaultBranch: 'main',
    }),
  ) as { phases: { build: { commands: string[] } } };
  const [command] = spec.phases.build.commands.filter((c) => c.includes(' deploy staging '));
  expect(command).toBeDefined();
  return command;
}

function run(command: string, handoff: unknown): { status: number | null; args?: string[]; stderr: string } {
  fs.rmSync(argsFile, { force: true });
  const result = spawnSync('bash', ['-c', command], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, GANTRY_IMAGE_TAGS: JSON.stringify(handoff) },
  });
  return {
    status: result.status,
    stderr: result.stderr,
    ...(fs.existsSync(argsFile) ? { args: fs.readFileSync(argsFile, 'utf8').trim().split('\n') } : {}),
  };
}

const base = { commit: 'abc123', tags: {}, run: { id: 102, attempt: 1 } };
/** The arguments every deploy of the build starts with. */
const DEPLOY = ['deploy', 'staging', '--no-synth', '--json'];

describe('the handoff of a promotion and a redeploy to the deploy build', () => {
  const command = deployCommand(true);

  test('no promotion, no redeploy: gantry deploy gets no extra flag', () => {
    expect(run(command, base)).toMatchObject({
      status: 0,
      args: DEPLOY,
    });
  });

  test('promoteFrom becomes --promote-from, redeploy: true --redeploy', () => {
    expect(run(command, { ...base, promoteFrom: 'dev' }).args).toEqual([...DEPLOY, '--promote-from', 'dev']);
    expect(run(command, { ...base, redeploy: true }).args).toEqual([...DEPLOY, '--redeploy']);
    expect(run(command, { ...base, redeploy: false }).args).toEqual([...DEPLOY]);
  });

  test.each([
    [
      'a promoteFrom that is not an environment name',
      { promoteFrom: 'dev; curl evil' },
      'promoteFrom "dev; curl evil"',
    ],
    ['an empty promoteFrom', { promoteFrom: '' }, 'promoteFrom ""'],
    ['a promoteFrom that is not a string', { promoteFrom: ['dev'] }, 'promoteFrom ["dev"]'],
    ['a redeploy that is not a boolean', { redeploy: 'true' }, 'redeploy "true"'],
    ['an unverifiedReason that is too short', { unverifiedReason: 'hotfix' }, 'unverifiedReason is not'],
    [
      'an unverifiedReason of two lines',
      { unverifiedReason: 'a reason long enough\nrm -rf /' },
      'unverifiedReason is not',
    ],
    ['an unverifiedReason that is not a string', { unverifiedReason: 42 }, 'unverifiedReason is not'],
    [
      'an unverifiedReason of 301 characters',
      { unverifiedReason: 'x'.repeat(301) },
      'unverifiedReason is not',
    ],
  ])('%s stops the build before the runtime runs', (_, extra, shown) => {
    const result = run(command, { ...base, ...extra });
    expect(result.status).toBe(1);
    expect(result.args).toBeUndefined();
    expect(result.stderr).toContain(`the image-tags handoff ${shown}`);
  });

  test('unverifiedReason becomes one --unverified-reason word, nothing in it expanded or run', () => {
    const marker = path.join(dir, 'ran');
    const reason = `INC-42: it's "urgent" $(touch ${marker}) \`touch ${marker}\` $HOME; ${'x'.repeat(10)}`;
    const result = run(command, { ...base, promoteFrom: 'dev', unverifiedReason: reason });
    expect(result).toMatchObject({ status: 0 });
    expect(result.args).toEqual([...DEPLOY, '--promote-from', 'dev', '--unverified-reason', reason]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('without a handoff parameter the command reads no handoff', () => {
    const plain = deployCommand(false);
    expect(plain).not.toContain('handoff_args');
    expect(run(plain, { ...base, promoteFrom: 'dev' }).args).toEqual([...DEPLOY]);
  });

  test('nothing Terraform would read as an interpolation', () => {
    expect(command).not.toMatch(/\$\{|%\{/);
  });
});
