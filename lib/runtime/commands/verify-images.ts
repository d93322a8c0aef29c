import * as path from 'node:path';
import type { CommandRegistrar } from '../cli';
import { readRunContext } from '../context';
import { EXIT } from '../errors';
import { openMigratedLedger } from '../session';
import { imageOption, parseImage, repeatable } from './image-options';

export const registerVerifyImages: CommandRegistrar = (program, cli) => {
  program
    .command('verify-images')
    .description(
      "checks each image's signature before <env>'s services are applied; refuses (exit 3, a refused row) an unsigned or wrongly signed one",
    )
    .argument('<env>', 'the environment the images are about to be deployed to')
    .requiredOption('--image <service=repository@digest>', 'an image to check (repeatable)', imageOption)
    .requiredOption('--key <pem>', 'a trusted public key (repeatable)', repeatable)
    .requiredOption(
      '--bundles <dir>',
      'recorded signatures, <dir>/<service>.json ({ payload, signature }, base64)',
    )
    .option('--json', 'print the verified digests as JSON')
    .action(
      async (
        environment: string,
        opts: { image: string[]; key: string[]; bundles: string; json?: boolean },
      ) => {
        const io = cli.io;
        const { readBundle, readPublicKeys, verifyImages } = await import('../signatures');
        const keys = readPublicKeys(opts.key, io.cwd);
        const dir = path.resolve(io.cwd, opts.bundles);
        const images = opts.image.map((value) => {
          const { service, repository, digest } = parseImage(value);
          return { service, repository, digest, bundle: readBundle(dir, service) };
        });
        const context = readRunContext(io.env, io.cwd);
        const ledger = await openMigratedLedger(io, 'nothing verified, nothing applied');
        try {
          const digests = await verifyImages({
            ledger,
            environment,
            images,
            keys,
            run: {
              commitSha: context.commitSha,
              ref: context.ref,
              actor: context.actor,
              ciRunId: context.ciRunId,
              ciRunAttempt: context.ciRunAttempt,
              ciRunUrl: context.ciRunUrl,
              host: context.host,
              pid: context.pid,
            },
          });
          io.out(
            opts.json
              ? JSON.stringify(digests)
              : Object.entries(digests)
                  .map(([service, digest]) => `verify-images: ${environment}: ${service} ${digest} signed`)
                  .join('\n'),
          );
          cli.setExit(EXIT.ok);
        } finally {
          await ledger.close();
        }
      },
    );
};
