import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandRegistrar } from '../cli';
import { EXIT, RuntimeError } from '../errors';
import { notAPlan, summarizePlan } from '../plan-summary';
import { readConstructPaths } from '../review/construct-paths';
import { runTerraform } from '../terraform';
import { renderSummary } from '../summary-output';
import { outputOptions, resolveOutput, type OutputFlags } from './output-options';

interface ShowFlags extends OutputFlags {
  readonly dir?: string;
  readonly stackDir?: string;
}

/** Whether a file is a zip archive (a saved plan); anything else is read as `terraform show -json` output. */
function isSavedPlan(file: string): boolean {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  try {
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === 4 && head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  } finally {
    fs.closeSync(fd);
  }
}

export const registerShow: CommandRegistrar = (program, cli) => {
  outputOptions(
    program
      .command('show')
      .argument('<plan>', 'a `terraform show -json` output file, or a saved plan file')
      .description('print the redacted summary of a plan made elsewhere')
      .option(
        '--dir <dir>',
        "Terraform working directory for reading a saved plan (default: the plan file's directory); its cdk.tf.json gives construct paths",
      )
      .option(
        '--stack-dir <dir>',
        'the synthesized stack (cdktf.out/stacks/<stack>) whose cdk.tf.json gives construct paths',
      ),
  ).action(async (file: string, opts: ShowFlags) => {
    const io = cli.io;
    const output = resolveOutput(opts);
    const resolved = path.resolve(io.cwd, file);
    if (!fs.existsSync(resolved)) throw new RuntimeError(`show: ${resolved} does not exist`);
    const stackDir = opts.stackDir ? path.resolve(io.cwd, opts.stackDir) : undefined;
    if (stackDir && !fs.existsSync(path.join(stackDir, 'cdk.tf.json')))
      throw new RuntimeError(`--stack-dir: ${path.join(stackDir, 'cdk.tf.json')} does not exist`);
    const json = !isSavedPlan(resolved);
    const workDir = path.resolve(io.cwd, opts.dir ?? path.dirname(resolved));
    let text: string;
    if (json) {
      text = fs.readFileSync(resolved, 'utf8');
    } else {
      const run = await runTerraform(['show', '-json', '-no-color', resolved], {
        dir: workDir,
        env: io.env,
        label: 'show',
        write: io.err,
        capture: true,
        bin: io.env.GANTRY_TERRAFORM_BIN,
      });
      if (run.code !== 0) throw new RuntimeError(`show: terraform show -json ${resolved} exited ${run.code}`);
      text = run.stdout;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (error) {
      throw new RuntimeError(`show: ${resolved} is not JSON: ${(error as Error).message}`);
    }
    const why = notAPlan(parsed);
    if (why) throw new RuntimeError(`show: ${resolved} is not a plan from \`terraform show -json\`: ${why}`);
    // Construct paths: --stack-dir, else --dir (or a saved plan's own directory) when it holds the stack.
    const paths = stackDir
      ? readConstructPaths(stackDir)
      : opts.dir || !json
        ? readConstructPaths(workDir)
        : undefined;
    let summary;
    try {
      summary = summarizePlan(parsed as object, paths ? { constructPaths: paths } : {});
    } catch (error) {
      throw new RuntimeError(`show: ${resolved} is not a readable plan: ${(error as Error).message}`);
    }
    io.out(renderSummary(summary, output, 'Terraform plan'));
    cli.setExit(EXIT.ok);
  });
};
