/**
 * Finds the Terraform working directory of a stack: `--dir` as given, or
 * `<outdir>/stacks/<stack>` (synthesizing first with the project's `cdktf.json` app when the stack
 * is missing, unless `--no-synth`), and the stack's environment and approval rule.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GantryConfig } from '../../environments/types';
import { RuntimeError } from './errors';

export interface StackOptions {
  readonly dir?: string;
  readonly outdir?: string;
  readonly synth?: boolean;
  readonly env?: string;
}

export interface ResolvedStack {
  readonly stack: string;
  readonly dir: string;
  readonly environment: string | null;
  /** Approvals the environment requires (0 when unknown). */
  readonly requiredApprovals: number;
  /** Addresses with `lifecycle.prevent_destroy` in the stack's Terraform JSON. */
  readonly protectedAddresses: string[];
}

const STACK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export function resolveStack(
  stack: string,
  options: StackOptions,
  io: { cwd: string; env: NodeJS.ProcessEnv; write: (line: string) => void },
  config: GantryConfig | null,
): ResolvedStack {
  if (!STACK_ID.test(stack)) {
    throw new RuntimeError(`stack: ${JSON.stringify(stack)} is not a stack id (letters, digits, '-', '_')`);
  }
  let dir: string;
  if (options.dir) {
    dir = path.resolve(io.cwd, options.dir);
    if (!fs.existsSync(dir)) throw new RuntimeError(`--dir: ${dir} does not exist`);
  } else {
    const outdir = path.resolve(io.cwd, options.outdir ?? io.env.CDKTF_OUTDIR ?? 'cdktf.out');
    dir = path.join(outdir, 'stacks', stack);
    if (!fs.existsSync(path.join(dir, 'cdk.tf.json'))) {
      if (options.synth === false) {
        throw new RuntimeError(
          `stack ${stack}: ${dir}/cdk.tf.json does not exist and --no-synth was given; run \`npm run synth\``,
        );
      }
      synthesize(outdir, io);
      if (!fs.existsSync(path.join(dir, 'cdk.tf.json'))) {
        const stacksDir = path.join(outdir, 'stacks');
        const known = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).sort().join(', ') : 'none';
        throw new RuntimeError(
          `stack ${JSON.stringify(stack)} is not synthesized by this app; stacks: ${known}`,
        );
      }
    }
  }
  const environment = options.env ?? environmentOf(stack, config);
  const envConfig = config?.environments.find((e) => e.name === environment);
  if (options.env && config && !envConfig) {
    const allowed = config.environments.map((e) => JSON.stringify(e.name)).join(', ');
    throw new RuntimeError(`--env: ${JSON.stringify(options.env)} is not configured, allowed: ${allowed}`);
  }
  return {
    stack,
    dir,
    environment: environment ?? null,
    requiredApprovals: envConfig?.approval.requiredApprovals ?? 0,
    protectedAddresses: preventDestroyAddresses(dir),
  };
}

/** `<env>-foundation` / `<env>-services` belong to `<env>`. */
function environmentOf(stack: string, config: GantryConfig | null): string | undefined {
  const names = config?.environments.map((e) => e.name) ?? [];
  return names.filter((n) => stack.startsWith(`${n}-`)).sort((a, b) => b.length - a.length)[0];
}

function synthesize(
  outdir: string,
  io: { cwd: string; env: NodeJS.ProcessEnv; write: (line: string) => void },
): void {
  const cdktfJson = path.join(io.cwd, 'cdktf.json');
  if (!fs.existsSync(cdktfJson)) {
    throw new RuntimeError(
      `no synthesized stacks in ${outdir} and no cdktf.json in ${io.cwd} to synthesize them; run \`cdktf synth\` or pass --dir`,
    );
  }
  const app = (JSON.parse(fs.readFileSync(cdktfJson, 'utf8')) as { app?: string }).app;
  if (!app) throw new RuntimeError(`${cdktfJson} has no "app" command to synthesize with`);
  io.write(`[synth] ${app}`);
  const result = spawnSync(app, {
    cwd: io.cwd,
    env: { ...io.env, CDKTF_OUTDIR: outdir },
    shell: true,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new RuntimeError(
      `synth failed (exit ${result.status}):\n${(result.stderr || result.stdout).trim()}`,
    );
  }
}

/** Resource addresses with `lifecycle.prevent_destroy = true` in `*.tf.json` files of `dir`. */
export function preventDestroyAddresses(dir: string): string[] {
  const found: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.tf.json'))) {
    let doc: { resource?: Record<string, Record<string, { lifecycle?: { prevent_destroy?: unknown } }>> };
    try {
      doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as typeof doc;
    } catch {
      continue;
    }
    for (const [type, byName] of Object.entries(doc.resource ?? {})) {
      for (const [name, body] of Object.entries(byName ?? {})) {
        if (body?.lifecycle?.prevent_destroy === true) found.push(`${type}.${name}`);
      }
    }
  }
  return found;
}
