/**
 * Runs a short-lived tool (e.g. `cosign copy`) as a child process: no shell, no stdin, a timeout
 * after which it is killed, stdout and stderr captured (capped) and scrubbed of known secrets. The
 * caller checks the exit code; nothing here is streamed.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** The exit code; null when the process was killed (timeout) or never started. */
  readonly code: number | null;
  /** True when the timeout killed it. */
  readonly timedOut: boolean;
  /** Why it did not start (e.g. `spawn cosign ENOENT`), scrubbed. */
  readonly error: string | null;
  /** Captured output, scrubbed, at most `MAX_OUTPUT` characters each (the end is kept). */
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long. */
  readonly timeoutMs: number;
  /** Applied to the captured output and the error. @default none */
  readonly scrub?: (text: string) => string;
  readonly cwd?: string;
  /** Characters of each stream kept (the last ones). @default MAX_OUTPUT */
  readonly maxOutput?: number;
}

/** Runs `bin args...`; never rejects. */
export type CommandRunner = (
  bin: string,
  args: readonly string[],
  options: CommandOptions,
) => Promise<CommandResult>;

/** Characters of each stream kept (the last ones: errors come last). */
export const MAX_OUTPUT = 8000;

const keepEnd = (text: string, max: number) => (text.length > max ? `...${text.slice(-max)}` : text);

/** The runner of the CLI: `child_process.spawn`. */
export const runCommand: CommandRunner = (bin, args, options) => {
  const scrub = options.scrub ?? ((text: string) => text);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const done = (code: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        code,
        timedOut,
        error: error === null ? null : scrub(error),
        stdout: scrub(keepEnd(Buffer.concat(out).toString('utf8'), options.maxOutput ?? MAX_OUTPUT)),
        stderr: scrub(keepEnd(Buffer.concat(err).toString('utf8'), options.maxOutput ?? MAX_OUTPUT)),
      });
    };
    const child = spawn(bin, [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => done(null, e.message));
    child.on('close', (code) => done(timedOut ? null : code, null));
  });
};
