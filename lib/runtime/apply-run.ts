/**
 * `apply`: applies only the saved plan of a `planned` run, after the guards. The stack is claimed
 * first (the database's unique index admits one active apply per stack; a loser is recorded as
 * `refused`), then: the plan file's SHA-256 must equal the one recorded at plan time, the plan's
 * commit must be the current commit, no newer commit may have been applied (unless `--allow-older`
 * with a reason), and an environment needing N >= 2 approvals must show N distinct approvers other
 * than the initiator on the GitHub Actions run (in the CodeBuild deploy build: on the run that
 * started the build, named by the handoff parameter for this commit). Every refusal is a closed row with its reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { APPLY_WORKFLOW_PATH, verifyApprovals } from './approvals';
import { readRunContext, type RunContext } from './context';
import { EXIT, RuntimeError } from './errors';
import { StackBusyError, type Ledger, type RunRecord, type StartRunInput } from './ledger';
import { DEFAULT_PLAN_FILE } from './plan-run';
import {
  ActiveRun,
  envRedactor,
  heartbeatSeconds,
  oneLine,
  openMigratedLedger,
  sha256File,
  terraformVersion,
  type CliIo,
} from './session';
import { resolveStack, type ResolvedStack, type StackOptions } from './stack';
import { runTerraform } from './terraform';

export interface ApplyOptions extends StackOptions {
  /** @default `<dir>/gantry.tfplan` */
  readonly planFile?: string;
  /** The plan run to apply. @default the stack's latest `planned` run */
  readonly planRun?: string;
  /** Apply although a newer commit was applied already; the reason is recorded. */
  readonly allowOlder?: string;
}

export async function applyCommand(stackId: string, options: ApplyOptions, io: CliIo): Promise<number> {
  if (options.allowOlder !== undefined && options.allowOlder.trim().length < 5) {
    throw new RuntimeError(
      '--allow-older: give a reason of at least 5 characters; it is recorded on the run',
    );
  }
  const stack = resolveStack(
    stackId,
    { ...options, synth: false },
    { cwd: io.cwd, env: io.env, write: io.out },
  );
  const context = readRunContext(io.env, io.cwd);
  const ledger = await openMigratedLedger(io, 'nothing was applied');
  let active: ActiveRun | undefined;
  try {
    const planRun = options.planRun
      ? await ledger.getRun(options.planRun)
      : ((await ledger.listRuns({ stack: stack.stack, action: 'plan', status: 'planned', limit: 1 }))[0] ??
        null);
    const base: StartRunInput = {
      stack: stack.stack,
      action: 'apply',
      environment: stack.environment,
      terraformVersion: terraformVersion(io.env),
      planRunId: planRun?.id ?? null,
      planSha256: planRun?.planSha256 ?? null,
      ...context,
    };
    let record: RunRecord;
    try {
      const claim = await claimStack(ledger, base);
      if (!claim.ok) {
        io.err(
          `gantry: apply refused: ${claim.refused.errorSummary ?? ''} (recorded as run ${claim.refused.id})`,
        );
        return EXIT.refused;
      }
      record = claim.run;
    } catch (error) {
      throw new RuntimeError(
        `ledger: cannot write the apply row for ${stack.stack}: ${oneLine(error)}; nothing was applied`,
      );
    }
    active = new ActiveRun(ledger, record, heartbeatSeconds(io), io);
    io.err(`gantry: apply ${stack.stack}: run ${record.id} (${stack.dir})`);
    return await guardedApply(stack, options, io, context, ledger, active, planRun);
  } finally {
    active?.stop();
    await ledger.close().catch(() => undefined);
  }
}

/**
 * Claims a stack for an apply: a `running` row, or, when the database's unique index says another
 * apply holds the stack (running, or abandoned and not acknowledged), a closed `refused` row.
 */
export async function claimStack(
  ledger: Ledger,
  input: StartRunInput,
): Promise<{ ok: true; run: RunRecord } | { ok: false; refused: RunRecord }> {
  try {
    return { ok: true, run: await ledger.startRun(input) };
  } catch (error) {
    if (!(error instanceof StackBusyError)) throw error;
    return { ok: false, refused: await ledger.recordRefusal({ ...input, reason: error.message }) };
  }
}

async function guardedApply(
  stack: ResolvedStack,
  options: ApplyOptions,
  io: CliIo,
  context: RunContext,
  ledger: Ledger,
  active: ActiveRun,
  planRun: RunRecord | null,
): Promise<number> {
  const refuse = async (reason: string, approvers?: readonly string[]) => {
    await active.finish({
      status: 'refused',
      exitCode: EXIT.refused,
      errorSummary: reason,
      approvers: approvers ?? null,
    });
    io.err(`gantry: apply refused: ${reason} (recorded as run ${active.record.id})`);
    return EXIT.refused;
  };
  const planFile = path.resolve(stack.dir, options.planFile ?? DEFAULT_PLAN_FILE);

  // Without its facts the runtime cannot tell which approvals the stack needs: it applies nothing.
  if (!stack.facts) return refuse(stack.factsProblem ?? `stack ${stack.stack}: no facts`);
  const facts = stack.facts;
  if (!planRun) {
    return refuse(
      options.planRun
        ? `plan run ${options.planRun} does not exist`
        : `stack ${stack.stack} has no planned run; run \`gantry plan ${stack.stack}\` first`,
    );
  }
  if (planRun.stack !== stack.stack || planRun.action !== 'plan' || planRun.status !== 'planned') {
    return refuse(
      `run ${planRun.id} is a ${planRun.action} of ${planRun.stack} (${planRun.status}), not a planned run of ${stack.stack}`,
    );
  }
  if (!fs.existsSync(planFile)) return refuse(`plan file ${planFile} does not exist`);
  const sha = sha256File(planFile);
  if (sha !== planRun.planSha256) {
    return refuse(
      `plan file ${planFile} has SHA-256 ${sha}, but plan run ${planRun.id} recorded ${planRun.planSha256 ?? 'none'}: ` +
        'the file was changed or comes from another plan; run `gantry plan` again',
    );
  }
  if (!context.commitSha || !planRun.commitSha) {
    return refuse(
      `cannot tell whether plan run ${planRun.id} (commit ${planRun.commitSha ?? 'unknown'}) was made from the current commit ` +
        `(${context.commitSha ?? 'unknown'}); set GANTRY_COMMIT_SHA or run inside the git checkout`,
    );
  }
  if (context.commitSha !== planRun.commitSha) {
    return refuse(
      `plan run ${planRun.id} was made from commit ${planRun.commitSha}, the current commit is ${context.commitSha}; plan again`,
    );
  }
  const lastApplied = (
    await ledger.listRuns({ stack: stack.stack, action: 'apply', status: 'applied', limit: 1 })
  )[0];
  if (lastApplied?.planRunId === planRun.id) {
    return refuse(`plan run ${planRun.id} was already applied by run ${lastApplied.id}; plan again`);
  }
  let note: string | null = null;
  const appliedPlan = lastApplied?.planRunId ? await ledger.getRun(lastApplied.planRunId) : null;
  if (
    appliedPlan &&
    appliedPlan.startedAt > planRun.startedAt &&
    appliedPlan.commitSha !== planRun.commitSha
  ) {
    const newer = `a newer plan (run ${appliedPlan.id}, commit ${appliedPlan.commitSha ?? 'unknown'}) was applied to ${stack.stack} by run ${lastApplied?.id} at ${lastApplied?.finishedAt}`;
    if (options.allowOlder === undefined) {
      return refuse(
        `${newer}; applying commit ${planRun.commitSha} would roll it back. Pass --allow-older "<reason>" to do so on purpose`,
      );
    }
    note = `allow-older: ${options.allowOlder.trim()} (superseded by commit ${appliedPlan.commitSha ?? 'unknown'})`;
    io.err(`gantry: warning: ${newer}; applying the older commit as asked: ${options.allowOlder.trim()}`);
  }

  let approvers: readonly string[] | null = null;
  if (facts.requiredApprovals >= 2) {
    const required = facts.requiredApprovals;
    const check = await verifyApprovals({
      env: io.env,
      commit: context.commitSha ?? '',
      environment: stack.environment,
      required,
      // The gate chain and the default branch are the stack's facts; the workflow is the generated apply
      // workflow, which deploys an environment that needs approvals only when dispatched.
      gateEnvironments: facts.approvalEnvironments,
      workflowPath: APPLY_WORKFLOW_PATH,
      allowedEvents: ['workflow_dispatch'],
      defaultBranch: facts.defaultBranch,
    });
    if (!check.ok) return refuse(check.reason ?? 'approvals missing', check.approvers);
    approvers = check.approvers;
    io.err(
      `gantry: approvals: ${approvers.join(', ')} (${required} required) on ${check.source ?? 'GitHub'}`,
    );
  }

  const redactor = envRedactor(io.env);
  const started = Date.now();
  const tf = (args: string[], step: string) =>
    runTerraform(args, {
      dir: stack.dir,
      env: io.env,
      label: `${stack.stack} ${step}`,
      write: io.out,
      signals: io.signals,
      bin: io.env.GANTRY_TERRAFORM_BIN,
      since: started,
      scrub: (line) => redactor.scrub(line),
    });
  const base = { counts: planRun.counts, planSha256: sha, approvers, note };
  // A saved plan is applied in the directory that made it; init only when that directory is new
  // here (a fresh checkout in another job).
  const steps: Array<readonly [string, readonly string[]]> = [];
  if (!fs.existsSync(path.join(stack.dir, '.terraform')))
    steps.push(['init', ['init', '-input=false', '-no-color']]);
  steps.push(['apply', ['apply', '-input=false', '-no-color', planFile]]);
  for (const [step, args] of steps) {
    const run = await tf([...args], step);
    const signal = run.interrupted ?? active.interrupted;
    if (signal) {
      await active.finish({
        ...base,
        status: 'canceled',
        exitCode: EXIT.failure,
        errorSummary: `${step}: interrupted by ${signal}`,
      });
      io.err(
        `gantry: apply ${stack.stack} canceled (${signal}); run ${active.record.id} recorded as canceled`,
      );
      return EXIT.failure;
    }
    if (run.code !== 0) {
      await active.finish({
        ...base,
        status: 'failed',
        exitCode: EXIT.failure,
        errorSummary: redactor.scrub(`terraform ${step} exited ${run.code}:\n${run.tail}`),
      });
      io.err(
        `gantry: apply ${stack.stack} failed: terraform ${step} exited ${run.code}; run ${active.record.id} recorded as failed`,
      );
      return EXIT.failure;
    }
  }
  const done = await active.finish({ ...base, status: 'applied', exitCode: EXIT.ok });
  io.err(`gantry: apply ${stack.stack}: applied; run ${done.id}`);
  return EXIT.ok;
}
