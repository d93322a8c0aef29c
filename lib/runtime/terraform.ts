/**
 * Runs Terraform as a child process: output streamed line by line with a `[<stack> <step> +12.3s]`
 * prefix (or captured, for `show -json`), the last lines kept for an error summary, and SIGINT /
 * SIGTERM forwarded to the child while it runs.
 */
import { spawn } from 'node:child_process';

export interface TerraformRun {
  /** Terraform's exit code; -1 when it was killed by a signal. */
  readonly code: number;
  /** The signal this process received and forwarded while Terraform ran, if any. */
  readonly interrupted: NodeJS.Signals | null;
  /** Captured stdout (only with `capture: true`). */
  readonly stdout: string;
  /** The last lines of output (stderr and, when streamed, stdout), for an error summary. */
  readonly tail: string;
}

export interface TerraformRunOptions {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Prefix label, e.g. `dev-foundation plan`. */
  readonly label: string;
  /** Where streamed lines go. */
  readonly write: (line: string) => void;
  /** Capture stdout instead of streaming it (for `show -json`). */
  readonly capture?: boolean;
  /** Process whose SIGINT/SIGTERM are forwarded; none in-process. */
  readonly signals?: SignalSource;
  /** The `terraform` executable. @default 'terraform' */
  readonly bin?: string;
  /**
   * Withhold the indented lines of Terraform's diff (plan and drift): values of prior state are
   * printed there in clear when Terraform does not know them to be sensitive, and gantry prints its
   * own redacted summary instead. Progress, the `Plan:` line and diagnostics still stream.
   * @default false
   */
  readonly withholdDiff?: boolean;
  /** Applied to every printed line and to the tail (known secret values out). @default none */
  readonly scrub?: (line: string) => string;
  /** Elapsed times count from here (ms since epoch). @default when this step starts */
  readonly since?: number;
}

/** What forwards signals: `process` for the CLI. */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

const TAIL_LINES = 40;

export function runTerraform(args: readonly string[], options: TerraformRunOptions): Promise<TerraformRun> {
  const started = options.since ?? Date.now();
  const elapsed = () => `+${((Date.now() - started) / 1000).toFixed(1)}s`;
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  return new Promise((resolve, reject) => {
    const child = spawn(options.bin ?? 'terraform', [...args], {
      cwd: options.dir,
      env: { ...options.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C on the terminal reaches gantry only, which forwards it once
      // (two interrupts make Terraform abort without cleaning up).
      detached: true,
    });
    let interrupted: NodeJS.Signals | null = null;
    const forward = (signal: NodeJS.Signals) => {
      interrupted = signal;
      options.write(`[${options.label} ${elapsed()}] received ${signal}, forwarding it to Terraform`);
      child.kill(signal);
    };
    options.signals?.on('SIGINT', forward);
    options.signals?.on('SIGTERM', forward);

    const chunks: Buffer[] = [];
    const lineStream = (onLine: (line: string) => void) => {
      let pending = '';
      return {
        data: (buf: Buffer) => {
          pending += buf.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) onLine(line);
        },
        end: () => {
          if (pending) onLine(pending);
          pending = '';
        },
      };
    };
    let withheld = 0;
    const printed = (raw: string) => {
      if (options.withholdDiff && /^\s+\S/.test(raw)) {
        withheld += 1;
        return;
      }
      const line = options.scrub ? options.scrub(raw) : raw;
      keep(line);
      options.write(`[${options.label} ${elapsed()}] ${line}`);
    };
    const out = lineStream(printed);
    const err = lineStream(printed);
    child.stdout.on('data', (buf: Buffer) => (options.capture ? chunks.push(buf) : out.data(buf)));
    child.stderr.on('data', (buf: Buffer) => err.data(buf));
    child.on('error', (error) => {
      options.signals?.off('SIGINT', forward);
      options.signals?.off('SIGTERM', forward);
      reject(error);
    });
    child.on('close', (code) => {
      options.signals?.off('SIGINT', forward);
      options.signals?.off('SIGTERM', forward);
      out.end();
      err.end();
      if (withheld > 0) {
        options.write(
          `[${options.label} ${elapsed()}] (${withheld} lines of Terraform's diff withheld: gantry's redacted summary follows)`,
        );
      }
      resolve({
        code: code ?? -1,
        interrupted,
        stdout: options.capture ? Buffer.concat(chunks).toString('utf8') : '',
        tail: tail.join('\n'),
      });
    });
  });
}
