/**
 * What every command shares: the I/O it writes to, opening (and migrating) the ledger with a message
 * that says nothing ran when that fails, a running row with its heartbeat, and redacted error text.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_LEDGER_DIR,
  describeLedgerUrl,
  openLedger,
  RunNotRunningError,
  type Ledger,
  type RunRecord,
  type FinishRunInput,
} from './ledger';
import { EXIT, RuntimeError } from './errors';
import { Redactor } from './redaction';
import type { SignalSource } from './terraform';

/** Where a command reads its environment and writes its output: `process` for the CLI, buffers in tests. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Forward SIGINT/SIGTERM to Terraform; only the real process has them. */
  readonly signals?: SignalSource;
  /**
   * An open, migrated ledger to use instead of opening `GANTRY_LEDGER_URL`: `gantry deploy` runs its
   * plan and apply on its own connection (a PGlite directory admits one opener). Not closed by them.
   */
  readonly ledger?: Ledger;
}

/** Opens the ledger named by `GANTRY_LEDGER_URL` and applies pending migrations. */
export async function openMigratedLedger(io: CliIo, purpose: string): Promise<Ledger> {
  // The caller's ledger, behind a `close` that leaves it open for the caller.
  if (io.ledger) return Object.create(io.ledger, { close: { value: async () => undefined } }) as Ledger;
  const url = io.env.GANTRY_LEDGER_URL;
  let ledger: Ledger | undefined;
  try {
    // The default PGlite directory is the project's (the working directory's) `.gantry/ledger`.
    ledger = await openLedger(url || `pglite:${path.join(io.cwd, DEFAULT_LEDGER_DIR)}`, {
      lapseSeconds: positiveNumber(io.env.GANTRY_LAPSE_SECONDS, 'GANTRY_LAPSE_SECONDS') ?? 120,
    });
    await ledger.migrate();
    return ledger;
  } catch (error) {
    await ledger?.close().catch(() => undefined);
    throw new RuntimeError(
      `ledger unreachable (${describeLedgerUrl(url)}): ${oneLine(error)}; ${purpose}`,
      EXIT.failure,
    );
  }
}

export function positiveNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new RuntimeError(`${name}: ${JSON.stringify(value)} is not a non-negative number of seconds`);
  return n;
}

export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || (error instanceof Error ? error.name : 'error');
}

/**
 * A `running` row kept alive by a heartbeat until `finish`. While it is open, SIGINT/SIGTERM do not
 * kill the process: they are remembered (`interrupted`), forwarded to Terraform by `runTerraform`,
 * and the row ends `canceled`.
 */
export class ActiveRun {
  private readonly timer: NodeJS.Timeout;
  private signal: NodeJS.Signals | null = null;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.signal = signal;
  };

  constructor(
    private readonly ledger: Ledger,
    public readonly record: RunRecord,
    heartbeatSeconds: number,
    private readonly io: CliIo,
  ) {
    io.signals?.on('SIGINT', this.onSignal);
    io.signals?.on('SIGTERM', this.onSignal);
    this.timer = setInterval(() => {
      // A missed heartbeat must never stop Terraform mid-apply: warn and carry on.
      ledger.heartbeat(record.id).then(
        (alive) => {
          if (!alive)
            io.err(`gantry: warning: run ${record.id} is no longer running in the ledger (reaped?)`);
        },
        (error: unknown) => io.err(`gantry: warning: ledger heartbeat failed: ${oneLine(error)}`),
      );
    }, heartbeatSeconds * 1000);
    this.timer.unref();
  }

  /** The signal received while the run was open, if any. */
  get interrupted(): NodeJS.Signals | null {
    return this.signal;
  }

  async finish(result: FinishRunInput): Promise<RunRecord> {
    this.stop();
    try {
      return await this.ledger.finishRun(this.record.id, result);
    } catch (error) {
      // A row reaped meanwhile is closed already (abandoned): the message says what to do.
      const after =
        error instanceof RunNotRunningError
          ? ''
          : '; it stays running until its heartbeat lapses and `gantry ledger reap` marks it abandoned';
      throw new RuntimeError(
        `ledger: could not close run ${this.record.id} as ${result.status}: ${oneLine(error)}${after}`,
      );
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.io.signals?.off('SIGINT', this.onSignal);
    this.io.signals?.off('SIGTERM', this.onSignal);
  }
}

export function heartbeatSeconds(io: CliIo): number {
  return positiveNumber(io.env.GANTRY_HEARTBEAT_SECONDS, 'GANTRY_HEARTBEAT_SECONDS') || 15;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** `terraform version`, or null when it cannot run. */
export function terraformVersion(env: NodeJS.ProcessEnv): string | null {
  const out = spawnSync(env.GANTRY_TERRAFORM_BIN ?? 'terraform', ['version', '-json'], {
    env,
    encoding: 'utf8',
  });
  if (out.status !== 0) return null;
  try {
    return (JSON.parse(out.stdout) as { terraform_version?: string }).terraform_version ?? null;
  } catch {
    return null;
  }
}

/**
 * A redactor for Terraform's error output before any summary is known: the values of `TF_VAR_*`
 * variables (any of them may be sensitive) and secret-looking assignments.
 */
export function envRedactor(env: NodeJS.ProcessEnv): Redactor {
  const redactor = new Redactor();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('TF_VAR_') && value) redactor.addSecretValue(value);
    // The deploy build's GitHub token (approvals): never in a log or the ledger.
    if ((name === 'GANTRY_GITHUB_TOKEN' || name === 'GITHUB_TOKEN') && value) redactor.addSecretValue(value);
  }
  return redactor;
}
