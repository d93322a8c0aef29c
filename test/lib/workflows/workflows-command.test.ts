import { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { registerWorkflows, runWorkflowsCommand } from '../../../bin/workflows';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-wf-cmd-'));
}

function run(options: Parameters<typeof runWorkflowsCommand>[0]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runWorkflowsCommand(
    options,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

describe('gantry workflows', () => {
  test('writes the three files into --out, then --check passes', () => {
    const dir = path.join(tempDir(), '.github', 'workflows');
    const written = run({ out: dir });
    expect(written.code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'terraform-apply.yml',
      'terraform-drift.yml',
      'terraform-plan.yml',
    ]);
    expect(run({ out: dir, check: true })).toEqual({
      code: 0,
      out: [`gantry: workflows: 3 files in ${dir} match the configuration`],
      err: [],
    });
  });

  test('--check fails naming the file that was edited by hand, and writes nothing', () => {
    const dir = tempDir();
    run({ out: dir });
    const file = path.join(dir, 'terraform-plan.yml');
    fs.writeFileSync(file, 'name: edited\n');
    const checked = run({ out: dir, check: true });
    expect(checked.code).toBe(1);
    expect(checked.err[0]).toBe(`gantry: workflows: ${file} is out of date`);
    expect(fs.readFileSync(file, 'utf8')).toBe('name: edited\n');
  });

  test('a configuration from --config is validated first, with one line per problem', () => {
    const file = path.join(tempDir(), 'bad-config.js');
    fs.writeFileSync(
      file,
      'const { referenceConfig } = require(process.env.GANTRY_ENVIRONMENTS);\n' +
        "exports.config = { ...referenceConfig, environments: referenceConfig.environments.map((e) => ({ ...e, accountId: '123' })) };\n",
    );
    process.env.GANTRY_ENVIRONMENTS = path.resolve(__dirname, '../../../environments');
    try {
      const result = run({ out: tempDir(), config: file });
      expect(result.code).toBe(1);
      expect(result.err).toContain(
        'gantry: config error: dev.accountId: "123" is not a 12-digit AWS account id',
      );
    } finally {
      delete process.env.GANTRY_ENVIRONMENTS;
    }
  });

  test('registers as a subcommand that reports its exit code to the CLI', async () => {
    const dir = tempDir();
    const codes: number[] = [];
    const lines: string[] = [];
    const program = new Command('gantry').exitOverride();
    registerWorkflows(program, {
      io: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
      setExit: (c) => codes.push(c),
    });
    await program.parseAsync(['workflows', '--out', dir, '--check'], { from: 'user' });
    await program.parseAsync(['workflows', '--out', dir], { from: 'user' });
    expect(codes).toEqual([1, 0]);
    expect(lines.at(-1)).toBe(`wrote ${path.join(dir, 'terraform-drift.yml')}`);
  });
});
