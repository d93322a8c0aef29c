import { Option } from 'commander';
import type { CommandRegistrar } from '../cli';
import { planOrDrift } from '../plan-run';
import { outputOptions, resolveOutput, type OutputFlags } from './output-options';

/** Adds the options every stack command shares. */
export function stackOptions<T extends import('commander').Command>(command: T): T {
  return command
    .option('--dir <dir>', 'Terraform working directory to use as is (default: <outdir>/stacks/<stack>)')
    .option('--outdir <dir>', 'synthesized app (default: $CDKTF_OUTDIR or cdktf.out)')
    .option('--no-synth', 'never synthesize; fail when the stack is not synthesized')
    .option('--env <name>', 'the environment of the stack (default: from the stack id, <env>-...)');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--var name=value`, repeatable: a variable the stack declares, passed to `terraform plan` as `-var`. */
export function varOption<T extends import('commander').Command>(command: T): T {
  return command.option(
    '--var <name=value>',
    'set a variable the stack declares (repeatable), e.g. --var image_tag_api=v1.3.0; the ledger records its name, and the value of image tags only',
    collect,
  );
}

export const registerPlan: CommandRegistrar = (program, cli) => {
  const command = stackOptions(
    program
      .command('plan')
      .argument('<stack>', 'stack id, e.g. dev-foundation')
      .description('init, plan -out, show -json; print a redacted summary and record a planned row'),
  )
    .addOption(new Option('--plan-file <file>', 'where to save the plan (default: <dir>/gantry.tfplan)'))
    .option(
      '--no-lock',
      'plan without taking the state lock (terraform plan -lock=false): pull-request plans, whose role may not write lock files',
    )
    .addHelpText(
      'after',
      `
Image tags: with GANTRY_IMAGE_TAGS set to {"commit": "<sha>", "tags": {"api": "v1.3.0"}} (the deploy
project reads it from /<org>/<env>/gantry/image-tags), the tags apply as image_tag_<service> when
"commit" is the commit being planned; a value written for another commit is ignored.`,
    );
  outputOptions(varOption(command)).action(
    async (
      stack: string,
      opts: {
        dir?: string;
        outdir?: string;
        synth?: boolean;
        env?: string;
        planFile?: string;
        var?: string[];
        lock?: boolean;
      } & OutputFlags,
    ) => {
      const output = resolveOutput(opts);
      cli.setExit(await planOrDrift('plan', stack, { ...opts, output }, cli.io));
    },
  );
};
