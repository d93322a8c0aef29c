/**
 * `plan` and `drift`: a row before Terraform starts, `init` + `plan -detailed-exitcode -out` +
 * `show -json`, a redacted summary (console and step summary), and the row closed with the counts.
 * Variables (`--var`, and for `plan` the image tags of `GANTRY_IMAGE_TAGS` bound to this commit) are
 * checked against the stack's declarations first: a bad one is a `refused` row and Terraform never
 * runs. The row's `note` names the variables and gives the values of image tags only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from './ledger';
import { readRunContext } from './context';
import { EXIT, RuntimeError } from './errors';
import { summarizePlan, type PlanSummary } from './plan-summary';
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
import { resolveStack, type StackOptions } from './stack';
import { appendStepSummary } from './step-summary';
import { readConstructPaths } from './review/construct-paths';
import { DEFAULT_OUTPUT, markdownOf, renderSummary, type OutputOptions } from './summary-output';
import { runTerraform } from './terraform';
import {
  declaredVariables,
  describeVariables,
  IMAGE_TAGS_ENV,
  isImageTagVariable,
  resolveVariables,
  terraformVarArgs,
  type PlanVariable,
} from './variables';

export interface PlanOptions extends StackOptions {
  /** Where the saved plan goes. @default `<dir>/gantry.tfplan` (`gantry-drift.tfplan` for drift) */
  readonly planFile?: string;
  /** `drift` only: `plan -refresh-only`. */
  readonly refreshOnly?: boolean;
  /** `false`: `plan -lock=false` (pull-request plans, whose role may not write the lock). @default true */
  readonly lock?: boolean;
  /** `--var name=value` arguments, passed to `terraform plan` as `-var` (declared variables only). */
  readonly var?: readonly string[];
  /**
   * Which form of the summary goes to stdout, and the Markdown sizing (also for the step summary).
   * With `markdown` or `json`, Terraform's streamed output goes to stderr so stdout holds the summary only.
   * @default the console form
   */
  readonly output?: OutputOptions;
}

export const DEFAULT_PLAN_FILE = 'gantry.tfplan';

/** Runs `plan` or `drift`; returns the exit code. */
export async function planOrDrift(
  kind: 'plan' | 'drift',
  stackId: string,
  options: PlanOptions,
  io: CliIo,
): Promise<number> {
  // With a machine-read summary on stdout, everything else goes to stderr.
  const write = (line: string) =>
    (options.output && options.output.format !== 'text' ? io.err : io.out)(line);
  const stack = resolveStack(stackId, options, { cwd: io.cwd, env: io.env, write });
  const context = readRunContext(io.env, io.cwd);
  const tfVersion = terraformVersion(io.env);
  // `plan` also takes the image tags a dispatch bound to this commit (the deploy project's parameter);
  // `drift` compares with what the stack declares, or with `--var` only.
  const variables = resolveVariables({
    varArgs: options.var ?? [],
    imageTags: kind === 'plan' ? io.env[IMAGE_TAGS_ENV] : undefined,
    commit: context.commitSha,
    declared: declaredVariables(stack.dir),
  });
  const ledger = await openMigratedLedger(io, 'nothing was run');
  let active: ActiveRun | undefined;
  try {
    const start = {
      stack: stack.stack,
      action: kind,
      environment: stack.environment,
      terraformVersion: tfVersion,
      ...context,
    };
    // Without its facts the runtime cannot tell which guarantees hold for the stack: it runs nothing.
    const refusal = stack.factsProblem ?? (variables.ok ? null : variables.reason);
    if (refusal !== null) {
      let refused: RunRecord;
      try {
        refused = await ledger.recordRefusal({ ...start, reason: refusal });
      } catch (error) {
        throw new RuntimeError(
          `ledger: cannot record the refused ${kind} of ${stack.stack}: ${oneLine(error)}; nothing was run`,
        );
      }
      io.err(`gantry: ${kind} refused: ${refusal} (recorded as run ${refused.id})`);
      return EXIT.refused;
    }
    if (!variables.ok) return EXIT.refused;
    for (const note of variables.notes) io.err(`gantry: note: ${note}`);
    let record: RunRecord;
    try {
      record = await ledger.startRun(start);
    } catch (error) {
      throw new RuntimeError(
        `ledger: cannot write the ${kind} row for ${stack.stack}: ${oneLine(error)}; nothing was run`,
      );
    }
    active = new ActiveRun(ledger, record, heartbeatSeconds(io), io);
    io.err(`gantry: ${kind} ${stack.stack}: run ${record.id} (${stack.dir})`);
    const described = describeVariables(variables.variables);
    if (described) io.err(`gantry: ${kind} ${stack.stack}: ${described}`);
    return await execute(kind, stack, options, io, active, variables.variables);
  } finally {
    active?.stop();
    await ledger.close().catch(() => undefined);
  }
}

async function execute(
  kind: 'plan' | 'drift',
  stack: ReturnType<typeof resolveStack>,
  options: PlanOptions,
  io: CliIo,
  active: ActiveRun,
  variables: readonly PlanVariable[],
): Promise<number> {
  const started = Date.now();
  const redactor = envRedactor(io.env);
  // Only image tags are known not to be secret.
  for (const v of variables) if (!isImageTagVariable(v.name)) redactor.addSecretValue(v.value);
  const note = describeVariables(variables);
  const label = (step: string) => `${stack.stack} ${step}`;
  const tf = (args: string[], step: string, capture = false) =>
    runTerraform(args, {
      withholdDiff: step !== 'init',
      dir: stack.dir,
      env: io.env,
      label: label(step),
      write: options.output && options.output.format !== 'text' ? io.err : io.out,
      capture,
      signals: io.signals,
      bin: io.env.GANTRY_TERRAFORM_BIN,
      since: started,
      scrub: (line) => redactor.scrub(line),
    });
  const fail = async (
    step: string,
    run: { code: number; interrupted: NodeJS.Signals | null; tail: string },
  ) => {
    const signal = run.interrupted ?? active.interrupted;
    if (signal) {
      await active.finish({
        status: 'canceled',
        exitCode: EXIT.failure,
        errorSummary: `${step}: interrupted by ${signal}`,
        note,
      });
      io.err(
        `gantry: ${kind} ${stack.stack} canceled (${signal}); run ${active.record.id} recorded as canceled`,
      );
      return EXIT.failure;
    }
    const summary = redactor.scrub(`terraform ${step} exited ${run.code}:\n${run.tail}`);
    await active.finish({ status: 'failed', exitCode: EXIT.failure, errorSummary: summary, note });
    io.err(
      `gantry: ${kind} ${stack.stack} failed: terraform ${step} exited ${run.code}; run ${active.record.id} recorded as failed`,
    );
    return EXIT.failure;
  };

  const init = await tf(['init', '-input=false', '-no-color'], 'init');
  if (init.code !== 0 || init.interrupted || active.interrupted) return fail('init', init);

  const planFile = path.resolve(
    stack.dir,
    options.planFile ?? (kind === 'plan' ? DEFAULT_PLAN_FILE : 'gantry-drift.tfplan'),
  );
  const planArgs = [
    'plan',
    '-input=false',
    '-no-color',
    '-detailed-exitcode',
    `-out=${planFile}`,
    ...terraformVarArgs(variables),
  ];
  if (kind === 'drift' && options.refreshOnly) planArgs.push('-refresh-only');
  if (options.lock === false) planArgs.push('-lock=false');
  const plan = await tf(planArgs, kind === 'plan' ? 'plan' : 'drift');
  if (plan.interrupted || active.interrupted || (plan.code !== 0 && plan.code !== 2))
    return fail('plan', plan);

  const show = await tf(['show', '-json', '-no-color', planFile], 'show', true);
  if (show.code !== 0 || show.interrupted || active.interrupted) return fail('show', show);
  let summary: PlanSummary;
  try {
    const constructPaths = readConstructPaths(stack.dir);
    summary = summarizePlan(show.stdout, {
      protectedAddresses: stack.protectedAddresses,
      ...(constructPaths ? { constructPaths } : {}),
    });
  } catch (error) {
    return fail('show', {
      code: show.code,
      interrupted: null,
      tail: `unreadable plan JSON: ${oneLine(error)}`,
    });
  }
  const title = `Terraform ${kind === 'plan' ? 'plan' : 'drift check'}: ${stack.stack}`;
  const output = options.output ?? DEFAULT_OUTPUT;
  io.out(renderSummary(summary, output, title));
  if (io.env.GITHUB_STEP_SUMMARY)
    appendStepSummary(io.env.GITHUB_STEP_SUMMARY, markdownOf(summary, output, title));

  const sha = kind === 'plan' ? sha256File(planFile) : null;
  if (kind === 'drift') fs.rmSync(planFile, { force: true });
  const drifted = plan.code === 2;
  const status = kind === 'plan' ? 'planned' : drifted ? 'drifted' : 'no_changes';
  const exitCode = kind === 'drift' && drifted ? EXIT.changes : EXIT.ok;
  const finished = await active.finish({
    status,
    exitCode,
    counts: summary.counts,
    planSha256: sha,
    terraformVersion: summary.terraformVersion,
    note,
  });
  io.err(
    `gantry: ${kind} ${stack.stack}: ${status}; run ${finished.id}` +
      (sha ? `; plan ${planFile} sha256 ${sha}` : ''),
  );
  return exitCode;
}
