/**
 * `gantry workflows [--out <dir>] [--check]`: the GitHub Actions workflows of the app gantry runs in,
 * generated from that app's own configuration, which its synth writes beside its stacks
 * (`<outdir>/gantry-app.json`, see `createStacks`). No app, no workflows: it refuses rather than
 * writing another app's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GantryConfig } from '../../config';
import { APP_MANIFEST_FILE, parseAppManifest } from '../../core/app-manifest';
import type { CommandRegistrar } from '../cli';
import { EXIT, RuntimeError } from '../errors';
import { synthesize } from '../stack';

/** Where the files go when `--out` is not given: a repository's workflow directory. */
export const DEFAULT_WORKFLOWS_DIR = '.github/workflows';

export interface WorkflowsOptions {
  readonly out?: string;
  readonly check?: boolean;
  readonly outdir?: string;
  readonly synth?: boolean;
}

/** The configuration of the app in `cwd`: synthesized afresh (unless `synth` is false), then read. */
export async function appConfig(
  options: { readonly outdir?: string; readonly synth?: boolean },
  io: { cwd: string; env: NodeJS.ProcessEnv; write: (line: string) => void },
): Promise<GantryConfig> {
  const outdir = path.resolve(io.cwd, options.outdir ?? io.env.CDKTF_OUTDIR ?? 'cdktf.out');
  if (options.synth !== false) synthesize(outdir, io);
  const file = path.join(outdir, APP_MANIFEST_FILE);
  if (!fs.existsSync(file)) {
    throw new RuntimeError(
      `${file} does not exist: this app does not create its stacks with Gantry's stack factory (createStacks from 'gantry/stacks'), ` +
        'so there is no Gantry configuration to generate workflows from; generateWorkflows(config) makes them from a config in code',
    );
  }
  const parsed = parseAppManifest(fs.readFileSync(file, 'utf8'));
  if (!parsed.ok)
    throw new RuntimeError(`${file} is not a Gantry app manifest: ${parsed.reason}; synthesize again`);
  const config = parsed.manifest.config as GantryConfig;
  // Loaded here, not at start-up: the configuration's checks load the construct modules, which the
  // other commands never need.
  const { validateConfig } = await import('../../config');
  validateConfig(config);
  return config;
}

export const registerWorkflows: CommandRegistrar = (program, cli) => {
  program
    .command('workflows')
    .description("write (or --check) the GitHub Actions workflows generated from this app's configuration")
    .option('--out <dir>', 'directory the workflow files are written to', DEFAULT_WORKFLOWS_DIR)
    .option('--check', 'write nothing; exit 1 when the files in --out differ from the generated ones')
    .option('--outdir <dir>', 'synthesized app (default: $CDKTF_OUTDIR or cdktf.out)')
    .option('--no-synth', 'read the app as synthesized in --outdir, do not synthesize it first')
    .action(async (opts: WorkflowsOptions) => {
      const io = cli.io;
      const config = await appConfig(opts, { cwd: io.cwd, env: io.env, write: io.err });
      const out = path.resolve(io.cwd, opts.out ?? DEFAULT_WORKFLOWS_DIR);
      const shown = path.relative(io.cwd, out) || '.';
      const { checkWorkflows, generateWorkflows, writeWorkflows } =
        await import('../../workflows/generate-workflows');
      const workflows = generateWorkflows(config);
      if (opts.check) {
        const differences = checkWorkflows(out, workflows);
        for (const d of differences) {
          io.err(
            `gantry: workflows: ${path.join(shown, d.fileName)} is ${d.problem === 'missing' ? 'missing' : 'out of date'}`,
          );
        }
        if (differences.length > 0) {
          io.err(
            `gantry: workflows: regenerate with \`npx gantry workflows --out ${shown}\` and commit the result`,
          );
          cli.setExit(EXIT.failure);
          return;
        }
        io.out(`gantry: workflows: ${workflows.length} files in ${shown} match the configuration`);
        cli.setExit(EXIT.ok);
        return;
      }
      for (const file of writeWorkflows(out, workflows)) io.out(`wrote ${path.relative(io.cwd, file)}`);
      cli.setExit(EXIT.ok);
    });
};
