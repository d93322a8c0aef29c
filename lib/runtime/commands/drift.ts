import type { CommandRegistrar } from '../cli';
import { planOrDrift } from '../plan-run';
import { stackOptions, varOption } from './plan';

export const registerDrift: CommandRegistrar = (program, cli) => {
  const command = stackOptions(
    program
      .command('drift')
      .argument('<stack>', 'stack id, e.g. prod-services')
      .description('plan -detailed-exitcode; record no_changes (exit 0) or drifted (exit 2) with the counts'),
  ).option('--refresh-only', 'only compare real infrastructure with the state (plan -refresh-only)');
  varOption(command).action(
    async (
      stack: string,
      opts: {
        dir?: string;
        outdir?: string;
        synth?: boolean;
        env?: string;
        refreshOnly?: boolean;
        var?: string[];
      },
    ) => {
      cli.setExit(await planOrDrift('drift', stack, opts, cli.io));
    },
  );
};
