/**
 * Finds the Terraform working directory of a stack and what the runtime knows of it: `--dir` as given,
 * or `<outdir>/stacks/<stack>`, synthesized afresh with the project's `cdktf.json` app unless
 * `--no-synth` (so a plan is always the plan of the sources at the commit it records); and the stack's
 * facts (environment, approvals, services), read from its own synthesized JSON and nowhere else.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStackFacts, type StackFacts } from '../core/stack-facts';
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
  /** The stack's facts, or `null` when they are missing or malformed (`factsProblem` says why). */
  readonly facts: StackFacts | null;
  /** Why the stack cannot be run: its facts are missing or malformed, or `--env` disagrees with them. */
  readonly factsProblem: string | null;
  /** The stack's environment, from its facts (`null` when unknown or of no single environment). */
  readonly environment: string | null;
  /** Addresses with `lifecycle.prevent_destroy` in the stack's Terraform JSON. */
  readonly protectedAddresses: string[];
}

const STACK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

interface TerraformJsonFile {
  readonly '//'?: unknown;
  readonly resource?: Record<string, Record<string, { lifecycle?: { prevent_destroy?: unknown } }>>;
}

export function resolveStack(
  stack: string,
  options: StackOptions,
  io: { cwd: string; env: NodeJS.ProcessEnv; write: (line: string) => void },
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
    if (options.synth !== false) synthesize(outdir, io);
    if (!fs.existsSync(path.join(dir, 'cdk.tf.json'))) {
      const stacksDir = path.join(outdir, 'stacks');
      const known = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).sort().join(', ') || 'none' : 'none';
      throw new RuntimeError(
        options.synth === false
          ? `stack ${stack}: ${dir}/cdk.tf.json does not exist and --no-synth was given; synthesize first (e.g. \`npm run synth\`)`
          : `stack ${JSON.stringify(stack)} is not synthesized by this app; stacks: ${known}`,
      );
    }
  }
  const files = readTerraformJson(dir);
  const withFacts = files.filter(
    (f) => typeof f['//'] === 'object' && f['//'] !== null && 'gantry' in (f['//'] as object),
  );
  const parsed =
    withFacts.length > 1
      ? {
          ok: false as const,
          reason: `${withFacts.length} files in ${dir} carry Gantry facts; a stack has one set`,
        }
      : parseStackFacts(withFacts[0] ?? files[0] ?? {}, stack);
  let factsProblem = parsed.ok ? null : `stack ${stack}: ${parsed.reason}`;
  const facts = parsed.ok ? parsed.facts : null;
  if (facts && options.env !== undefined && options.env !== facts.environment) {
    factsProblem = `--env ${JSON.stringify(options.env)}: stack ${stack} belongs to ${
      facts.environment === null
        ? 'no single environment'
        : `environment ${JSON.stringify(facts.environment)}`
    } (its facts), so it is not run as ${JSON.stringify(options.env)}`;
  }
  return {
    stack,
    dir,
    facts: factsProblem === null ? facts : null,
    factsProblem,
    environment: facts?.environment ?? null,
    protectedAddresses: files.flatMap(protectedAddressesOf),
  };
}

/** Runs the app of `<cwd>/cdktf.json` with `CDKTF_OUTDIR=<outdir>`; throws with its output when it fails. */
export function synthesize(
  outdir: string,
  io: { cwd: string; env: NodeJS.ProcessEnv; write: (line: string) => void },
): void {
  const cdktfJson = path.join(io.cwd, 'cdktf.json');
  if (!fs.existsSync(cdktfJson)) {
    throw new RuntimeError(
      `no cdktf.json in ${io.cwd} to synthesize the stacks with; run gantry in the app's directory, pass --no-synth to use ${outdir} as it is, or --dir`,
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

/** The `*.tf.json` files of `dir`, parsed (unreadable ones skipped). */
function readTerraformJson(dir: string): TerraformJsonFile[] {
  const files: TerraformJsonFile[] = [];
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tf.json'))
    .sort()) {
    try {
      files.push(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as TerraformJsonFile);
    } catch {
      continue;
    }
  }
  return files;
}

function protectedAddressesOf(doc: TerraformJsonFile): string[] {
  const found: string[] = [];
  for (const [type, byName] of Object.entries(doc.resource ?? {})) {
    for (const [name, body] of Object.entries(byName ?? {})) {
      if (body?.lifecycle?.prevent_destroy === true) found.push(`${type}.${name}`);
    }
  }
  return found;
}

/** Resource addresses with `lifecycle.prevent_destroy = true` in `*.tf.json` files of `dir`. */
export function preventDestroyAddresses(dir: string): string[] {
  return readTerraformJson(dir).flatMap(protectedAddressesOf);
}
