/**
 * Whole-process measurement: spawn a command, time it from spawn to exit, and (for Node processes
 * started with `nodeArgs`) read the peak RSS the preloaded `rss-probe.js` reports.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
const RSS_PROBE = path.join(__dirname, 'rss-probe.js');
const REGISTER = path.join(ROOT, 'bin', 'register.js');

/** The Node flags `npm run synth` uses, plus the RSS probe. */
export const NODE_FLAGS = ['-r', REGISTER, '-r', RSS_PROBE];

export interface Sample {
  readonly wallMs: number;
  /** Peak RSS in bytes, when the process ran the probe. */
  readonly maxRssBytes?: number;
  /** CPU time (user + system) in ms, when the process ran the probe: steadier than wall time on a busy machine. */
  readonly cpuMs?: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Give up after this long. @default 10 minutes */
  readonly timeoutMs?: number;
}

/** Environment of every child: no Terraform/cdktf update checks or telemetry, no colours. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    CDKTF_DISABLE_PLUGIN_CACHE_ENV: '1',
    DISABLE_VERSION_CHECK: 'true',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    ...extra,
  };
}

/** Runs `command args` to completion; rejects with its output when it fails. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<Sample> {
  const rssFile = path.join(
    os.tmpdir(),
    `gantry-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const env = childEnv({ ...options.env, GANTRY_BENCH_RSS_FILE: rssFile });
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      let maxRssBytes: number | undefined;
      let cpuMs: number | undefined;
      if (fs.existsSync(rssFile)) {
        const [rssKiB, cpuUs] = fs.readFileSync(rssFile, 'utf8').split(' ').map(Number);
        maxRssBytes = rssKiB * 1024;
        cpuMs = cpuUs / 1000;
        fs.rmSync(rssFile, { force: true });
      }
      if (code !== 0) {
        reject(
          new Error(
            `${[command, ...args].join(' ')} exited with ${code ?? signal}\n${stderr.trim() || stdout.trim()}`,
          ),
        );
        return;
      }
      resolve({ wallMs, maxRssBytes, cpuMs, stdout, stderr });
    });
  });
}

/** Runs a TypeScript entry point with the same Node flags as `npm run synth`. */
export function runNode(
  script: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<Sample> {
  return run(process.execPath, [...NODE_FLAGS, script, ...args], options);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function maxOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

/** A fresh temp dir, removed by `cleanup()`. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gantry-bench-${prefix}-`));
}

/** Resources (and data sources) in every `stacks/<id>/cdk.tf.json` of a synth output dir. */
export function countResources(outdir: string): { stacks: number; resources: number; dataSources: number } {
  const stacksDir = path.join(outdir, 'stacks');
  let resources = 0;
  let dataSources = 0;
  const stacks = fs.readdirSync(stacksDir);
  for (const stack of stacks) {
    const json = JSON.parse(fs.readFileSync(path.join(stacksDir, stack, 'cdk.tf.json'), 'utf8')) as {
      resource?: Record<string, Record<string, unknown>>;
      data?: Record<string, Record<string, unknown>>;
    };
    for (const byName of Object.values(json.resource ?? {})) resources += Object.keys(byName).length;
    for (const byName of Object.values(json.data ?? {})) dataSources += Object.keys(byName).length;
  }
  return { stacks: stacks.length, resources, dataSources };
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
