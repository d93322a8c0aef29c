import { applyCommand } from '../apply-run';
import type { CommandRegistrar } from '../cli';
import { stackOptions } from './plan';

export const registerApply: CommandRegistrar = (program, cli) => {
  stackOptions(
    program
      .command('apply')
      .argument('<stack>', 'stack id, e.g. prod-services')
      .description(
        'apply the saved plan of the latest planned run, if its SHA-256 and commit match, no newer commit was applied and approvals suffice',
      ),
  )
    .option('--plan-file <file>', 'the saved plan (default: <dir>/gantry.tfplan)')
    .option('--plan-run <id>', "the plan run to apply (default: the stack's latest planned run)")
    .option(
      '--allow-older <reason>',
      'apply although a newer commit was applied already; the reason is recorded',
    )
    .action(
      async (
        stack: string,
        opts: {
          dir?: string;
          outdir?: string;
          env?: string;
          planFile?: string;
          planRun?: string;
          allowOlder?: string;
        },
      ) => {
        cli.setExit(await applyCommand(stack, opts, cli.io));
      },
    );
};
