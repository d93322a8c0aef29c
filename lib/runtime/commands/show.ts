import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandRegistrar } from '../cli';
import { EXIT, RuntimeError } from '../errors';
import { summarizePlan } from '../plan-summary';
import { renderSummaryMarkdown, renderSummaryText } from '../summary-render';
import { runTerraform } from '../terraform';

export const registerShow: CommandRegistrar = (program, cli) => {
  program
    .command('show')
    .argument('<plan>', 'a `terraform show -json` output file, or a saved plan file')
    .description('print the redacted summary of a plan made elsewhere')
    .option('--markdown', 'print the Markdown form (as posted on pull requests)')
    .option(
      '--dir <dir>',
      "Terraform working directory for reading a saved plan (default: the plan file's directory)",
    )
    .option('--max-chars <n>', 'Markdown length limit', '65536')
    .action(async (file: string, opts: { markdown?: boolean; dir?: string; maxChars: string }) => {
      const io = cli.io;
      const resolved = path.resolve(io.cwd, file);
      if (!fs.existsSync(resolved)) throw new RuntimeError(`show: ${resolved} does not exist`);
      const maxChars = Number(opts.maxChars);
      if (!Number.isInteger(maxChars) || maxChars < 200)
        throw new RuntimeError(`--max-chars: ${JSON.stringify(opts.maxChars)} must be an integer >= 200`);
      const head = Buffer.alloc(1);
      const fd = fs.openSync(resolved, 'r');
      fs.readSync(fd, head, 0, 1, 0);
      fs.closeSync(fd);
      let json: string;
      if (head.toString() === '{') {
        json = fs.readFileSync(resolved, 'utf8');
      } else {
        const run = await runTerraform(['show', '-json', '-no-color', resolved], {
          dir: path.resolve(io.cwd, opts.dir ?? path.dirname(resolved)),
          env: io.env,
          label: 'show',
          write: io.err,
          capture: true,
          bin: io.env.GANTRY_TERRAFORM_BIN,
        });
        if (run.code !== 0)
          throw new RuntimeError(`show: terraform show -json ${resolved} exited ${run.code}`);
        json = run.stdout;
      }
      let summary;
      try {
        summary = summarizePlan(json);
      } catch (error) {
        throw new RuntimeError(
          `show: ${resolved} is not plan JSON from \`terraform show -json\`: ${(error as Error).message}`,
        );
      }
      io.out(opts.markdown ? renderSummaryMarkdown(summary, { maxChars }) : renderSummaryText(summary));
      cli.setExit(EXIT.ok);
    });
};
