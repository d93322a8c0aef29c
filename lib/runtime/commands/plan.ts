import { Option } from 'commander';
import type { CommandRegistrar } from '../cli';
import { planOrDrift } from '../plan-run';

/** Adds the options every stack command shares. */
export function stackOptions<T extends import('commander').Command>(command: T): T {
  return command
    .option('--dir <dir>', 'Terraform working directory to use as is (default: <outdir>/stacks/<stack>)')
    .option('--outdir <dir>', 'synthesized app (default: $CDKTF_OUTDIR or cdktf.out)')
    .option('--no-synth', 'never synthesize; fail when the stack is not synthesized')
    .option('--env <name>', 'the environment of the stack (default: from the stack id, <env>-...)');
}

export const registerPlan: CommandRegistrar = (program, cli) => {
  stackOptions(
    program
      .command('plan')
      .argument('<stack>', 'stack id, e.g. dev-foundation')
      .description('init, plan -out, show -json; print a redacted summary and record a planned row'),
  )
    .addOption(new Option('--plan-file <file>', 'where to save the plan (default: <dir>/gantry.tfplan)'))
    .action(
      async (
        stack: string,
        opts: { dir?: string; outdir?: string; synth?: boolean; env?: string; planFile?: string },
      ) => {
        cli.setExit(await planOrDrift('plan', stack, opts, cli.io));
      },
    );
};
