/**
 * Writes (or checks) the GitHub Actions workflows generated from the environment configuration.
 *
 *   npm run workflows                         # the reference config -> examples/workflows/
 *   node -r ./bin/register.js bin/workflows.ts [--out .github/workflows] [--check]
 *   gantry workflows [--out <dir>] [--check]  # the same, as a subcommand of the runtime CLI
 *
 * The configuration is the one `npm run synth` uses: the module named by `GANTRY_CONFIG` (or
 * `--config`), else the reference configuration. `--check` writes nothing and exits 1 when a
 * committed file differs from the generator's output, naming the file and the fix.
 */
import { Command } from 'commander';
import * as path from 'node:path';
import { referenceConfig, validateConfig, type GantryConfig } from '../environments';
import { GantryConfigError } from '../lib/core/errors';
import { checkWorkflows, generateWorkflows, writeWorkflows } from '../lib/workflows';

/** Where the files go when `--out` is not given: a repository's workflow directory. */
export const DEFAULT_WORKFLOWS_DIR = '.github/workflows';

export interface WorkflowsCommandOptions {
  readonly out?: string;
  readonly check?: boolean;
  readonly config?: string;
}

/** What the subcommand needs of the `gantry` CLI (its `CliContext`, structurally). */
export interface WorkflowsCli {
  readonly io: { out(text: string): void; err(text: string): void };
  setExit(code: number): void;
}

function loadConfig(file: string | undefined): GantryConfig {
  if (!file) return referenceConfig;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the config module is chosen at run time
  const loaded = require(path.resolve(file)) as { config?: GantryConfig };
  if (!loaded.config) throw new GantryConfigError(`config: ${JSON.stringify(file)} exports no \`config\``);
  return loaded.config;
}

/** Runs the command; returns the exit code (0 ok, 1 out of date or bad config). */
export function runWorkflowsCommand(
  options: WorkflowsCommandOptions,
  log: (line: string) => void = console.log,
  error: (line: string) => void = console.error,
): number {
  try {
    const config = loadConfig(options.config ?? process.env.GANTRY_CONFIG);
    validateConfig(config);
    const out = options.out ?? DEFAULT_WORKFLOWS_DIR;
    const workflows = generateWorkflows(config);
    if (options.check) {
      const differences = checkWorkflows(out, workflows);
      for (const d of differences) {
        error(
          `gantry: workflows: ${path.join(out, d.fileName)} is ${d.problem === 'missing' ? 'missing' : 'out of date'}`,
        );
      }
      if (differences.length > 0) {
        error(`gantry: workflows: regenerate with \`gantry workflows --out ${out}\` and commit the result`);
        return 1;
      }
      log(`gantry: workflows: ${workflows.length} files in ${out} match the configuration`);
      return 0;
    }
    for (const file of writeWorkflows(out, workflows)) log(`wrote ${file}`);
    return 0;
  } catch (e) {
    if (e instanceof GantryConfigError) {
      for (const line of e.problems) error(`gantry: config error: ${line}`);
      return 1;
    }
    throw e;
  }
}

function withOptions(command: Command, run: (opts: WorkflowsCommandOptions) => void): Command {
  return command
    .description('write the GitHub Actions workflows generated from the environment configuration')
    .option('--out <dir>', 'directory the workflow files are written to', DEFAULT_WORKFLOWS_DIR)
    .option('--check', 'write nothing; exit 1 when the files in --out differ from the generated ones')
    .option(
      '--config <file>',
      'configuration module exporting `config` (default: $GANTRY_CONFIG, else the reference)',
    )
    .action(run);
}

/**
 * `gantry workflows [--out <dir>] [--check] [--config <file>]`: the registrar `bin/gantry.ts` lists,
 * printing through the CLI's output and reporting the exit code to it.
 */
export function registerWorkflows(program: Command, cli: WorkflowsCli): void {
  withOptions(program.command('workflows'), (opts) =>
    cli.setExit(runWorkflowsCommand(opts, cli.io.out, cli.io.err)),
  );
}

if (require.main === module) {
  withOptions(new Command('workflows'), (opts) => {
    process.exitCode = runWorkflowsCommand(opts);
  }).parse();
}
