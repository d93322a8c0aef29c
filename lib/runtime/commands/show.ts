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
      // A saved plan is a zip archive; anything else is read as the JSON of `terraform show -json`.
      const head = Buffer.alloc(4);
      const fd = fs.openSync(resolved, 'r');
      fs.readSync(fd, head, 0, 4, 0);
      fs.closeSync(fd);
      let json: string;
      if (!head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
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
      const problem = notAPlan(json);
      if (problem)
        throw new RuntimeError(
          `show: ${resolved} is not plan JSON from \`terraform show -json\`: ${problem}`,
        );
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

/**
 * Why `json` is not `terraform show -json` output of a plan, or `undefined` when it is one: JSON, an
 * object with a `format_version` and the plan's own fields (a state or any other JSON file is refused).
 */
export function notAPlan(json: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a JSON object';
  const d = doc as Record<string, unknown>;
  if (typeof d.format_version !== 'string') return 'it has no format_version';
  if (!('planned_values' in d) && !('resource_changes' in d))
    return 'it has neither planned_values nor resource_changes (a state, or another file?)';
  return undefined;
}
