/**
 * Real Terraform on synthesized stacks, offline. For a stack directory under `cdktf.out/stacks/`,
 * `OfflineTerraform.prepare` copies its `cdk.tf.json` into a temp dir and adds an override file
 * (fake credentials, no AWS API look-ups, `allowed_account_ids` dropped, local backend), with a CLI
 * config whose `provider_installation` points at the machine's filesystem mirror of
 * hashicorp/aws 5.100.0. `init`, `validate`, `plan` and `show -json` then run without network.
 *
 * Terraform is required when `terraform` is on PATH or when running in CI (`CI=true`): in CI a
 * missing Terraform is a failure, never a skip.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where the offline provider mirror may live; `GANTRY_TF_PROVIDER_MIRROR` wins. */
const MIRROR_CANDIDATES = [
  process.env.GANTRY_TF_PROVIDER_MIRROR,
  '/opt/tf-plugins',
  '/usr/share/terraform/plugins',
  '/usr/local/share/terraform/plugins',
  path.join(os.homedir(), '.terraform.d', 'plugins'),
].filter((p): p is string => Boolean(p));

const AWS_PROVIDER = path.join('registry.terraform.io', 'hashicorp', 'aws', '5.100.0');

function onPath(command: string): boolean {
  return spawnSync(command, ['version'], { stdio: 'ignore' }).status === 0;
}

export const terraformAvailable = onPath('terraform');

/**
 * `describe` when Terraform can run, `describe.skip` (with a warning) only outside CI; in CI a
 * missing Terraform throws, so the suite fails instead of passing silently.
 */
export function describeWithTerraform(name: string, body: () => void): void {
  if (terraformAvailable) {
    describe(name, body);
    return;
  }
  if (process.env.CI)
    throw new Error(`${name}: terraform is not on PATH, and CI must run the Terraform suites`);
  console.warn(`${name}: skipped, terraform is not on PATH`);
  describe.skip(name, body);
}

/** Root of the filesystem mirror holding hashicorp/aws 5.100.0. */
export function findProviderMirror(): string {
  const found = MIRROR_CANDIDATES.find((root) => fs.existsSync(path.join(root, AWS_PROVIDER)));
  if (!found) {
    throw new Error(
      `no offline mirror of hashicorp/aws 5.100.0 in ${MIRROR_CANDIDATES.join(', ')}; ` +
        'set GANTRY_TF_PROVIDER_MIRROR to the directory that holds registry.terraform.io/',
    );
  }
  return found;
}

/** A CLI config that installs providers only from the mirror (symlinked, not copied). */
export function writeCliConfig(dir: string, mirror = findProviderMirror()): string {
  const file = path.join(dir, 'gantry-offline.tfrc');
  fs.writeFileSync(
    file,
    `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n`,
  );
  return file;
}

/** The override that makes an AWS stack plan offline: no credentials, no account look-up, local state. */
export const OFFLINE_OVERRIDE = {
  provider: {
    aws: [
      {
        access_key: 'AKIAGANTRYOFFLINE000',
        secret_key: 'gantry-offline-not-a-secret',
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: true,
        skip_region_validation: true,
        allowed_account_ids: null,
      },
    ],
  },
  terraform: [{ backend: { local: { path: 'terraform.tfstate' } } }],
};

export interface TerraformResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A synthesized stack copied into a temp working directory, ready for offline Terraform. */
export class OfflineTerraform {
  /** Copies `stackDir/cdk.tf.json` (and any `assets/`) into a fresh temp dir with the offline override. */
  static prepare(
    stackDir: string,
    workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-tf-')),
  ): OfflineTerraform {
    fs.cpSync(stackDir, workRoot, {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}.terraform`) && !src.endsWith('.tfstate'),
    });
    fs.writeFileSync(
      path.join(workRoot, 'gantry_offline_override.tf.json'),
      JSON.stringify(OFFLINE_OVERRIDE, null, 2),
    );
    return new OfflineTerraform(workRoot, writeCliConfig(workRoot));
  }

  private constructor(
    public readonly dir: string,
    public readonly cliConfigFile: string,
  ) {}

  /** Environment for any Terraform process run on this directory (also used by the runtime's e2e tests). */
  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      TF_CLI_CONFIG_FILE: this.cliConfigFile,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
      // Terraform and the provider are Go: a lazier garbage collector costs memory, saves CPU (as
      // the emulator harness does). GOGC in the environment wins.
      GOGC: process.env.GOGC ?? '400',
    };
  }

  run(args: readonly string[]): TerraformResult {
    const result: SpawnSyncReturns<string> = spawnSync('terraform', [...args], {
      cwd: this.dir,
      env: this.env,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** Runs and throws with Terraform's own output unless it exits with one of `okStatuses`. */
  mustRun(args: readonly string[], okStatuses: readonly number[] = [0]): TerraformResult {
    const result = this.run(args);
    if (!okStatuses.includes(result.status)) {
      throw new Error(
        `terraform ${args.join(' ')} exited ${result.status} in ${this.dir}\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result;
  }

  init(): TerraformResult {
    return this.mustRun(['init', '-input=false', '-no-color', '-backend=true']);
  }

  validate(): TerraformResult {
    return this.mustRun(['validate', '-no-color']);
  }

  /** `plan -detailed-exitcode -out=<planFile>`: 0 no changes, 2 changes. */
  plan(planFile = 'plan.tfplan', extraArgs: readonly string[] = []): TerraformResult {
    return this.mustRun(
      ['plan', '-input=false', '-no-color', '-detailed-exitcode', `-out=${planFile}`, ...extraArgs],
      [0, 2],
    );
  }

  /** The plan as Terraform's JSON (`show -json`). */
  showJson(planFile = 'plan.tfplan'): PlanJson {
    return JSON.parse(this.mustRun(['show', '-json', '-no-color', planFile]).stdout) as PlanJson;
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The parts of `terraform show -json` the tests read. */
export interface PlanJson {
  readonly format_version: string;
  readonly terraform_version: string;
  readonly variables?: Record<string, { value: unknown }>;
  readonly resource_changes?: ReadonlyArray<{
    readonly address: string;
    readonly type: string;
    readonly name: string;
    readonly mode: 'managed' | 'data';
    readonly change: { readonly actions: readonly string[]; readonly after?: unknown };
  }>;
}

/** Terraform's version string, e.g. `1.11.4`. */
export function terraformVersion(): string {
  const out = execFileSync('terraform', ['version', '-json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as { terraform_version: string }).terraform_version;
}
