/**
 * Offline Terraform plans that several suites read, made once. A plan is keyed by what decides it:
 * the stack's synthesized files, the offline override, the plan's arguments, and the Terraform and
 * provider versions. The same key is the same plan, so the first suite (or the global setup, which
 * plans the reference stacks before any suite starts) makes it and every later reader gets
 * `terraform show -json` of it from the cache.
 *
 * The cache lives in `node_modules/.cache/gantry-plans` (`GANTRY_PLAN_CACHE` overrides): `npm ci`
 * empties it, and a changed stack is a new key, never a stale hit.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OFFLINE_OVERRIDE, OfflineTerraform, terraformVersion, type PlanJson } from './terraform-harness';

const REPO = path.resolve(__dirname, '..');

export function planCacheDir(): string {
  return process.env.GANTRY_PLAN_CACHE ?? path.join(REPO, 'node_modules', '.cache', 'gantry-plans');
}

/** An offline plan of a stack: `plan -detailed-exitcode`'s status (0 no changes, 2 changes) and its JSON. */
export interface CachedPlan {
  readonly status: number;
  readonly json: PlanJson;
}

/** Every file of the stack directory Terraform reads, in a stable order (no `.terraform`, no state). */
function stackFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.terraform') && !e.name.endsWith('.tfstate'))
    .flatMap((e) => {
      const rel = path.join(prefix, e.name);
      return e.isDirectory() ? stackFiles(dir, rel) : [rel];
    })
    .sort();
}

let versions: string | undefined;

/** The cache key of planning `stackDir` with `extraArgs`. */
export function planKey(stackDir: string, extraArgs: readonly string[] = []): string {
  versions ??= `${terraformVersion()} hashicorp/aws 5.100.0`;
  const hash = createHash('sha256');
  hash.update(versions).update('\0').update(JSON.stringify(OFFLINE_OVERRIDE)).update('\0');
  hash.update(JSON.stringify(extraArgs)).update('\0');
  for (const file of stackFiles(stackDir)) {
    hash
      .update(file)
      .update('\0')
      .update(fs.readFileSync(path.join(stackDir, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

/**
 * The offline plan of `stackDir` (a synthesized stack directory), from the cache or made now with
 * `init` + `plan` + `show -json` in a temp copy, which is removed.
 */
export function cachedPlan(stackDir: string, extraArgs: readonly string[] = []): CachedPlan {
  const file = cacheFile(stackDir, extraArgs);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as CachedPlan;
  const tf = OfflineTerraform.prepare(stackDir);
  try {
    tf.init();
    const { status } = tf.plan(PLAN_FILE, extraArgs);
    return store(file, { status, json: tf.showJson(PLAN_FILE) });
  } finally {
    tf.dispose();
  }
}

/**
 * Plans every stack directory not cached yet, `parallel` at a time (the global setup: Terraform is
 * CPU-bound, so one per core).
 */
export async function warmPlanCache(stackDirs: readonly string[], parallel: number): Promise<void> {
  const queue = stackDirs.filter((dir) => !fs.existsSync(cacheFile(dir)));
  const worker = async () => {
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      const file = cacheFile(dir);
      const tf = OfflineTerraform.prepare(dir);
      try {
        await terraform(tf, ['init', '-input=false', '-no-color'], [0]);
        const plan = ['plan', '-input=false', '-no-color', '-detailed-exitcode', `-out=${PLAN_FILE}`];
        const { status } = await terraform(tf, plan, [0, 2]);
        const shown = await terraform(tf, ['show', '-json', '-no-color', PLAN_FILE], [0]);
        store(file, { status, json: JSON.parse(shown.stdout) as PlanJson });
      } finally {
        tf.dispose();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

const PLAN_FILE = 'plan.tfplan';

function cacheFile(stackDir: string, extraArgs: readonly string[] = []): string {
  return path.join(planCacheDir(), `${planKey(stackDir, extraArgs)}.json`);
}

function store(file: string, planned: CachedPlan): CachedPlan {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written whole, then renamed: a reader in another worker never sees half a plan.
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, JSON.stringify(planned));
  fs.renameSync(partial, file);
  return planned;
}

/** `terraform <args>` in the prepared directory, without blocking the event loop. */
function terraform(
  tf: OfflineTerraform,
  args: readonly string[],
  okStatuses: readonly number[],
): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('terraform', [...args], { cwd: tf.dir, env: tf.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const status = code ?? -1;
      const stdout = Buffer.concat(out).toString('utf8');
      if (okStatuses.includes(status)) resolve({ status, stdout });
      else {
        const stderr = Buffer.concat(err).toString('utf8');
        reject(new Error(`terraform ${args.join(' ')} exited ${status} in ${tf.dir}\n${stdout}\n${stderr}`));
      }
    });
  });
}
