/**
 * `gantry bootstrap <env>`: day zero of an environment, run by an administrator. Plans and applies
 * `<env>-bootstrap` (state bucket, ledger database) with its local state; when the stack has a
 * ledger, migrates its schema and sets up CI's writer login and its secret (`ledger-writer.ts`); then
 * moves the local state of every other stack of the environment that has one into the S3 backend
 * (`state-migration.ts`), refusing where a remote state exists already. Every run is written to the
 * local journal first (the ledger may not exist yet), and the journal is replayed into the ledger once
 * it is reachable: the one of `GANTRY_LEDGER_URL`, else the writer's `ledger_writer_url` once set up,
 * else the `ledger_url` the bootstrap stack outputs, else the project's PGlite ledger. Idempotent: run
 * it again to replay what could not be replayed.
 *
 * With a shared tooling account, `gantry bootstrap <tooling name>` applies `<tooling name>-bootstrap`; an
 * environment that keeps its state in that bucket (`bootstrap: { shared: true }`) has no bootstrap stack, so
 * `gantry bootstrap <env>` only moves its local states there. Any other name is refused, naming the allowed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootstrapStackId } from '../../core/naming';
import { parseStackFacts, type StackFacts } from '../../core/stack-facts';
import { readRunContext } from '../context';
import { EXIT, RuntimeError } from '../errors';
import {
  describeLedgerUrl,
  openLedger,
  DEFAULT_LEDGER_DIR,
  type FinishRunInput,
  type RunAction,
  WRITER_ROLE,
} from '../ledger';
import { summarizePlan } from '../plan-summary';
import { envRedactor, oneLine, terraformVersion, type CliIo } from '../session';
import { resolveStack, synthesize } from '../stack';
import { runTerraform } from '../terraform';
import { DEFAULT_JOURNAL_FILE, Journal, type JournalEntry } from './journal';
import { setUpLedgerWriter, WRITER_LOGIN, type LedgerWriterReport } from './ledger-writer';
import { migrateState, readLocalState } from './state-migration';

export interface BootstrapOptions {
  /** The synthesized app. @default $CDKTF_OUTDIR or cdktf.out */
  readonly outdir?: string;
  /** `false`: use `outdir` as it is. @default synthesize first */
  readonly synth?: boolean;
  /** Where the stacks' local state files are (`<stack>.tfstate`). @default .gantry/state */
  readonly stateDir?: string;
  /** The journal of runs made before the ledger exists. @default $GANTRY_JOURNAL or .gantry/journal.jsonl */
  readonly journal?: string;
  /** Give the ledger's writer login a new password (in its secret) even when it has one. @default false */
  readonly rotateWriter?: boolean;
}

const PLAN_FILE = 'gantry-bootstrap.tfplan';

interface S3BackendBlock {
  readonly bucket?: string;
  readonly key?: string;
}

/** The S3 backend of a synthesized stack, if it has one. */
function s3BackendOf(dir: string): S3BackendBlock | undefined {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as {
    terraform?: { backend?: { s3?: S3BackendBlock } };
  };
  return json.terraform?.backend?.s3;
}

type Tf = (dir: string, label: string, args: string[], capture?: boolean) => ReturnType<typeof runTerraform>;

/** The applied stack's string outputs (`terraform output -json`); none when Terraform cannot read them. */
async function stringOutputs(dir: string, tf: Tf): Promise<Record<string, string>> {
  const out = await tf(dir, 'outputs', ['output', '-json'], true);
  if (out.code !== 0) return {};
  const outputs = JSON.parse(out.stdout || '{}') as Record<string, { value?: unknown }>;
  return Object.fromEntries(
    Object.entries(outputs).flatMap(([name, o]) => (typeof o.value === 'string' ? [[name, o.value]] : [])),
  );
}

/** What `gantry bootstrap <name>` runs: a bootstrap stack, or (a sharing environment) only the migration. */
type BootstrapTarget =
  | { readonly kind: 'stack'; readonly stackId: string }
  | { readonly kind: 'shared'; readonly toolingStackId: string; readonly bucket: string };

interface SynthesizedStack {
  readonly id: string;
  readonly json: StackJsonFile;
  readonly facts: StackFacts | null;
}

interface StackJsonFile {
  readonly terraform?: { readonly backend?: { readonly s3?: S3BackendBlock } };
  readonly resource?: { readonly aws_s3_bucket?: Record<string, { readonly bucket?: unknown }> };
  readonly output?: Record<string, unknown>;
}

function synthesizedStacks(stacksDir: string): SynthesizedStack[] {
  if (!fs.existsSync(stacksDir)) return [];
  return fs
    .readdirSync(stacksDir)
    .sort()
    .filter((id) => fs.existsSync(path.join(stacksDir, id, 'cdk.tf.json')))
    .map((id) => {
      const json = JSON.parse(
        fs.readFileSync(path.join(stacksDir, id, 'cdk.tf.json'), 'utf8'),
      ) as StackJsonFile;
      const parsed = parseStackFacts(json, id);
      return { id, json, facts: parsed.ok ? parsed.facts : null };
    });
}

/** The buckets a bootstrap stack creates (literal names). */
function bucketsOf(stack: SynthesizedStack): string[] {
  return Object.values(stack.json.resource?.aws_s3_bucket ?? {})
    .map((b) => b.bucket)
    .filter((b): b is string => typeof b === 'string');
}

/**
 * `<name>-bootstrap` when the app has it (an environment's, or the tooling account's); else, for an environment
 * whose stacks keep their state in another bootstrap stack's bucket (`bootstrap: { shared: true }`), that
 * bucket. Anything else is refused, naming what may be bootstrapped.
 */
function bootstrapTarget(name: string, stacks: readonly SynthesizedStack[], outdir: string): BootstrapTarget {
  const bootstraps = stacks.filter((s) => s.facts?.kind === 'bootstrap');
  const own = bootstraps.find((s) => s.id === bootstrapStackId(name));
  if (own) return { kind: 'stack', stackId: own.id };
  const sharedBy = (env: string) => {
    const buckets = new Set(
      stacks.filter((s) => s.facts?.environment === env).map((s) => s.json.terraform?.backend?.s3?.bucket),
    );
    const tooling = bootstraps.find(
      (b) => b.facts?.environment !== env && bucketsOf(b).some((x) => buckets.has(x)),
    );
    return tooling
      ? { toolingStackId: tooling.id, bucket: bucketsOf(tooling).find((x) => buckets.has(x)) ?? '' }
      : undefined;
  };
  const shared = sharedBy(name);
  if (shared) return { kind: 'shared', ...shared };
  const environments = [
    ...new Set(stacks.map((s) => s.facts?.environment).filter((e): e is string => typeof e === 'string')),
  ];
  const allowed = [
    ...bootstraps.map((b) => b.facts?.environment ?? b.id),
    ...environments.filter((e) => !bootstraps.some((b) => b.facts?.environment === e) && sharedBy(e)),
  ];
  const choices = allowed.length > 0 ? allowed.map((a) => JSON.stringify(a)).join(', ') : 'none';
  if (environments.includes(name)) {
    throw new RuntimeError(
      `environment ${JSON.stringify(name)}: no ${bootstrapStackId(name)} stack in ${outdir} and its state is in no other bootstrap stack's bucket; give the environment bootstrap settings (bootstrap: {}, or bootstrap: { shared: true } with a tooling account; see the README's runbook) and synthesize. Allowed: ${choices}`,
    );
  }
  throw new RuntimeError(
    `bootstrap: ${JSON.stringify(name)} is neither an environment nor the tooling account of the app in ${outdir}; allowed: ${choices}`,
  );
}

export async function bootstrapCommand(name: string, options: BootstrapOptions, io: CliIo): Promise<number> {
  const write = io.out;
  const outdir = path.resolve(io.cwd, options.outdir ?? io.env.CDKTF_OUTDIR ?? 'cdktf.out');
  if (options.synth !== false) synthesize(outdir, { cwd: io.cwd, env: io.env, write });
  const env = name;
  const stacksDir = path.join(outdir, 'stacks');
  const stacks = synthesizedStacks(stacksDir);
  const target = bootstrapTarget(name, stacks, outdir);
  const stackId = target.kind === 'stack' ? target.stackId : target.toolingStackId;
  const bootstrap = resolveStack(stackId, { outdir, synth: false }, { cwd: io.cwd, env: io.env, write });
  if (bootstrap.factsProblem) throw new RuntimeError(bootstrap.factsProblem);
  const accountId =
    target.kind === 'stack'
      ? bootstrap.facts?.accountId
      : stacks.find((s) => s.facts?.environment === env)?.facts?.accountId;
  const journal = new Journal(
    path.resolve(io.cwd, options.journal ?? io.env.GANTRY_JOURNAL ?? DEFAULT_JOURNAL_FILE),
  );
  const context = readRunContext(io.env, io.cwd);
  const tfVersion = terraformVersion(io.env);
  const redactor = envRedactor(io.env);
  const who = {
    environment: env,
    commitSha: context.commitSha,
    ref: context.ref,
    actor: context.actor,
    ciRunId: context.ciRunId,
    ciRunAttempt: context.ciRunAttempt,
    ciRunUrl: context.ciRunUrl,
    roleArn: context.roleArn,
    accountId: accountId ?? context.accountId,
    terraformVersion: tfVersion,
    host: context.host,
    pid: context.pid,
  };
  const record = (stack: string, action: RunAction, started: Date, finish: FinishRunInput): JournalEntry =>
    journal.record({ ...who, stack, action }, finish, started);
  // Plans print prior values in clear: their diff is withheld (the summary follows); applies stream.
  const tf = (dir: string, label: string, args: string[], capture = false) =>
    runTerraform(args, {
      dir,
      env: io.env,
      label,
      write,
      capture,
      signals: io.signals,
      bin: io.env.GANTRY_TERRAFORM_BIN,
      withholdDiff: !capture && args[0] === 'plan',
      scrub: (line) => redactor.scrub(line),
    });
  const failure = (tail: string) => redactor.scrub(tail).split('\n').slice(-5).join('\n');

  // 1. The bootstrap stack: init, plan, apply the saved plan (local state). A sharing environment has none:
  // its state goes to the tooling account's bucket, which `gantry bootstrap <tooling>` made.
  const dir = bootstrap.dir;
  if (target.kind === 'shared') {
    write(
      `[${env}] no bootstrap stack of its own: its state goes to s3://${target.bucket}, made by ${target.toolingStackId} (run \`gantry bootstrap ${bootstrap.facts?.environment ?? target.toolingStackId}\` first, with the tooling account's credentials)`,
    );
  } else {
    const planStarted = new Date();
    const init = await tf(dir, `${stackId} init`, ['init', '-input=false', '-no-color']);
    const plan =
      init.code === 0
        ? await tf(dir, `${stackId} plan`, [
            'plan',
            '-input=false',
            '-no-color',
            '-detailed-exitcode',
            `-out=${PLAN_FILE}`,
          ])
        : init;
    if (plan.code !== 0 && plan.code !== 2) {
      record(stackId, 'plan', planStarted, {
        status: 'failed',
        exitCode: plan.code,
        errorSummary: failure(plan.tail),
      });
      throw new RuntimeError(
        `${stackId}: terraform ${init.code !== 0 ? 'init' : 'plan'} failed (exit ${plan.code}); nothing was applied`,
      );
    }
    const shown = await tf(dir, `${stackId} show`, ['show', '-json', PLAN_FILE], true);
    const summary = summarizePlan(shown.stdout, { protectedAddresses: bootstrap.protectedAddresses });
    const counts = summary.counts;
    record(stackId, 'plan', planStarted, { status: 'planned', exitCode: plan.code, counts });
    write(
      `[${stackId}] plan: ${counts.create} to create, ${counts.update} to update, ${counts.replace} to replace, ${counts.delete} to destroy`,
    );
    if (plan.code === 2) {
      const applyStarted = new Date();
      const apply = await tf(dir, `${stackId} apply`, ['apply', '-input=false', '-no-color', PLAN_FILE]);
      record(stackId, 'apply', applyStarted, {
        status: apply.code === 0 ? 'applied' : 'failed',
        exitCode: apply.code,
        counts,
        ...(apply.code === 0 ? {} : { errorSummary: failure(apply.tail) }),
      });
      if (apply.code !== 0) throw new RuntimeError(`${stackId}: terraform apply failed (exit ${apply.code})`);
    } else {
      write(`[${stackId}] no changes: the bootstrap stack is up`);
    }
    fs.rmSync(path.join(dir, PLAN_FILE), { force: true });
  }

  if (target.kind === 'stack') {
    const buckets = bucketsOf(stacks.find((s) => s.id === stackId) ?? { id: stackId, json: {}, facts: null });
    const sharing = [
      ...new Set(
        stacks
          .filter((s) => s.facts?.environment && s.facts.environment !== env)
          .filter((s) => buckets.includes(s.json.terraform?.backend?.s3?.bucket ?? ''))
          .map((s) => String(s.facts?.environment)),
      ),
    ];
    for (const other of sharing) {
      write(
        `[${stackId}] ${other} keeps its state in this bucket: \`gantry bootstrap ${other}\` moves its local state here`,
      );
    }
  }

  // 1b. The ledger's writer: schema, CI's login, its secret (fails closed: nothing more runs). Only by the
  // bootstrap of the stack that has the ledger, not by an environment sharing the tooling account's.
  let outputs: Record<string, string> | undefined;
  const stackOutputs = async () => (outputs ??= await stringOutputs(dir, tf));
  let writerUrl: string | undefined;
  const hasLedger = stacks.find((s) => s.id === stackId)?.json.output?.ledger_writer_url !== undefined;
  if (target.kind === 'stack' && hasLedger) {
    const started = new Date();
    try {
      const done = await setUpWriter(
        stackId,
        dir,
        await stackOutputs(),
        options.rotateWriter === true,
        write,
      );
      writerUrl = done.url;
      record(stackId, 'apply', started, {
        status: 'applied',
        exitCode: 0,
        note: `ledger writer: ${WRITER_LOGIN} ${OUTCOME_NOTE[done.outcome]}, a member of ${WRITER_ROLE}, its password in ${done.secretArn}`,
      });
    } catch (error) {
      const reason = redactor.scrub(oneLine(error));
      record(stackId, 'apply', started, {
        status: 'failed',
        exitCode: EXIT.failure,
        errorSummary: `ledger writer set-up failed: ${reason}`,
      });
      throw new RuntimeError(
        `${stackId}: the ledger's writer was not set up: ${reason}. Nothing else was done (no state moved); ` +
          `the run is journaled as failed in ${journal.file}. Fix the cause and run \`gantry bootstrap ${env}\` again ` +
          '(a new cluster takes minutes to accept the Data API: then just run it again)',
      );
    }
  }

  // 2. The other stacks of the environment: local state into the S3 backend.
  const stateDir = path.resolve(io.cwd, options.stateDir ?? path.join('.gantry', 'state'));
  let refused = 0;
  let failed = 0;
  for (const other of fs.readdirSync(stacksDir).sort()) {
    if (other === stackId || !fs.existsSync(path.join(stacksDir, other, 'cdk.tf.json'))) continue;
    const stack = resolveStack(other, { outdir, synth: false }, { cwd: io.cwd, env: io.env, write });
    if (stack.environment !== env) continue;
    const localStateFile = path.join(stateDir, `${other}.tfstate`);
    if (!readLocalState(localStateFile)) {
      write(`[${other}] no local state in ${localStateFile}: nothing to migrate`);
      continue;
    }
    const backend = s3BackendOf(stack.dir);
    if (!backend) {
      write(`[${other}] its backend is local (the environment names no state bucket): not migrated`);
      continue;
    }
    const remote = `s3://${backend.bucket}/${backend.key}`;
    const started = new Date();
    const outcome = await migrateState(
      { stack: other, dir: stack.dir, localStateFile, remote },
      { env: io.env, write, signals: io.signals },
    );
    if (outcome.status === 'migrated') {
      write(
        `[${other}] state moved to ${remote}: ${outcome.resources} resources; the local file is now ${outcome.movedTo}`,
      );
      record(other, 'apply', started, {
        status: 'applied',
        exitCode: 0,
        note: `state migration: ${outcome.resources} resources from the local state to ${remote}`,
      });
    } else if (outcome.status === 'refused') {
      refused += 1;
      io.err(`gantry: ${other}: refused: ${outcome.reason}`);
      record(other, 'apply', started, {
        status: 'refused',
        exitCode: EXIT.refused,
        errorSummary: `state migration refused: ${outcome.reason}`,
      });
    } else {
      failed += 1;
      io.err(`gantry: ${other}: state migration failed: ${outcome.reason}`);
      record(other, 'apply', started, {
        status: 'failed',
        exitCode: EXIT.failure,
        errorSummary: `state migration failed: ${outcome.reason}`,
      });
    }
  }

  // 3. The journal into the ledger, once each (as the writer when it is set up).
  await replayJournal(
    journal,
    writerUrl ? async () => writerUrl : async () => (await stackOutputs()).ledger_url,
    io,
  );
  if (failed > 0) return EXIT.failure;
  return refused > 0 ? EXIT.refused : EXIT.ok;
}

const OUTCOME_NOTE: Record<LedgerWriterReport['outcome'], string> = {
  created: 'created',
  kept: 'kept',
  'password-set': 'given a new password',
};

/** Sets up the writer through the Data API from the stack's outputs. */
async function setUpWriter(
  stackId: string,
  dir: string,
  outputs: Record<string, string>,
  rotate: boolean,
  write: (line: string) => void,
): Promise<{ url: string; outcome: LedgerWriterReport['outcome']; secretArn: string }> {
  const ownerUrl = outputs.ledger_url;
  const writerUrl = outputs.ledger_writer_url;
  const missing = [ownerUrl ? '' : 'ledger_url', writerUrl ? '' : 'ledger_writer_url'].filter(Boolean);
  if (!ownerUrl || !writerUrl) {
    throw new RuntimeError(
      `${stackId} declares the outputs ledger_url and ledger_writer_url, but \`terraform output\` in ${dir} gives no ${missing.join(' and no ')} (is the stack applied?)`,
    );
  }
  // Loaded only here: the Secrets Manager SDK is paid for by bootstraps with a ledger.
  const { dataApiWriterSetUp } = await import('./writer-secret');
  const setUp = dataApiWriterSetUp(ownerUrl, writerUrl, { rotate });
  try {
    const report = await setUpLedgerWriter(setUp);
    const what = {
      created: 'created, its password generated and put into',
      kept: 'kept (it has its password in',
      'password-set': 'given a new password, put into',
    }[report.outcome];
    write(
      `[${stackId}] ledger: schema migrated${report.migrated.length ? ` (${report.migrated.join(', ')} now)` : ''}; ` +
        `login ${report.login} ${what} ${setUp.secret.arn}${report.outcome === 'kept' ? ')' : ''}; a member of ${report.role.role}, ` +
        'which may write runs, never delete or rewrite one',
    );
    write(`[${stackId}] CI's GANTRY_LEDGER_URL: the output ledger_writer_url`);
    return { url: writerUrl, outcome: report.outcome, secretArn: setUp.secret.arn };
  } finally {
    await setUp.close();
  }
}

/** The ledger to replay into: `GANTRY_LEDGER_URL`, else `stackUrl` (the writer's or the stack's `ledger_url`), else the project's PGlite. */
async function replayJournal(
  journal: Journal,
  stackUrl: () => Promise<string | undefined>,
  io: CliIo,
): Promise<void> {
  const pending = journal.pending().length;
  if (pending === 0) return;
  const url = io.env.GANTRY_LEDGER_URL || (await stackUrl());
  const target = url ?? `pglite:${path.join(io.cwd, DEFAULT_LEDGER_DIR)}`;
  try {
    const ledger = await openLedger(target);
    try {
      await ledger.migrate();
      const result = await journal.replay(ledger);
      io.out(
        `[journal] ${result.replayed.length} run(s) recorded in the ledger (${describeLedgerUrl(target)})${
          result.alreadyThere.length ? `, ${result.alreadyThere.length} were there already` : ''
        }`,
      );
    } finally {
      await ledger.close();
    }
  } catch (error) {
    io.err(
      `gantry: warning: the ledger (${describeLedgerUrl(target)}) is not reachable yet (${oneLine(error)}); ${pending} run(s) stay in ${journal.file} and are recorded by the next \`gantry bootstrap\` of this environment`,
    );
  }
}
