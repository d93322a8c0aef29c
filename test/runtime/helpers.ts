/** Helpers for the runtime tests: the CLI in-process with captured output, and tiny Terraform dirs. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/runtime/cli';
import { RUNTIME_COMMANDS } from '../../lib/runtime/commands';
import { STACK_FACTS_KEY, STACK_FACTS_VERSION, type StackFacts } from '../../lib/core/stack-facts';

export const REPO = path.resolve(__dirname, '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `gantry <argv>` in this process with `env` (nothing of the test's own environment leaks in but PATH and HOME). */
export async function gantry(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = REPO,
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      cwd,
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    },
    RUNTIME_COMMANDS,
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Spawns the real `bin/gantry.js` (for signals and kill -9). */
export function spawnGantry(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = REPO,
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [path.join(REPO, 'bin', 'gantry.js'), ...argv], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves when a line matching `pattern` appears on the child's stdout or stderr. */
export function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (buf: Buffer) => {
      seen += buf.toString('utf8');
      if (pattern.test(seen)) {
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve(seen);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`gantry exited ${code} before printing ${pattern}:\n${seen}`)),
    );
  });
}

export function exitOf(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

/** Every descendant pid of `pid` (from /proc), deepest last. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (p: number) => {
    let children: number[] = [];
    try {
      for (const task of fs.readdirSync(`/proc/${p}/task`)) {
        const text = fs.readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        if (text) children = children.concat(text.split(/\s+/).map(Number));
      }
    } catch {
      return;
    }
    for (const child of children) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gantry-${prefix}-`));
}

/** The facts a test stack carries (what Gantry's stacks record at synth): a dev stack of acme/platform. */
export function testFacts(
  stack: string,
  overrides: Partial<Omit<StackFacts, 'version' | 'stack'>> = {},
): StackFacts {
  const environment = overrides.environment === undefined ? 'dev' : overrides.environment;
  return {
    version: STACK_FACTS_VERSION,
    stack,
    kind: 'test',
    repository: 'acme/platform',
    defaultBranch: 'main',
    environment,
    accountId: null,
    production: false,
    requiredApprovals: 0,
    approvalEnvironments: environment === null ? [] : [environment],
    services: [],
    ...overrides,
  };
}

/** prod of the reference shape: two approvals, through `prod-approval` then `prod`. */
export const PROD_FACTS = {
  environment: 'prod',
  production: true,
  requiredApprovals: 2,
  approvalEnvironments: ['prod-approval', 'prod'],
} as const;

/**
 * A Terraform working dir for stack `stack` holding `main.tf.json` (builtin `terraform_data` only: no
 * provider needed) with the stack's facts (`testFacts(stack, facts)`), as `gantry` requires.
 */
export function terraformDir(
  config: Record<string, unknown>,
  stack: string,
  facts: Partial<Omit<StackFacts, 'version' | 'stack'>> = {},
): string {
  const dir = tempDir(stack);
  const withFacts = { '//': { [STACK_FACTS_KEY]: testFacts(stack, facts) }, ...config };
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(withFacts, null, 2));
  return dir;
}

/**
 * A stack whose apply runs `sleep` in a local-exec provisioner until a file named `fast` exists in
 * the dir: an apply that stays running for as long as the test needs.
 */
export function slowStackDir(stack = 'slow'): string {
  return terraformDir(
    {
      resource: {
        terraform_data: {
          slow: {
            input: 'slow',
            provisioner: [
              {
                'local-exec': {
                  command: 'if [ ! -e "${path.module}/fast" ]; then echo gantry-test-sleeping; sleep 300; fi',
                },
              },
            ],
          },
        },
      },
    },
    stack,
  );
}
