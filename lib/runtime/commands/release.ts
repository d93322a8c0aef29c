/**
 * `gantry deploy|rollback|migrate|verify <env>` and `gantry status [<env>]`: the release lifecycle
 * of an environment's services stack (`<env>-services`), on the release facts its synth recorded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { parseReleaseFacts, type ReleaseFacts } from '../../core/release-facts';
import { imageTagVariableName, UNVERIFIED_REASON_LENGTH } from '../../core/naming';
import { applyCommand } from '../apply-run';
import { awsClientSettings } from '../aws-config';
import type { CommandRegistrar, CliContext } from '../cli';
import { readRunContext } from '../context';
import { EXIT, RuntimeError } from '../errors';
import { planOrDrift } from '../plan-run';
import {
  deploy,
  redeploy,
  rollback,
  type ReleaseDeps,
  type ReleaseResult,
  type ReleaseTarget,
  type SignatureCheck,
} from '../release/deploy';
import { ECR_CLIENT_LIMITS, ecrSdk } from '../release/ecr';
import { ecsSdk } from '../release/ecs';
import { cosignCopier, type Promotion, type UpstreamGate } from '../release/promote';
import type { KeylessCheck } from '../release/keyless';
import { runMigration } from '../release/migrate';
import { resolveNotifications } from '../release/notify';
import { snsClientFrom } from '../release/sns';
import { liveStatus, renderStatus } from '../release/status';
import { releaseSummaryMarkdown } from '../release/summary';
import { verifyCheck, type VerifyCheck } from '../release/verify';
import { readBundle, readPublicKeys, type ImageToVerify, type SignatureBundle } from '../signatures';
import { envRedactor, openMigratedLedger, type CliIo } from '../session';
import { resolveStack } from '../stack';
import { appendStepSummary } from '../step-summary';
import { declaredVariables, IMAGE_TAGS_ENV, imageTagsFromParameter } from '../variables';
import { imageOption, parseImage, repeatable } from './image-options';
import { stackOptions } from './plan';

interface ReleaseFlags {
  dir?: string;
  outdir?: string;
  synth?: boolean;
  json?: boolean;
  pollInterval?: number;
  timeout?: number;
  tag?: string[];
  redeploy?: boolean;
  imageKey?: string[];
  signatureBundles?: string;
  image?: string[];
  promoteFrom?: string;
  promoteFromDir?: string;
  unverifiedReason?: string;
  verifySignatures?: string;
}

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`${JSON.stringify(value)} must be a positive number of seconds`);
  return n;
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

type StackJson = { '//'?: Record<string, unknown>; variable?: Record<string, { default?: unknown }> };

/** A stack's release facts and its Terraform JSON (synthesized: cdk.tf.json; any *.tf.json with --dir), merged. */
function readReleaseFacts(stackId: string, dir: string): { facts: ReleaseFacts; json: StackJson } {
  const json: StackJson = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.tf.json'))) {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as StackJson;
    json['//'] = { ...json['//'], ...doc['//'] };
    json.variable = { ...json.variable, ...doc.variable };
  }
  const parsed = parseReleaseFacts(json);
  if (!parsed.ok) throw new RuntimeError(`stack ${stackId}: ${parsed.reason}`, EXIT.refused);
  return { facts: parsed.facts, json };
}

/** The services stack of `env`, its release facts, and the tags this commit deploys. */
function loadRelease(env: string, flags: ReleaseFlags, io: CliIo) {
  const stackId = `${env}-services`;
  const stack = resolveStack(stackId, { ...flags, env }, { cwd: io.cwd, env: io.env, write: io.err });
  if (stack.factsProblem) throw new RuntimeError(stack.factsProblem, EXIT.refused);
  const { facts, json } = readReleaseFacts(stackId, stack.dir);
  const context = readRunContext(io.env, io.cwd);
  const tags = new Map<string, string>();
  // Tags given for this deploy (not the configured defaults), which a redeploy refuses.
  const given: string[] = [];
  const givenServices = new Set<string>();
  for (const s of facts.services) {
    const d = json.variable?.[imageTagVariableName(s.name)]?.default;
    if (typeof d === 'string') tags.set(s.name, d);
  }
  const raw = io.env[IMAGE_TAGS_ENV];
  if (raw) {
    const fromParameter = imageTagsFromParameter(raw, context.commitSha, declaredVariables(stack.dir));
    if (!fromParameter.ok) throw new RuntimeError(fromParameter.reason, EXIT.refused);
    for (const note of fromParameter.notes) io.err(`gantry: ${note}`);
    for (const v of fromParameter.variables) {
      const service = facts.services.find((s) => imageTagVariableName(s.name) === v.name);
      if (service) {
        tags.set(service.name, v.value);
        givenServices.add(service.name);
        given.push(`${IMAGE_TAGS_ENV} ${service.name}=${v.value}`);
      }
    }
  }
  for (const pair of flags.tag ?? []) {
    const [name, tag] = pair.split('=', 2);
    if (!facts.services.some((s) => s.name === name) || !tag)
      throw new RuntimeError(
        `--tag ${JSON.stringify(pair)}: expected <service>=<tag> with a service of ${stackId} (${facts.services.map((s) => s.name).join(', ')})`,
      );
    tags.set(name, tag);
    givenServices.add(name);
    given.push(`--tag ${pair}`);
  }
  const redactor = envRedactor(io.env);
  const target: ReleaseTarget = {
    environment: env,
    stack: stackId,
    cluster: facts.cluster,
    services: facts.services.map((s) => ({
      name: s.name,
      ecsService: s.ecsService,
      imageTag: tags.get(s.name) ?? '',
      repository: s.repository,
      tagGiven: givenServices.has(s.name),
      migrationTaskDefinition: s.migrationTaskDefinition,
      verify: s.verify,
    })),
    notifications: resolveNotifications(facts.notifications, io.env, redactor),
  };
  return { stack, facts, target, context, redactor, given };
}

/**
 * The signature check of `--image-key`, `--signature-bundles` and `--image` (optional: a service without
 * one is checked at the digest ECR names for its tag), or undefined when no key is given; a bundle or image
 * without a key, or an image of no service of the stack, is a usage error.
 */
function signatureCheck(
  flags: ReleaseFlags,
  loaded: ReturnType<typeof loadRelease>,
  cwd: string,
): SignatureCheck | undefined {
  const keys = flags.imageKey ?? [];
  if (keys.length === 0) {
    // With --promote-from, --image alone names the digest of a service unverified upstream.
    if (
      flags.signatureBundles !== undefined ||
      ((flags.image ?? []).length > 0 && flags.promoteFrom === undefined)
    )
      throw new RuntimeError(
        '--signature-bundles and --image check image signatures: give the trusted key too (--image-key <pem>)',
      );
    return undefined;
  }
  if (flags.signatureBundles === undefined)
    throw new RuntimeError(
      '--image-key: give the recorded signatures too (--signature-bundles <dir>, <dir>/<service>.json)',
    );
  const dir = path.resolve(cwd, flags.signatureBundles);
  const images = new Map<string, ImageToVerify>();
  for (const [service, image] of givenImages(flags, loaded))
    images.set(service, { service, ...image, bundle: readBundle(dir, service) });
  // A service without --image: its bundle is checked at the digest ECR names for its tag.
  const bundles = new Map<string, SignatureBundle>();
  for (const s of loaded.target.services) {
    const bundle = images.has(s.name) ? undefined : readBundle(dir, s.name);
    if (bundle) bundles.set(s.name, bundle);
  }
  return { keys: readPublicKeys(keys, cwd, '--image-key'), images, bundles };
}

/** The images of `--image`, per service of the stack (each once). */
function givenImages(
  flags: ReleaseFlags,
  loaded: ReturnType<typeof loadRelease>,
): Map<string, { repository: string; digest: string }> {
  const names = loaded.target.services.map((s) => s.name);
  const images = new Map<string, { repository: string; digest: string }>();
  for (const value of flags.image ?? []) {
    const { service, repository, digest } = parseImage(value);
    if (!names.includes(service) || images.has(service))
      throw new RuntimeError(
        `--image ${JSON.stringify(value)}: ${images.has(service) ? `${service} is given twice` : `${loaded.stack.stack} has no service ${JSON.stringify(service)}`} (services: ${names.join(', ')})`,
      );
    images.set(service, { repository, digest });
  }
  return images;
}

/** Shortest `--unverified-reason` accepted, as for the configuration's reasons. */
const MIN_REASON = UNVERIFIED_REASON_LENGTH.min;

/** `--unverified-reason`, trimmed, or undefined; too short a reason is a usage error. */
function unverifiedReasonOf(flags: ReleaseFlags): string | undefined {
  const reason = flags.unverifiedReason?.trim();
  if (reason !== undefined && reason.length < MIN_REASON)
    throw new RuntimeError(
      `--unverified-reason ${JSON.stringify(flags.unverifiedReason)}: say why in ${MIN_REASON}+ characters (it is recorded in the run's note)`,
    );
  return reason;
}

/**
 * The upstream gate of a deploy that is not a promotion (`UpstreamGate`): where the environment requires
 * approvals (its stack facts; unknown counts as one) and has an environment before it, each changed digest
 * must have been verified in the one right before. `--unverified-reason` lets an unverified one through; given
 * where there is no gate (no approval required, the first environment, a redeploy), it is a usage error, as
 * it overrides nothing there.
 */
function upstreamGateOf(
  flags: ReleaseFlags,
  loaded: ReturnType<typeof loadRelease>,
): UpstreamGate | undefined {
  if (flags.promoteFrom !== undefined) return undefined;
  const env = loaded.target.environment;
  const reason = unverifiedReasonOf(flags);
  const requiredApprovals = loaded.stack.facts?.requiredApprovals ?? 1;
  const before = loaded.facts.upstreamEnvironments.at(-1);
  const none =
    flags.redeploy === true
      ? '--redeploy deploys the tags this environment verified already'
      : before === undefined
        ? `${env} is the first environment: nothing before it verifies a digest`
        : requiredApprovals === 0
          ? `${env} requires no approval: its deploys take digests not verified in ${before}`
          : undefined;
  if (none !== undefined) {
    if (reason !== undefined)
      throw new RuntimeError(`--unverified-reason: ${none}, so there is nothing to let through`);
    return undefined;
  }
  return {
    environment: before as string,
    requiredApprovals,
    ...(reason !== undefined ? { unverifiedReason: reason } : {}),
  };
}

/**
 * The promotion of `--promote-from <upstream>` (with `--unverified-reason`), or undefined without it:
 * the upstream must be an environment before this one (its release facts), its services stack is read
 * as this one is (`<outdir>/stacks/<upstream>-services`, or `--promote-from-dir` beside `--dir`), and
 * the images are copied with `cosign copy`. Usage errors (exit 1) before the ledger is opened.
 */
function promotionOf(
  flags: ReleaseFlags,
  loaded: ReturnType<typeof loadRelease>,
  io: CliIo,
): Promotion | undefined {
  const env = loaded.target.environment;
  const from = flags.promoteFrom;
  if (from === undefined) {
    if (flags.promoteFromDir !== undefined)
      throw new RuntimeError(
        '--promote-from-dir applies to a promotion: give --promote-from <upstream environment> too',
      );
    return undefined;
  }
  if (flags.redeploy)
    throw new RuntimeError(
      '--promote-from: --redeploy deploys the tags this environment verified already; promote with a plain deploy',
    );
  const upstream = loaded.facts.upstreamEnvironments;
  const allowed = upstream.length > 0 ? upstream.join(', ') : `none: ${env} is the first environment`;
  if (from === env)
    throw new RuntimeError(
      `--promote-from ${JSON.stringify(from)}: that is the environment being deployed; promote from an environment before it (${allowed})`,
    );
  if (!upstream.includes(from))
    throw new RuntimeError(
      `--promote-from ${JSON.stringify(from)}: not an environment before ${env} in the configuration (allowed: ${allowed})`,
    );
  const reason = unverifiedReasonOf(flags);
  if (flags.dir !== undefined && flags.promoteFromDir === undefined)
    throw new RuntimeError(
      `--promote-from with --dir: give the services stack of ${from} too (--promote-from-dir <dir>)`,
    );
  const upstreamId = `${from}-services`;
  const stack = resolveStack(
    upstreamId,
    { dir: flags.promoteFromDir, outdir: flags.outdir, synth: false, env: from },
    { cwd: io.cwd, env: io.env, write: io.err },
  );
  if (stack.factsProblem) throw new RuntimeError(stack.factsProblem, EXIT.refused);
  const source = readReleaseFacts(upstreamId, stack.dir).facts;
  const redactor = loaded.redactor;
  for (const secret of [io.env.AWS_SECRET_ACCESS_KEY, io.env.AWS_SESSION_TOKEN])
    if (secret) redactor.addSecretValue(secret);
  return {
    from,
    sourceRepositories: new Map(source.services.map((s) => [s.name, s.repository])),
    // Unknown (never: the stack's facts were read) counts as requiring one.
    requiredApprovals: loaded.stack.facts?.requiredApprovals ?? 1,
    ...(reason !== undefined ? { unverifiedReason: reason } : {}),
    givenDigests: new Map([...givenImages(flags, loaded)].map(([s, i]) => [s, i.digest])),
    copy: cosignCopier({ env: io.env, scrub: (text) => redactor.scrub(text) }),
  };
}

/**
 * The keyless check of `--verify-signatures keyless`, or of the release facts when the environment
 * requires signatures (`release.requireSignatures`), whatever the flags; undefined otherwise. Another
 * mode, or `--image-key` with a keyless check, is a usage error.
 */
function keylessCheck(
  flags: ReleaseFlags,
  loaded: ReturnType<typeof loadRelease>,
  io: CliIo,
): KeylessCheck | undefined {
  const mode = flags.verifySignatures;
  if (mode !== undefined && mode !== 'keyless')
    throw new RuntimeError(
      `--verify-signatures ${JSON.stringify(mode)}: the mode is keyless (key-based signatures: --image-key)`,
    );
  const required = loaded.facts.requireSignatures;
  if (mode === undefined && !required) return undefined;
  if ((flags.imageKey ?? []).length > 0)
    throw new RuntimeError(
      required
        ? `--image-key checks key-based signatures, and ${loaded.target.environment} requires keyless ones (release.requireSignatures): drop --image-key`
        : '--image-key and --verify-signatures keyless: give one signature check',
    );
  return {
    images: new Map(
      loaded.facts.services.map((s) => [s.name, { repository: s.repository, signer: s.signer }]),
    ),
    env: io.env,
  };
}

function releaseDeps(
  cli: CliContext,
  loaded: ReturnType<typeof loadRelease>,
  ledger: ReleaseDeps['ledger'],
  flags: ReleaseFlags,
): ReleaseDeps {
  const { stack, facts, redactor } = loaded;
  const progress = (line: string) => (flags.json ? cli.io.err(line) : cli.io.out(line));
  return {
    ledger,
    ecs: new (ecsSdk().ECSClient)(awsClientSettings(cli.io.env, 'ECS', facts.region)),
    ecr: new (ecrSdk().ECRClient)({
      ...awsClientSettings(cli.io.env, 'ECR', facts.region),
      ...ECR_CLIENT_LIMITS,
    }),
    sns: snsClientFrom(cli.io.env),
    redactor,
    progress: (line) => progress(redactor.scrub(line)),
    // Plan and apply the services stack with these tags: every guard of `gantry plan|apply` holds.
    apply: async (tags) => {
      const vars = Object.entries(tags).map(([s, t]) => `${imageTagVariableName(s)}=${t}`);
      const io: CliIo = { ...cli.io, out: flags.json ? cli.io.err : cli.io.out, ledger };
      // The tags are the deploy's (`GANTRY_IMAGE_TAGS` was read, at this commit, by loadRelease): the plan
      // takes them as --var only, so a rollback's older tags are not refused as a second value. The apply
      // keeps the variable: it names the GitHub run whose approvals a deploy build verifies.
      const planEnv = { ...io.env };
      delete planEnv[IMAGE_TAGS_ENV];
      const planned = await planOrDrift(
        'plan',
        stack.stack,
        { dir: stack.dir, synth: false, var: vars },
        { ...io, env: planEnv },
      );
      if (planned !== EXIT.ok)
        return { ok: false, exitCode: planned, reason: `gantry plan ${stack.stack} exited ${planned}` };
      const applied = await applyCommand(stack.stack, { dir: stack.dir }, io);
      return applied === EXIT.ok
        ? { ok: true, exitCode: applied }
        : { ok: false, exitCode: applied, reason: `gantry apply ${stack.stack} exited ${applied}` };
    },
  };
}

/** Who, what and where of a deploy or rollback, from the run context (CI's variables, git). */
function releaseInput(c: ReturnType<typeof readRunContext>, automatic: boolean) {
  const { commitSha, actor, ciRunId, ciRunUrl, host, pid } = c;
  return { commitSha, actor, ciRunId, ciRunUrl, host, pid, automatic };
}

function pollOptions(flags: ReleaseFlags, facts: ReleaseFacts) {
  const interval = (flags.pollInterval ?? facts.deploy?.pollIntervalSeconds ?? 15) * 1000;
  return {
    rollout: {
      pollIntervalMs: interval,
      timeoutMs: (flags.timeout ?? facts.deploy?.rolloutTimeoutSeconds ?? 1800) * 1000,
    },
    migration: {
      pollIntervalMs: Math.min(interval, 5000),
      timeoutMs: (facts.deploy?.migrationTimeoutSeconds ?? 1800) * 1000,
    },
  };
}

/**
 * Prints the outcome (text, or JSON with `--json`), appends it as a Markdown table to
 * `$GITHUB_STEP_SUMMARY` when that is set (as `gantry plan` does), and sets the exit code.
 */
function report(
  cli: CliContext,
  loaded: ReturnType<typeof loadRelease>,
  result: ReleaseResult,
  flags: ReleaseFlags,
  what: 'deploy' | 'redeploy' | 'rollback',
): void {
  const summaryFile = cli.io.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) {
    appendStepSummary(
      summaryFile,
      releaseSummaryMarkdown(result, what, loaded.target.environment, loaded.redactor),
    );
  }
  if (flags.json) cli.io.out(JSON.stringify(result, null, 2));
  else {
    for (const d of result.deployments) {
      cli.io.out(
        `${what}: ${d.service} ${d.previousTag ?? 'none'} -> ${d.imageTag}: ${d.status}${d.reason ? ` (${d.reason})` : ''}`,
      );
    }
    cli.io.out(
      `${what}: ${result.outcome}${result.runId ? ` (run ${result.runId})` : ''}${result.reason ? `: ${result.reason}` : ''}`,
    );
  }
  cli.setExit(result.exitCode);
}

function releaseCommand(
  program: Parameters<CommandRegistrar>[0],
  name: string,
  description: string,
): ReturnType<Parameters<CommandRegistrar>[0]['command']> {
  return stackOptions(
    program.command(name).argument('<env>', 'the environment, e.g. prod').description(description),
  )
    .option('--json', 'print the outcome as JSON (progress goes to stderr)')
    .option(
      '--poll-interval <seconds>',
      'seconds between rollout checks (default: config deploy.pollIntervalSeconds or 15)',
      seconds,
    )
    .option(
      '--timeout <seconds>',
      'rollout timeout (default: config deploy.rolloutTimeoutSeconds or 1800)',
      seconds,
    )
    .option(
      '--tag <service=tag>',
      'deploy this tag of a service (repeatable; default: GANTRY_IMAGE_TAGS, then the configured tags; given some, the others keep their last good tag)',
      collect,
    );
}

export const registerRelease: CommandRegistrar = (program, cli) => {
  releaseCommand(
    program,
    'deploy',
    'plan and apply <env>-services, follow each changed service rollout, migrate, verify, record; roll back to the last verified tags on failure',
  )
    .option(
      '--redeploy',
      'deploy the last verified tags of every service (from the ledger) again, with a new ECS deployment each, e.g. after a secret rotation; no --tag',
    )
    .option(
      '--image-key <pem>',
      "a trusted public key: check each changed service's image signature before the plan, refuse an unsigned or wrongly signed one (repeatable)",
      repeatable,
    )
    .option(
      '--signature-bundles <dir>',
      'with --image-key: the recorded signatures, <dir>/<service>.json ({ payload, signature }, base64)',
    )
    .option(
      '--image <service=repository@digest>',
      'with --image-key: the image a changed service deploys, by digest (repeatable; default: the digest ECR names for its tag, which a given one must equal); with --promote-from: the digest of a service unverified upstream',
      imageOption,
    )
    .option(
      '--promote-from <env>',
      "promote from this earlier environment: copy each changed service's image by the digest verified there (the ledger) into this environment's registry, with its signature and attestations (cosign copy), then deploy it",
    )
    .option(
      '--promote-from-dir <dir>',
      'with --promote-from and --dir: the services stack directory of the upstream environment (default: <outdir>/stacks/<upstream>-services)',
    )
    .option(
      '--unverified-reason <text>',
      'deploy a digest never verified in the environment before this one, for this reason (recorded in the run): where the environment requires approvals; with --promote-from, the digest is named by --image',
    )
    .option(
      '--verify-signatures <mode>',
      "keyless: verify each changed service's keyless signature (cosign verify against the workflow that signs it) before the plan, record its digest, refuse an unsigned or wrongly signed image (always on where release.requireSignatures applies)",
    )
    .action(async (env: string, flags: ReleaseFlags) => {
      const loaded = loadRelease(env, flags, cli.io);
      const keyless = keylessCheck(flags, loaded, cli.io);
      const promotion = promotionOf(flags, loaded, cli.io);
      const upstream = upstreamGateOf(flags, loaded);
      const signatures = signatureCheck(flags, loaded, cli.io.cwd);
      const ledger = await openMigratedLedger(cli.io, 'nothing was deployed');
      try {
        const input = releaseInput(loaded.context, true);
        const deps = releaseDeps(cli, loaded, ledger, flags);
        const options = { ...pollOptions(flags, loaded.facts), signatures, promotion, keyless, upstream };
        const result = flags.redeploy
          ? await redeploy(loaded.target, input, deps, { ...options, givenTags: loaded.given })
          : await deploy(loaded.target, input, deps, options);
        report(cli, loaded, result, flags, flags.redeploy ? 'redeploy' : 'deploy');
      } finally {
        await ledger.close();
      }
    });

  releaseCommand(
    program,
    'rollback',
    're-apply the last verified tags of <env> (from the ledger) through every guard, then verify',
  )
    .option('--to <run-id>', 'roll back to the verified tags of this deploy run instead')
    .option(
      '--verify-signatures <mode>',
      "keyless: verify each rolled-back service's keyless signature again (cosign verify), refuse a signed digest other than the one the ledger recorded (always on where release.requireSignatures applies)",
    )
    .action(async (env: string, flags: ReleaseFlags & { to?: string }) => {
      const loaded = loadRelease(env, flags, cli.io);
      // A rollback re-applies tags verified here before; where signatures are required they are checked again.
      const keyless = keylessCheck(flags, loaded, cli.io);
      const ledger = await openMigratedLedger(cli.io, 'nothing was rolled back');
      try {
        const result = await rollback(
          loaded.target,
          releaseInput(loaded.context, false),
          releaseDeps(cli, loaded, ledger, flags),
          { ...pollOptions(flags, loaded.facts), toRunId: flags.to, keyless },
        );
        report(cli, loaded, result, flags, 'rollback');
      } finally {
        await ledger.close();
      }
    });

  stackOptions(
    program
      .command('migrate')
      .argument('<env>', 'the environment')
      .argument('<service>', 'the service whose migration task runs')
      .description(
        "run the service's migration task with the service's network settings, wait until it stops, record its exit code",
      ),
  )
    .option('--json', 'print the result as JSON')
    .action(async (env: string, service: string, flags: ReleaseFlags) => {
      const loaded = loadRelease(env, flags, cli.io);
      const s = loaded.target.services.find((x) => x.name === service);
      if (!s?.migrationTaskDefinition)
        throw new RuntimeError(
          `migrate: ${env} has no service ${JSON.stringify(service)} with a migration (with one: ${
            loaded.target.services
              .filter((x) => x.migrationTaskDefinition)
              .map((x) => x.name)
              .join(', ') || 'none'
          })`,
        );
      const ledger = await openMigratedLedger(cli.io, 'no migration ran');
      try {
        const run = await ledger.startRun({
          stack: loaded.stack.stack,
          action: 'migrate',
          environment: env,
          ...loaded.context,
        });
        const result = await runMigration(
          new (ecsSdk().ECSClient)(awsClientSettings(cli.io.env, 'ECS', loaded.facts.region)),
          loaded.target.cluster,
          { service: s.name, ecsService: s.ecsService, taskDefinition: s.migrationTaskDefinition },
          { ...pollOptions(flags, loaded.facts).migration, progress: cli.io.err },
        ).catch((error: unknown) => ({ ok: false, exitCode: null, reason: (error as Error).message }));
        const code = result.ok ? EXIT.ok : EXIT.failure;
        await ledger.finishRun(run.id, {
          status: result.ok ? 'succeeded' : 'failed',
          exitCode: result.exitCode ?? code,
          errorSummary: result.ok ? null : loaded.redactor.scrub(result.reason),
          note: `migration of ${s.name}: ${result.reason}`,
        });
        cli.io.out(
          flags.json
            ? JSON.stringify({ runId: run.id, ...result }, null, 2)
            : `migrate ${s.name}: ${result.reason} (run ${run.id})`,
        );
        cli.setExit(code);
      } finally {
        await ledger.close();
      }
    });

  stackOptions(
    program
      .command('verify')
      .argument('<env>', 'the environment')
      .description(
        "run each service's external check from config (URL, expected status, body match, retries), record the result",
      ),
  )
    .option('--json', 'print the results as JSON')
    .action(async (env: string, flags: ReleaseFlags) => {
      const loaded = loadRelease(env, flags, cli.io);
      const checks = loaded.target.services.filter((s) => s.verify);
      const ledger = await openMigratedLedger(cli.io, 'nothing was verified');
      try {
        const run = await ledger.startRun({
          stack: loaded.stack.stack,
          action: 'verify',
          environment: env,
          ...loaded.context,
        });
        const results = [];
        for (const s of checks) {
          results.push(
            await verifyCheck({ ...(s.verify as VerifyCheck), service: s.name }, { progress: cli.io.err }),
          );
        }
        const ok = results.every((r) => r.ok);
        await ledger.finishRun(run.id, {
          status: ok ? 'succeeded' : 'failed',
          exitCode: ok ? EXIT.ok : EXIT.failure,
          errorSummary: ok
            ? null
            : results
                .filter((r) => !r.ok)
                .map((r) => `${r.service}: ${r.reason}`)
                .join('; '),
          note: checks.length === 0 ? 'no service of this environment has a verify check' : null,
        });
        if (flags.json) cli.io.out(JSON.stringify({ runId: run.id, ok, results }, null, 2));
        else
          for (const r of results) cli.io.out(`verify ${r.service}: ${r.ok ? 'ok' : 'FAILED'}: ${r.reason}`);
        cli.setExit(ok ? EXIT.ok : EXIT.failure);
      } finally {
        await ledger.close();
      }
    });

  program
    .command('status')
    .argument('[env]', 'only this environment')
    .option('--json', 'print JSON')
    .description(
      'what runs where now, from the ledger: tag per service per environment, since when, by whom, from which commit, verified or not',
    )
    .action(async (env: string | undefined, flags: { json?: boolean }) => {
      const ledger = await openMigratedLedger(cli.io, 'nothing was read');
      try {
        const rows = await liveStatus(ledger, env);
        cli.io.out(flags.json ? JSON.stringify(rows, null, 2) : renderStatus(rows));
        cli.setExit(EXIT.ok);
      } finally {
        await ledger.close();
      }
    });
};
