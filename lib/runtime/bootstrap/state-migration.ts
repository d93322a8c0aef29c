/**
 * Moves one stack's local state into its S3 backend with Terraform's own `init -migrate-state`, after
 * establishing that the remote holds no state yet: an existing remote state is never overwritten, and
 * when its existence cannot be established the migration is refused (fail closed).
 *
 * Terraform migrates from the backend a working directory was last initialised with, so the stack is
 * first initialised with a local backend at the state file (an override file beside `cdk.tf.json`,
 * removed afterwards), then with its own S3 backend and `-migrate-state -force-copy` (the copy is
 * what was asked for; the remote was checked empty just before).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTerraform, type SignalSource } from '../terraform';

/** The override file that points the stack at its local state for the first `init`. */
export const MIGRATION_OVERRIDE_FILE = 'gantry_state_migration_override.tf.json';

export interface StateMigrationTarget {
  readonly stack: string;
  /** The stack's Terraform working directory (its synthesized `cdk.tf.json`, S3 backend). */
  readonly dir: string;
  /** The local state file to move. */
  readonly localStateFile: string;
  /** `s3://<bucket>/<key>`, for messages. */
  readonly remote: string;
}

export interface MigrationIo {
  readonly env: NodeJS.ProcessEnv;
  readonly write: (line: string) => void;
  readonly signals?: SignalSource;
}

export type MigrationOutcome =
  | { readonly status: 'migrated'; readonly resources: number; readonly movedTo: string }
  | { readonly status: 'refused'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string };

interface StateFile {
  readonly serial?: number;
  readonly resources?: ReadonlyArray<{ readonly mode?: string; readonly instances?: readonly unknown[] }>;
}

/** Managed resource instances in a state document (what `terraform state list` lists). */
export function countStateResources(state: StateFile): number {
  return (state.resources ?? [])
    .filter((r) => r.mode === 'managed')
    .reduce((sum, r) => sum + (r.instances?.length ?? 0), 0);
}

/** The local state of a file, or undefined when there is none or it holds no resource. */
export function readLocalState(file: string): StateFile | undefined {
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
  return countStateResources(state) > 0 ? state : undefined;
}

export async function migrateState(target: StateMigrationTarget, io: MigrationIo): Promise<MigrationOutcome> {
  const local = readLocalState(target.localStateFile);
  if (!local) return { status: 'failed', reason: `${target.localStateFile} holds no resource` };
  const expected = countStateResources(local);
  const tf = (args: string[], step: string, capture = false) =>
    runTerraform(args, {
      dir: target.dir,
      env: io.env,
      label: `${target.stack} ${step}`,
      write: io.write,
      capture,
      signals: io.signals,
      bin: io.env.GANTRY_TERRAFORM_BIN,
    });
  const override = path.join(target.dir, MIGRATION_OVERRIDE_FILE);

  // 1. Does the remote hold a state already? Established, or the migration is refused.
  fs.rmSync(override, { force: true });
  const remoteInit = await tf(['init', '-input=false', '-no-color', '-reconfigure'], 'init (remote check)');
  if (remoteInit.code !== 0) {
    return {
      status: 'refused',
      reason: `could not read ${target.remote} to check that it holds no state (terraform init exited ${remoteInit.code}: ${lastLine(remoteInit.tail)}); nothing was migrated`,
    };
  }
  const remote = await tf(['state', 'pull'], 'state pull', true);
  if (remote.code !== 0) {
    return {
      status: 'refused',
      reason: `could not read ${target.remote} (terraform state pull exited ${remote.code}: ${lastLine(remote.tail)}); nothing was migrated`,
    };
  }
  // With no object at the key, `state pull` prints an empty state (serial 0, no resources).
  const pulled = remote.stdout.trim() ? (JSON.parse(remote.stdout) as StateFile) : undefined;
  const existing =
    pulled && ((pulled.serial ?? 0) > 0 || countStateResources(pulled) > 0) ? pulled : undefined;
  if (existing) {
    return {
      status: 'refused',
      reason:
        `remote state ${target.remote} exists already (serial ${existing.serial ?? '?'}, ${countStateResources(existing)} resources) and is not overwritten; ` +
        `the local ${target.localStateFile} (${expected} resources) was kept. If the remote is the one to keep, move the local file aside; ` +
        `if the local one is, compare them (terraform state pull), then run \`terraform state push\` in ${target.dir} yourself`,
    };
  }

  // 2. Initialise at the local state, then migrate it into the S3 backend.
  try {
    fs.writeFileSync(
      override,
      JSON.stringify(
        { terraform: [{ backend: { local: { path: path.resolve(target.localStateFile) } } }] },
        null,
        2,
      ),
    );
    const localInit = await tf(['init', '-input=false', '-no-color', '-reconfigure'], 'init (local state)');
    if (localInit.code !== 0) {
      return {
        status: 'failed',
        reason: `terraform init at the local state exited ${localInit.code}: ${lastLine(localInit.tail)}`,
      };
    }
  } finally {
    fs.rmSync(override, { force: true });
  }
  const migrate = await tf(
    ['init', '-input=false', '-no-color', '-migrate-state', '-force-copy'],
    'init -migrate-state',
  );
  if (migrate.code !== 0) {
    return {
      status: 'failed',
      reason: `terraform init -migrate-state exited ${migrate.code}: ${lastLine(migrate.tail)}; the local state file was kept`,
    };
  }

  // 3. Nothing lost: the remote holds as many resources as the local file did.
  const after = await tf(['state', 'pull'], 'state pull (after)', true);
  const moved =
    after.code === 0 && after.stdout.trim() ? countStateResources(JSON.parse(after.stdout) as StateFile) : -1;
  if (moved !== expected) {
    return {
      status: 'failed',
      reason: `after the migration ${target.remote} holds ${moved < 0 ? 'no readable state' : `${moved} resources`}, the local file ${expected}; the local file was kept, compare them before anything else`,
    };
  }
  const movedTo = fs.existsSync(`${target.localStateFile}.migrated`)
    ? `${target.localStateFile}.migrated-${Date.now()}`
    : `${target.localStateFile}.migrated`;
  fs.renameSync(target.localStateFile, movedTo);
  return { status: 'migrated', resources: expected, movedTo };
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-3).join(' / ') || 'no output';
}
