import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceConfig } from '../../../environments';
import type { GantryConfig } from '../../../lib/config';
import { gantry, tempDir } from '../../runtime/helpers';
import { synthApp } from '../../util';

/** The reference configuration as another organisation's: a different org, repository and accounts. */
const globex: GantryConfig = {
  organization: {
    ...referenceConfig.organization,
    name: 'globex',
    github: { ...referenceConfig.organization.github, repository: 'globex/delivery' },
  },
  environments: referenceConfig.environments.map((env) => ({
    ...env,
    services: env.services.map((s) => ({ ...s })),
  })),
};

describe('gantry workflows', () => {
  const outdir = synthApp(globex);
  const args = (out: string, ...rest: string[]) => [
    'workflows',
    '--no-synth',
    '--outdir',
    outdir,
    '--out',
    out,
    ...rest,
  ];

  test("writes the workflows of the app it runs in, from that app's configuration", async () => {
    const dir = path.join(tempDir('wf'), '.github', 'workflows');
    const written = await gantry(args(dir), {});
    expect(written.code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'terraform-apply.yml',
      'terraform-drift.yml',
      'terraform-plan.yml',
    ]);
    const plan = fs.readFileSync(path.join(dir, 'terraform-plan.yml'), 'utf8');
    expect(plan).toContain('globex-dev-gh-plan');
    expect(plan).not.toContain('acme');
    const checked = await gantry(args(dir, '--check'), {});
    expect(checked).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/3 files in .* match the configuration$/),
    });
  });

  test('--check fails naming the file that was edited by hand, and writes nothing', async () => {
    const dir = tempDir('wf');
    await gantry(args(dir), {});
    const file = path.join(dir, 'terraform-plan.yml');
    fs.writeFileSync(file, 'name: edited\n');
    const checked = await gantry(args(dir, '--check'), {});
    expect(checked.code).toBe(1);
    expect(checked.stderr.split('\n')[0]).toMatch(
      /^gantry: workflows: .*terraform-plan\.yml is out of date$/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('name: edited\n');
  });

  test('refuses in an app that does not use the stack factory, writing nothing', async () => {
    const dir = tempDir('wf');
    const bare = tempDir('bare-out');
    const result = await gantry(['workflows', '--no-synth', '--outdir', bare, '--out', dir], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /gantry-app\.json does not exist: this app does not create its stacks with Gantry's stack factory/,
    );
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('refuses outside an app: no cdktf.json to synthesize with', async () => {
    const result = await gantry(['workflows', '--out', tempDir('wf')], {}, tempDir('not-an-app'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^gantry: no cdktf\.json in .* to synthesize the stacks with/);
  });
});
