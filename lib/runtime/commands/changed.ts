import type { CommandRegistrar } from '../cli';
import { EXIT, RuntimeError } from '../errors';
import { openMigratedLedger } from '../session';
import { appConfig } from './workflows';

export const registerChanged: CommandRegistrar = (program, cli) => {
  program
    .command('changed')
    .description(
      "the services whose source paths changed since the commit last applied to <env>'s services stack (ledger)",
    )
    .argument('<env>', 'a configured environment')
    .option('--commit <ref>', 'the current commit', 'HEAD')
    .option(
      '--json',
      'print JSON ({ services, include: [{ service, context, dockerfile, files }] }) for a workflow matrix',
    )
    .option('--outdir <dir>', 'the synthesized app (gantry-app.json) @default $CDKTF_OUTDIR or cdktf.out')
    .option('--no-synth', 'read the configuration from an already synthesized app')
    .action(
      async (
        environment: string,
        opts: { commit: string; json?: boolean; outdir?: string; synth: boolean },
      ) => {
        const io = cli.io;
        const config = await appConfig(opts, { cwd: io.cwd, env: io.env, write: io.err });
        const env = config.environments.find((e) => e.name === environment);
        if (!env) {
          throw new RuntimeError(
            `environment ${JSON.stringify(environment)} is not configured, allowed: ${config.environments.map((e) => JSON.stringify(e.name)).join(', ')}`,
            EXIT.failure,
          );
        }
        const ledger = await openMigratedLedger(io, 'cannot tell what changed');
        try {
          const { detectChanges, renderChanges } = await import('../changes');
          const report = await detectChanges({
            ledger,
            environment,
            services: env.services,
            cwd: io.cwd,
            head: opts.commit,
          });
          io.out(opts.json ? JSON.stringify(report) : renderChanges(report));
          cli.setExit(EXIT.ok);
        } finally {
          await ledger.close();
        }
      },
    );
};
