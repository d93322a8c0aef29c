/**
 * A release of a services stack: the lifecycle after the infrastructure change. Refuse a blocked
 * commit; claim the environment (one active deploy, the database's rule); apply the image tags
 * through every guard; follow each changed service's ECS deployment; run the migrations; verify
 * from outside; record each service's outcome. When the rollout, a migration or verify fails,
 * re-apply the last good tags from the ledger (never from memory), which blocks the commit; tell
 * the team. A rollback (`gantry rollback`) is the same pipeline with older tags and no second
 * rollback; a redeploy (`gantry deploy --redeploy`) the same with the last good tags and a new ECS
 * deployment of every service, and no second rollback either. A promotion (`gantry deploy
 * --promote-from`) is a deploy whose changed images are the digests verified upstream, copied into this
 * environment's registry after the environment is claimed and before anything is applied (`promote.ts`).
 * Whatever the kind, each changed service's tag is resolved to its digest in the environment's ECR
 * repository before the environment is claimed (`ecr.ts`), and every deployment row records that digest.
 */
import type { KeyObject } from 'node:crypto';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { EnvironmentBusyError, type DeploymentRecord, type Ledger, type RunRecord } from '../ledger';
import type { Redactor } from '../redaction';
import { signatureProblems, signatureRefusal, type ImageToVerify, type SignatureBundle } from '../signatures';
import { EXIT } from '../errors';
import { registryRefusal, resolveImageDigests, tagProblem, type ImageTagRef } from './ecr';
import { keylessDigests, type KeylessCheck } from './keyless';
import { runMigration, type MigrationResult } from './migrate';
import {
  promotedImages,
  promotionRefusal,
  upstreamVerification,
  type GatedImage,
  type PromotedImage,
  type Promotion,
  type UpstreamGate,
} from './promote';
import { notify, type NotificationConfig, type NotificationKind, type NotificationResult } from './notify';
import type { SnsClientFactory } from './sns';
import {
  followRollouts,
  forceNewDeployments,
  primaryTaskDefinitions,
  runningImageTags,
  type PollOptions,
} from './rollout';
import { verifyCheck, type VerifyCheck, type VerifyOptions, type VerifyResult } from './verify';

export interface ReleaseService {
  /** Gantry's service name. */
  readonly name: string;
  /** The ECS service's name in the cluster. */
  readonly ecsService: string;
  /** The tag this deploy sets. */
  readonly imageTag: string;
  /**
   * The environment's ECR repository of the service (release facts:
   * `<account>.dkr.ecr.<region>.amazonaws.com/<name>`), where its tag is resolved to a digest.
   */
  readonly repository: string;
  /**
   * The deploy was given this tag (`--tag`, `GANTRY_IMAGE_TAGS`), not the configured one. When some
   * services' tags are given, `deploy` keeps the others at their last good tag. @default false
   */
  readonly tagGiven?: boolean;
  /** Family (or ARN) of the migration task definition, when the service has one. */
  readonly migrationTaskDefinition?: string | null;
  /** The external check, when the service has one. */
  readonly verify?: Omit<VerifyCheck, 'service'> | null;
}

export interface ReleaseTarget {
  readonly environment: string;
  /** The services stack, e.g. `prod-services`. */
  readonly stack: string;
  readonly cluster: string;
  readonly services: readonly ReleaseService[];
  readonly notifications?: NotificationConfig;
}

export interface ApplyOutcome {
  readonly ok: boolean;
  readonly exitCode: number;
  /** Why it failed or was refused. */
  readonly reason?: string;
}

export interface ReleaseDeps {
  readonly ledger: Ledger;
  readonly ecs: ECSClient;
  /**
   * Reads each changed service's tag in its ECR repository (`DescribeImages`), in the environment's
   * region: the digest every deployment row records.
   */
  readonly ecr: ECRClient;
  /** Plans and applies the services stack with these tags, through every guard and approval. */
  readonly apply: (
    tags: Readonly<Record<string, string>>,
    purpose: 'deploy' | 'rollback',
  ) => Promise<ApplyOutcome>;
  readonly progress: (line: string) => void;
  readonly redactor: Redactor;
  /** The SNS client of a region, for the notification topics. @default the SDK's configuration, as `ecs` */
  readonly sns?: SnsClientFactory;
}

export interface ReleaseInput {
  readonly commitSha?: string | null;
  readonly actor?: string | null;
  readonly ciRunId?: string | null;
  readonly ciRunUrl?: string | null;
  /** An automatic deploy (CI) of a blocked commit is refused. */
  readonly automatic: boolean;
  readonly host?: string | null;
  readonly pid?: number | null;
}

export interface ReleaseOptions {
  /** Rollout polling: interval and timeout. */
  readonly rollout?: PollOptions;
  /** Migration task polling. */
  readonly migration?: PollOptions;
  readonly verify?: VerifyOptions;
  /** Heartbeat of the running row. @default 30000 */
  readonly heartbeatMs?: number;
  /**
   * Check each changed service's image signature before anything is planned, and record its digest on
   * the service's deployment row. @default no check
   */
  readonly signatures?: SignatureCheck;
  /**
   * Promote each changed service's image from the upstream environment: the digest verified there (the
   * ledger), copied into this environment's registry before the apply; refused before anything is
   * claimed when a digest was never verified upstream and no reason is given. @default none: the tags
   * are deployed as they are in this environment's registry
   */
  readonly promotion?: Promotion;
  /**
   * Verify each changed service's keyless signature (`cosign verify` against the workflow that signs it)
   * before anything is claimed or planned, and record the digest it names on the service's deployment
   * row (`keyless.ts`). @default no check
   */
  readonly keyless?: KeylessCheck;
  /**
   * The upstream gate of a deploy that is not a promotion, a redeploy or a rollback: each changed service's
   * digest (as ECR names it here) must have been verified in `upstream.environment`, or the deploy is refused
   * before anything is claimed, unless `upstream.unverifiedReason` is given, which the run's note records
   * (`promote.ts`). @default no gate
   */
  readonly upstream?: UpstreamGate;
}

/** The signature check of a release (`gantry deploy --image-key`): see `signatures.ts`. */
export interface SignatureCheck {
  /** Trusted public keys: a signature must verify under one. */
  readonly keys: readonly KeyObject[];
  /**
   * Per service name, its image by digest (`--image`) and its recorded signature; the digest must be the
   * one ECR names for the tag. The images of unchanged services are not checked.
   */
  readonly images: ReadonlyMap<string, ImageToVerify>;
  /**
   * Per service name without an image in `images`, its recorded signature: checked for the service's
   * repository and the digest ECR names for its tag. A changed service with neither is refused (unsigned).
   * @default none
   */
  readonly bundles?: ReadonlyMap<string, SignatureBundle>;
}

export type ReleaseOutcome = 'verified' | 'deployed' | 'rolled_back' | 'failed' | 'refused' | 'no_changes';

export interface ReleaseResult {
  readonly exitCode: number;
  readonly outcome: ReleaseOutcome;
  readonly runId: string | null;
  readonly reason: string | null;
  readonly deployments: readonly DeploymentRecord[];
  readonly migrations: readonly MigrationResult[];
  readonly verify: readonly VerifyResult[];
  readonly notifications: readonly NotificationResult[];
}

const short = (sha: string) => sha.slice(0, 12);

/** `gantry deploy`: see the file comment. */
export async function deploy(
  requested: ReleaseTarget,
  input: ReleaseInput,
  deps: ReleaseDeps,
  options: ReleaseOptions = {},
): Promise<ReleaseResult> {
  const blocked = await refuseBlocked(deps, requested, input);
  if (blocked) return blocked;
  const good = new Map(
    (await deps.ledger.lastGood(requested.environment)).map((d) => [d.service, d.imageTag]),
  );
  const target = keepLive(requested, good);
  // A service the ledger has no version of yet (its environment was applied before its first
  // deploy) changes only when ECS runs another tag than this deploy's; unknown counts as changed.
  const fresh = target.services.filter((s) => !good.has(s.name));
  let before: Map<string, string | null> | undefined;
  let running = new Map<string, string | null>();
  if (fresh.length > 0) {
    try {
      before = await primaryTaskDefinitions(deps.ecs, target.cluster, targetsOf(target.services));
      const known = before;
      running = await runningImageTags(
        deps.ecs,
        new Map(fresh.map((s) => [s.name, known.get(s.name) ?? null])),
      );
    } catch (error) {
      // Without what runs now, neither the rollout nor a rollback can be judged: nothing is applied.
      return refuse(
        deps,
        target,
        input,
        'deploy',
        `cannot read the services of cluster ${target.cluster} from ECS: ${deps.redactor.scrub((error as Error).message)}`,
      );
    }
  }
  const changed = target.services.filter((s) =>
    good.has(s.name) ? good.get(s.name) !== s.imageTag : running.get(s.name) !== s.imageTag,
  );
  const tags = Object.fromEntries(target.services.map((s) => [s.name, s.imageTag]));
  let promoted: readonly PromotedImage[] | undefined;
  if (options.promotion) {
    // Before the environment is claimed: a digest never verified upstream reaches no registry and no apply.
    const found = await promotedImages(deps.ledger, target.environment, options.promotion, changed);
    if (found.problems.length > 0)
      return refuse(deps, target, input, 'deploy', promotionRefusal(options.promotion.from, found.problems));
    promoted = found.images;
  }
  return release(deps, target, input, options, {
    action: 'deploy',
    tags,
    changed,
    previous: good,
    before,
    ...(promoted ? { promoted, recordedDigests: new Map(promoted.map((p) => [p.service, p.digest])) } : {}),
  });
}

/**
 * Given the tags of some services (`tagGiven`: a push build, a handoff, `--tag`), the others stay as
 * they are: their last good tag from the ledger, not the configured one, which may be older than what
 * runs. Given none, every service takes the tag it came with (the configured ones).
 */
function keepLive(target: ReleaseTarget, good: ReadonlyMap<string, string>): ReleaseTarget {
  if (!target.services.some((s) => s.tagGiven)) return target;
  return {
    ...target,
    services: target.services.map((s) => {
      const live = good.get(s.name);
      return !s.tagGiven && live !== undefined ? { ...s, imageTag: live } : s;
    }),
  };
}

/**
 * `gantry deploy --redeploy`: the last good tag of every service, from the ledger (the lookup a rollback
 * uses: verified, or deployed and finished for a service without a check), applied through every guard,
 * then a new ECS deployment of every service (`forceNewDeployment`) though no tag changed, so new tasks
 * read rotated secrets and changed configuration; followed, migrated and verified like any deploy. Refused
 * when tags are given too (`givenTags`, e.g. `--tag api=v2`), or when a service has no good version. A
 * failed redeploy is not rolled back: the version before it has the same tags.
 */
export async function redeploy(
  target: ReleaseTarget,
  input: ReleaseInput,
  deps: ReleaseDeps,
  options: ReleaseOptions & { givenTags?: readonly string[] } = {},
): Promise<ReleaseResult> {
  const env = target.environment;
  if (options.givenTags && options.givenTags.length > 0)
    return refuse(
      deps,
      target,
      input,
      'deploy',
      `--redeploy deploys the last verified tags from the ledger and takes no image tags (given: ${options.givenTags.join(', ')})`,
    );
  const blocked = await refuseBlocked(deps, target, input);
  if (blocked) return blocked;
  const last = await deps.ledger.lastGood(env);
  const good = new Map(last.map((d) => [d.service, d.imageTag]));
  const missing = target.services.filter((s) => !good.has(s.name)).map((s) => s.name);
  if (missing.length > 0)
    return refuse(
      deps,
      target,
      input,
      'deploy',
      `--redeploy: no verified version of ${missing.join(', ')} in ${env} in the ledger to redeploy; ` +
        `deploy a tag first (gantry deploy ${env} --tag ${missing[0]}=<tag>)`,
    );
  const services = target.services.map((s) => ({ ...s, imageTag: good.get(s.name) as string }));
  return release(deps, { ...target, services }, input, options, {
    action: 'deploy',
    tags: Object.fromEntries(services.map((s) => [s.name, s.imageTag])),
    changed: services,
    previous: good,
    redeploy: true,
    recordedDigests: digestsOf(last),
  });
}

/** Per service, the digest the ledger recorded on its row, where it recorded one. */
const digestsOf = (rows: readonly DeploymentRecord[]) =>
  new Map(rows.flatMap((d) => (d.digest ? [[d.service, d.digest] as const] : [])));

/** A refusal when this automatic deploy's commit is blocked in the environment, else null. */
async function refuseBlocked(
  deps: ReleaseDeps,
  target: ReleaseTarget,
  input: ReleaseInput,
): Promise<ReleaseResult | null> {
  const env = target.environment;
  if (!input.automatic || !input.commitSha) return null;
  const blocking = await deps.ledger.blockingDeployments(env, input.commitSha);
  if (blocking.length === 0) return null;
  const b = blocking[0];
  return refuse(
    deps,
    target,
    input,
    'deploy',
    `commit ${short(input.commitSha)} is blocked in ${env}: its deploy (run ${b.runId}) ended ${b.status}` +
      `${b.reason ? ` (${b.service}: ${b.reason})` : ''}; a newer commit deploys, or ` +
      `\`gantry ledger ack --environment ${env} --commit ${input.commitSha} --reason "..."\` unblocks this one`,
  );
}

/**
 * `gantry rollback`: re-apply the last good tags (or those of run `toRunId`), then verify. Each tag must
 * still be in ECR, at the digest the ledger recorded for it (when it recorded one).
 */
export async function rollback(
  target: ReleaseTarget,
  input: ReleaseInput,
  deps: ReleaseDeps,
  options: ReleaseOptions & { toRunId?: string } = {},
): Promise<ReleaseResult> {
  const env = target.environment;
  const to = await deps.ledger.lastGood(env, options.toRunId ? { runId: options.toRunId } : {});
  if (to.length === 0) {
    return refuse(
      deps,
      target,
      input,
      'rollback',
      options.toRunId
        ? `run ${options.toRunId} has no verified deployment in ${env} to roll back to`
        : `${env} has no verified deployment in the ledger to roll back to`,
    );
  }
  // What is live now: the last good version, which the rollback's rows name as previous.
  const latest = new Map((await deps.ledger.lastGood(env)).map((d) => [d.service, d.imageTag]));
  const back = new Map(to.map((d) => [d.service, d.imageTag]));
  const services = target.services.map((s) => ({ ...s, imageTag: back.get(s.name) ?? s.imageTag }));
  const tags = Object.fromEntries(services.map((s) => [s.name, s.imageTag]));
  const changed = services.filter((s) => back.has(s.name));
  return release(deps, { ...target, services }, input, options, {
    action: 'rollback',
    tags,
    changed,
    previous: latest,
    recordedDigests: digestsOf(to),
  });
}

interface Plan {
  readonly action: 'deploy' | 'rollback';
  readonly tags: Readonly<Record<string, string>>;
  readonly changed: readonly ReleaseService[];
  /** Per service, the tag before this release (deploy: the last good one, which a rollback restores). */
  readonly previous: ReadonlyMap<string, string>;
  /** A redeploy: every service gets a new ECS deployment after the apply; no second rollback. */
  readonly redeploy?: boolean;
  /**
   * Per service, the digest the ledger recorded for the tag it deploys (a redeploy's and a rollback's tags
   * were deployed before), or the digest a promotion copies: ECR, an `--image` or a keyless check naming
   * another digest for the tag is refused.
   */
  readonly recordedDigests?: ReadonlyMap<string, string>;
  /** Per service, the PRIMARY task definition before the apply, when the caller read it already. */
  readonly before?: ReadonlyMap<string, string | null>;
  /** A promotion: the images to copy into this environment's registry before the apply. */
  readonly promoted?: readonly PromotedImage[];
}

async function refuse(
  deps: ReleaseDeps,
  target: ReleaseTarget,
  input: ReleaseInput,
  action: 'deploy' | 'rollback',
  reason: string,
): Promise<ReleaseResult> {
  const row = await deps.ledger.recordRefusal({
    stack: target.stack,
    action,
    environment: target.environment,
    commitSha: input.commitSha,
    actor: input.actor,
    ciRunId: input.ciRunId,
    ciRunUrl: input.ciRunUrl,
    reason,
  });
  deps.progress(`[${action}] refused: ${reason}`);
  return empty(EXIT.refused, 'refused', row.id, reason);
}

const empty = (
  exitCode: number,
  outcome: ReleaseOutcome,
  runId: string | null,
  reason: string | null,
): ReleaseResult => ({
  exitCode,
  outcome,
  runId,
  reason,
  deployments: [],
  migrations: [],
  verify: [],
  notifications: [],
});

async function release(
  deps: ReleaseDeps,
  target: ReleaseTarget,
  input: ReleaseInput,
  options: ReleaseOptions,
  plan: Plan,
): Promise<ReleaseResult> {
  const { ledger, progress } = deps;
  const env = target.environment;
  const recorded: ReadonlyMap<string, string> = plan.recordedDigests ?? new Map();
  const scrub = (text: string) => deps.redactor.scrub(text);
  // Before the environment is claimed or anything planned: a tag ECR does not have, or has at another digest
  // than the one recorded for it, never reaches the apply; every row records the digest ECR names.
  const registry = await registryDigests(deps.ecr, plan, scrub);
  if (registry.problems.length > 0)
    return refuse(deps, target, input, plan.action, registryRefusal(registry.problems));
  const digests = new Map([...recorded, ...registry.digests]);
  if (registry.digests.size > 0)
    progress(`[${plan.action}] ${env}: digests in ECR: ${listed(registry.digests)}`);
  if (options.signatures && plan.changed.length > 0) {
    // The same place: an unsigned image never reaches the apply.
    const problems = imageProblems(options.signatures, plan.changed, recorded, digests);
    if (problems.length > 0) return refuse(deps, target, input, plan.action, signatureRefusal(problems));
    progress(
      `[${plan.action}] ${env}: signatures verified: ${listed(new Map(plan.changed.map((s) => [s.name, digests.get(s.name) as string])))}`,
    );
  }
  if (options.keyless && plan.changed.length > 0) {
    // Keyless (cosign verify): the same place, the same refusal; the digest cosign verified must be the one ECR
    // names. A promoted image is not in this registry yet: its upstream image, by the digest promoted, is verified.
    const verified = await keylessDigests(
      options.keyless,
      plan.changed,
      recorded,
      scrub,
      new Map((plan.promoted ?? []).map((p) => [p.service, p.copy.source])),
    );
    const problems = [...verified.problems];
    for (const s of plan.changed) {
      const signed = verified.digests.get(s.name);
      const inEcr = registry.digests.get(s.name);
      if (signed && inEcr && signed !== inEcr)
        problems.push(tagProblem(imageRef(s), `cosign verified ${signed}, ECR names ${inEcr} for this tag`));
    }
    if (problems.length > 0) return refuse(deps, target, input, plan.action, signatureRefusal(problems));
    progress(`[${plan.action}] ${env}: keyless signatures verified: ${listed(verified.digests)}`);
  }
  // The upstream gate, in the same place: a digest never verified before this environment reaches no apply.
  let unverifiedUpstream: readonly GatedImage[] = [];
  if (options.upstream && plan.action === 'deploy' && !plan.redeploy && !plan.promoted) {
    const gated = await upstreamVerification(
      ledger,
      env,
      options.upstream,
      plan.changed.map((s) => ({
        service: s.name,
        imageTag: s.imageTag,
        digest: digests.get(s.name) as string,
      })),
    );
    if (gated.problems.length > 0) return refuse(deps, target, input, plan.action, gated.problems.join('; '));
    unverifiedUpstream = gated.unverified;
    if (plan.changed.length > 0)
      progress(
        unverifiedUpstream.length === 0
          ? `[deploy] ${env}: every digest verified in ${options.upstream.environment}`
          : `[deploy] ${env}: NOT verified in ${options.upstream.environment}, deployed for the reason given: ${unverifiedUpstream.map((i) => `${i.service} ${i.digest}`).join(', ')}`,
      );
  }
  let started: { run: RunRecord; deployments: DeploymentRecord[] };
  try {
    started = await ledger.startDeploy({
      stack: target.stack,
      action: plan.action,
      environment: env,
      commitSha: input.commitSha,
      actor: input.actor,
      ciRunId: input.ciRunId,
      ciRunUrl: input.ciRunUrl,
      host: input.host,
      pid: input.pid,
      services: plan.changed.map((s) => ({
        service: s.name,
        imageTag: s.imageTag,
        previousTag: plan.previous.get(s.name) ?? null,
        digest: digests.get(s.name) ?? null,
      })),
    });
  } catch (error) {
    if (error instanceof EnvironmentBusyError) return refuse(deps, target, input, plan.action, error.message);
    throw error;
  }
  const run = started.run;
  const rows = new Map(started.deployments.map((d) => [d.service, d]));
  const heartbeat = setInterval(
    () => void ledger.heartbeat(run.id).catch(() => undefined),
    options.heartbeatMs ?? 30_000,
  );
  heartbeat.unref?.();
  const migrations: MigrationResult[] = [];
  const verified: VerifyResult[] = [];
  const move = async (service: string, update: Parameters<Ledger['updateDeployment']>[1]) => {
    const row = rows.get(service);
    // A reason may quote what a step printed (an apply's error, a library caller's reason): never a secret.
    const scrubbed = update.reason ? { ...update, reason: deps.redactor.scrub(update.reason) } : update;
    if (row) rows.set(service, await ledger.updateDeployment(row.id, scrubbed));
  };
  const finish = async (
    exitCode: number,
    outcome: ReleaseOutcome,
    reason: string | null,
    kind: NotificationKind | null,
  ): Promise<ReleaseResult> => {
    clearInterval(heartbeat);
    const deployments = [...rows.values()];
    const notifications =
      kind === null
        ? []
        : await notify(
            target.notifications,
            {
              kind,
              environment: env,
              runId: run.id,
              commitSha: input.commitSha ?? null,
              actor: input.actor ?? null,
              notable:
                migrations.length > 0 ||
                plan.action === 'rollback' ||
                (await recovering(ledger, env, run.id)),
              services: deployments.map((d) => ({
                service: d.service,
                imageTag: d.imageTag,
                previousTag: d.previousTag,
                status: d.status,
                reason: d.reason,
              })),
              reason,
              ciRunUrl: input.ciRunUrl,
            },
            deps.redactor,
            { sns: deps.sns },
          );
    for (const n of notifications)
      progress(`[notify] ${n.channel}: ${n.ok ? 'sent' : 'FAILED'} (${n.detail})`);
    const unverified = (plan.promoted ?? []).filter((p) => !p.verifiedUpstream);
    const notes = [
      ...(plan.redeploy ? ['redeploy'] : []),
      ...(plan.promoted?.length && options.promotion ? [`promoted from ${options.promotion.from}`] : []),
      ...(unverified.length > 0
        ? [
            `promoted unverified: ${deps.redactor.scrub(options.promotion?.unverifiedReason ?? '')} ` +
              `(${unverified.map((p) => `${p.service} ${p.digest}`).join(', ')})`,
          ]
        : []),
      ...(unverifiedUpstream.length > 0
        ? [
            `deployed unverified in ${options.upstream?.environment}: ${deps.redactor.scrub(options.upstream?.unverifiedReason ?? '')} ` +
              `(${unverifiedUpstream.map((i) => `${i.service} ${i.digest}`).join(', ')})`,
          ]
        : []),
      ...notifications.filter((n) => !n.ok).map((n) => `notification ${n.channel} failed: ${n.detail}`),
    ];
    await ledger.finishRun(run.id, {
      status: exitCode === EXIT.ok ? 'succeeded' : 'failed',
      exitCode,
      errorSummary: reason ? deps.redactor.scrub(reason) : null,
      note: notes.length > 0 ? notes.join('; ') : null,
    });
    return {
      exitCode,
      outcome,
      runId: run.id,
      reason,
      deployments,
      migrations,
      verify: verified,
      notifications,
    };
  };

  const label = plan.redeploy ? 'redeploy' : plan.action;
  try {
    progress(
      `[${label}] ${env}: run ${run.id}: ${
        plan.redeploy
          ? `the last verified tags, new ECS deployments: ${plan.changed.map((s) => `${s.name} ${s.imageTag}`).join(', ')}`
          : plan.changed.length === 0
            ? 'no image tag changes'
            : plan.changed
                .map((s) => `${s.name} ${plan.previous.get(s.name) ?? 'none'} -> ${s.imageTag}`)
                .join(', ')
      }`,
    );
    // A promotion copies each image into this environment's registry first: a failed copy applies nothing.
    const copyFailure = await copyPromoted(deps, options, plan);
    if (copyFailure !== null) {
      for (const s of plan.changed) await move(s.name, { status: 'failed', reason: copyFailure });
      return finish(EXIT.failure, 'failed', copyFailure, 'failure');
    }
    // A redeploy follows the deployments it forces, by id: the task definitions stay the same.
    const before = plan.redeploy
      ? new Map<string, string | null>()
      : (plan.before ?? (await primaryTaskDefinitions(deps.ecs, target.cluster, targetsOf(plan.changed))));
    const applied = await deps.apply(plan.tags, plan.action);
    if (!applied.ok) {
      const reason = `apply ${applied.exitCode === EXIT.refused ? 'refused' : 'failed'}: ${applied.reason ?? `exit ${applied.exitCode}`}`;
      for (const s of plan.changed) await move(s.name, { status: 'failed', reason });
      return finish(
        applied.exitCode === EXIT.refused ? EXIT.refused : EXIT.failure,
        'failed',
        reason,
        plan.changed.length ? 'failure' : null,
      );
    }
    if (plan.changed.length === 0) return finish(EXIT.ok, 'no_changes', null, null);
    let forced: ReadonlyMap<string, string> | undefined;
    if (plan.redeploy) {
      forced = await forceNewDeployments(deps.ecs, target.cluster, targetsOf(plan.changed));
      progress(
        `[redeploy] ${env}: new ECS deployments ${[...forced].map(([s, id]) => `${s} ${id}`).join(', ')}`,
      );
    }

    const failure = await lifecycle(
      deps,
      target,
      plan.changed,
      before,
      options,
      move,
      migrations,
      verified,
      forced,
    );
    if (failure === null) {
      for (const s of plan.changed) {
        await move(s.name, s.verify ? { status: 'verified' } : { status: 'deployed', final: true });
      }
      return finish(EXIT.ok, plan.changed.some((s) => s.verify) ? 'verified' : 'deployed', null, 'success');
    }
    progress(`[${label}] ${env}: ${failure}`);
    if (plan.action === 'rollback' || plan.redeploy) {
      for (const s of plan.changed) await move(s.name, { status: 'failed', reason: failure });
      return finish(EXIT.failure, 'failed', failure, 'failure');
    }
    return finish(EXIT.failure, ...(await rollBack(deps, target, plan, options, failure, move)));
  } catch (error) {
    const reason = `${plan.action} stopped: ${deps.redactor.scrub((error as Error).message)}`;
    for (const s of plan.changed) await move(s.name, { status: 'failed', reason }).catch(() => undefined);
    return finish(EXIT.failure, 'failed', reason, plan.changed.length ? 'failure' : null);
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * Copies the promoted images (`plan.promoted`) with `options.promotion.copy`, then reads each copied tag in
 * this environment's registry again: it must name the promoted digest. The first failure, or null.
 */
async function copyPromoted(deps: ReleaseDeps, options: ReleaseOptions, plan: Plan): Promise<string | null> {
  const copy = options.promotion?.copy;
  if (!plan.promoted || !copy) return null;
  const scrub = (text: string) => deps.redactor.scrub(text);
  for (const image of plan.promoted) {
    deps.progress(`[promote] ${image.service}: ${image.copy.source} -> ${image.copy.destination}`);
    const result = await copy(image.copy);
    const detail = scrub(result.detail);
    const failed = `promotion of ${image.service} failed before any apply`;
    if (!result.ok) return `${failed}: ${detail}`;
    deps.progress(`[promote] ${image.service}: ${detail}`);
    const [after] = await resolveImageDigests(
      deps.ecr,
      [{ service: image.service, repository: image.repository, tag: image.imageTag }],
      scrub,
    );
    if (after.digest !== image.digest)
      return `${failed}: after the copy, ${tagProblem(after, after.problem?.detail ?? `ECR names ${after.digest}, not the promoted ${image.digest}`)}`;
  }
  return null;
}

/** A service's tag in its repository, as `resolveImageDigests` reads it. */
const imageRef = (s: ReleaseService): ImageTagRef => ({
  service: s.name,
  repository: s.repository,
  tag: s.imageTag,
});

/** `<service> <digest>, ...`, for a progress line. */
const listed = (digests: ReadonlyMap<string, string>) =>
  [...digests].map(([service, digest]) => `${service} ${digest}`).join(', ');

/**
 * The digest of each changed service's tag in this environment's registry (`plan.changed`, read in ECR),
 * or the problems that refuse the release: a tag or repository ECR does not have, a registry that cannot
 * be read, a digest other than the one the ledger recorded for the tag (a redeploy's, a rollback's: the tag
 * was moved). A promoted service's tag is put there by the copy, after the claim: it may be missing, but
 * present at another digest than the one promoted it is refused (the repositories' tags are immutable), and
 * its digest is the promoted one, not listed here.
 */
async function registryDigests(
  ecr: ECRClient,
  plan: Plan,
  scrub: (text: string) => string,
): Promise<{ digests: Map<string, string>; problems: string[] }> {
  const promoted = new Map((plan.promoted ?? []).map((p) => [p.service, p.digest]));
  const digests = new Map<string, string>();
  const problems: string[] = [];
  for (const found of await resolveImageDigests(ecr, plan.changed.map(imageRef), scrub)) {
    const wanted = promoted.get(found.service);
    const known = plan.recordedDigests?.get(found.service);
    if (found.problem) {
      if (wanted === undefined || found.problem.kind !== 'tag-missing')
        problems.push(tagProblem(found, found.problem.detail));
    } else if (wanted !== undefined) {
      if (found.digest !== wanted)
        problems.push(
          tagProblem(
            found,
            `the tag exists in this registry at ${found.digest}, not at the promoted ${wanted} (tags are immutable: the copy cannot put it there)`,
          ),
        );
    } else if (known && known !== found.digest) {
      problems.push(
        tagProblem(
          found,
          `ECR names ${found.digest} for this tag, the ledger recorded ${known}: the tag was moved`,
        ),
      );
    } else digests.set(found.service, found.digest);
  }
  return { digests, problems };
}

/**
 * Why the images of `services` may not be deployed: an `--image` whose digest is not the one `recorded` for
 * its tag or the one ECR names (`digests`), or a signature that does not hold (`signatureProblems`) for the
 * `--image`, or else for the service's repository at the digest of `digests` with its recorded bundle.
 */
function imageProblems(
  check: SignatureCheck,
  services: readonly ReleaseService[],
  recorded: ReadonlyMap<string, string>,
  digests: ReadonlyMap<string, string>,
): string[] {
  return services.flatMap((s) => {
    const image = check.images.get(s.name);
    const known = recorded.get(s.name);
    const resolved = digests.get(s.name) as string;
    if (!image)
      return signatureProblems(
        [{ service: s.name, repository: s.repository, digest: resolved, bundle: check.bundles?.get(s.name) }],
        check.keys,
      );
    if (known && known !== image.digest)
      return [
        `${s.name} (tag ${s.imageTag}): --image names ${image.digest}, the ledger recorded ${known} for this tag`,
      ];
    if (resolved !== image.digest)
      return [
        `${s.name} (tag ${s.imageTag}): --image names ${image.digest}, ECR names ${resolved} for this tag in ${s.repository}`,
      ];
    return signatureProblems([image], check.keys);
  });
}

/** Rollout, migrations, verify of `services`; the first failure's reason, or null. */
async function lifecycle(
  deps: ReleaseDeps,
  target: ReleaseTarget,
  services: readonly ReleaseService[],
  before: ReadonlyMap<string, string | null>,
  options: ReleaseOptions,
  move: (service: string, update: Parameters<Ledger['updateDeployment']>[1]) => Promise<void>,
  migrations: MigrationResult[],
  verified: VerifyResult[],
  forced?: ReadonlyMap<string, string>,
): Promise<string | null> {
  const outcomes = await followRollouts(
    deps.ecs,
    target.cluster,
    targetsOf(services).map((t) => ({
      ...t,
      before: before.get(t.service) ?? null,
      deploymentId: forced?.get(t.service) ?? null,
    })),
    { ...options.rollout, progress: deps.progress },
  );
  for (const o of outcomes) {
    if (o.state === 'completed')
      await move(o.service, { status: 'deployed', taskDefinition: o.taskDefinition });
  }
  const bad = outcomes.filter((o) => o.state !== 'completed');
  if (bad.length > 0) return `rollout ${bad.map((o) => `${o.service} ${o.state}: ${o.reason}`).join('; ')}`;
  for (const s of services.filter((x) => x.migrationTaskDefinition)) {
    const result = await runMigration(
      deps.ecs,
      target.cluster,
      { service: s.name, ecsService: s.ecsService, taskDefinition: s.migrationTaskDefinition as string },
      { ...options.migration, progress: deps.progress },
    );
    migrations.push(result);
    if (!result.ok) return `migration of ${s.name} failed: ${result.reason}`;
  }
  for (const s of services.filter((x) => x.verify)) {
    const result = await verifyCheck(
      { ...(s.verify as VerifyCheck), service: s.name },
      { ...options.verify, progress: deps.progress },
    );
    verified.push(result);
    if (!result.ok) return `verify of ${s.name} (${result.url}) failed: ${result.reason}`;
  }
  return null;
}

/** Re-applies the previous good tags after `failure`; the outcome for `finish`. */
async function rollBack(
  deps: ReleaseDeps,
  target: ReleaseTarget,
  plan: Plan,
  options: ReleaseOptions,
  failure: string,
  move: (service: string, update: Parameters<Ledger['updateDeployment']>[1]) => Promise<void>,
): Promise<[ReleaseOutcome, string, NotificationKind]> {
  const orphans = plan.changed.filter((s) => !plan.previous.has(s.name));
  if (orphans.length > 0) {
    const reason = `${failure}; not rolled back: no verified version of ${orphans.map((s) => s.name).join(', ')} in the ledger`;
    for (const s of plan.changed) await move(s.name, { status: 'failed', reason });
    return ['failed', reason, 'failure'];
  }
  const tags = {
    ...plan.tags,
    ...Object.fromEntries(plan.changed.map((s) => [s.name, plan.previous.get(s.name) as string])),
  };
  deps.progress(
    `[rollback] ${target.environment}: re-applying ${plan.changed.map((s) => `${s.name} ${tags[s.name]}`).join(', ')}`,
  );
  const before = await primaryTaskDefinitions(deps.ecs, target.cluster, targetsOf(plan.changed));
  const applied = await deps.apply(tags, 'rollback');
  if (!applied.ok) {
    const reason = `${failure}; rollback apply failed: ${applied.reason ?? `exit ${applied.exitCode}`}`;
    for (const s of plan.changed) await move(s.name, { status: 'failed', reason });
    return ['failed', reason, 'failure'];
  }
  const back = plan.changed.map((s) => ({ ...s, imageTag: tags[s.name] }));
  const outcomes = await followRollouts(
    deps.ecs,
    target.cluster,
    targetsOf(back).map((t) => ({ ...t, before: before.get(t.service) ?? null })),
    { ...options.rollout, progress: deps.progress },
  );
  const stuck = outcomes.filter((o) => o.state !== 'completed');
  const checks: VerifyResult[] = [];
  if (stuck.length === 0) {
    for (const s of back.filter((x) => x.verify)) {
      checks.push(
        await verifyCheck(
          { ...(s.verify as VerifyCheck), service: s.name },
          { ...options.verify, progress: deps.progress },
        ),
      );
    }
  }
  const unhealthy = [
    ...stuck.map((o) => `${o.service} ${o.state}`),
    ...checks.filter((c) => !c.ok).map((c) => `${c.service} verify: ${c.reason}`),
  ];
  const reason =
    unhealthy.length === 0
      ? `${failure}; rolled back to ${back.map((s) => `${s.name} ${s.imageTag}`).join(', ')}`
      : `${failure}; rolled back, but the previous version is not healthy: ${unhealthy.join('; ')}`;
  for (const s of plan.changed) await move(s.name, { status: 'rolled_back', reason });
  return ['rolled_back', reason, 'rollback'];
}

const targetsOf = (services: readonly ReleaseService[]) =>
  services.map((s) => ({ service: s.name, ecsService: s.ecsService }));

/** True when the environment's previous deploy run failed or rolled back: this one is a recovery. */
async function recovering(ledger: Ledger, environment: string, runId: string): Promise<boolean> {
  const before = (await ledger.listDeployments({ environment, limit: 50 })).find((d) => d.runId !== runId);
  return before !== undefined && (before.status === 'failed' || before.status === 'rolled_back');
}
