/**
 * Real applies against an AWS API emulator: moto's server (5.2.1, patched by `moto_launcher.py`),
 * one per AWS account, on a free loopback port.
 *
 * - `MotoServer.start(accountId)` starts one and waits (bounded) until it answers;
 * - `EmulatedStack.prepare(outdir, stackId, server)` writes, beside the stack's `cdk.tf.json`, an
 *   override pointing the AWS provider at that server (an endpoint for every service the stack's
 *   resource types use, dummy keys, `max_retries = 3`, local state in the directory) and a CLI config
 *   installing providers from the offline mirror; `allowed_account_ids` stays in force, the server
 *   being the environment's account;
 * - `EmulatedEnvironments.start(config, names)` does both for whole environments: servers started and
 *   seeded in parallel (`seed.ts`), the seeded configuration synthesized once, and `dispose()` kills
 *   the servers and removes the temp dirs (call it from `afterAll`: it runs when a test failed too).
 *
 * `describeWithEmulator` runs a suite when Terraform, `moto_server` and python3 with moto are there;
 * in CI (`CI=true`) a missing one fails the suite, never skips it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../pg-cluster';
import { terraformAvailable, writeCliConfig, type PlanJson } from '../terraform-harness';
import { synthApp } from '../util';
import { seedEnvironment, seededConfig, EMULATOR_CREDENTIALS, type SeededEnvironment } from './seed';
// Config types: from environments/ until they move to lib/config/.
import type { EnvironmentConfig, GantryConfig } from '../../lib/config';

/** The moto version `moto_launcher.py` patches; it refuses to start on any other. */
export const MOTO_VERSION = '5.2.1';

const LAUNCHER = path.join(__dirname, 'moto_launcher.py');

/** `command` is an executable file in a directory of PATH (without running it). */
function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why the emulator suites cannot run here, or undefined when they can. */
export function emulatorProblem(): string | undefined {
  if (!terraformAvailable) return 'terraform is not on PATH';
  if (!onPath('moto_server'))
    return `moto_server is not on PATH (pip install 'moto[server]==${MOTO_VERSION}')`;
  if (!onPath('python3')) return 'python3 is not on PATH';
  if (spawnSync('python3', ['-c', 'import moto'], { stdio: 'ignore' }).status !== 0)
    return `python3 cannot import moto (pip install 'moto[server]==${MOTO_VERSION}')`;
  if (!onPath('openssl')) return 'openssl is not on PATH (the tests make a self-signed certificate with it)';
  return undefined;
}

/**
 * `describe` when the emulator can run; outside CI, `describe.skip` with a warning; in CI a missing
 * tool throws, so the suite fails instead of passing silently. (A moto of another version is no
 * reason to skip: the launcher then fails the suite saying what to do.)
 */
export function describeWithEmulator(name: string, body: () => void): void {
  const problem = emulatorProblem();
  if (!problem) {
    describe(name, body);
    return;
  }
  if (process.env.CI) throw new Error(`${name}: ${problem}, and CI must run the emulator suites`);
  console.warn(`${name}: skipped, ${problem}`);
  describe.skip(name, body);
}

/** Servers still running, killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** One moto server: one AWS account on `http://127.0.0.1:<port>`. */
export class MotoServer {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    public readonly accountId: string,
    public readonly port: number,
  ) {
    const keep = (buf: Buffer) => {
      // The last 64 KiB of its log (one line per request), for diagnostics.
      this.output = (this.output + buf.toString('utf8')).slice(-65536);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The end of the server's log. */
  get log(): string {
    return this.output;
  }

  /**
   * What went wrong on the server lately: its exception lines (`NotImplementedError: The
   * create_webhook action has not been implemented`) and the requests it answered 4xx/5xx, at most
   * the last 40.
   */
  get problems(): string {
    const lines = this.output
      .split('\n')
      .filter((line) => /^\w*(Error|Exception)\b.*:/.test(line) || /" [45]\d\d -?$/.test(line));
    return lines.slice(-40).join('\n');
  }

  /** Resident memory of the server now and at its peak, in MiB (from /proc). */
  memoryMiB(): { rss: number; peak: number } | undefined {
    try {
      const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
    } catch {
      return undefined;
    }
  }

  /**
   * Starts the patched server for `accountId` on a free loopback port and resolves once it answers
   * HTTP; rejects with its output when it exits first or does not answer within `timeoutMs`.
   */
  static async start(
    accountId: string,
    options: { readonly timeoutMs?: number; readonly maxSeconds?: number } = {},
  ): Promise<MotoServer> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const child = spawn(
        'python3',
        [
          LAUNCHER,
          '--port',
          String(port),
          '--account-id',
          accountId,
          '--max-seconds',
          String(options.maxSeconds ?? 1800),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: motoEnv() },
      );
      live.add(child);
      const server = new MotoServer(child, accountId, port);
      try {
        await server.waitUntilAnswering(timeoutMs);
        return server;
      } catch (error) {
        await server.stop();
        // Another process took the port between freePort() and the bind: try another one.
        if (attempt < 3 && /Address already in use/.test(server.log)) continue;
        throw error;
      }
    }
  }

  private async waitUntilAnswering(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited: string | undefined;
    this.child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`moto server for ${this.accountId} ${exited}:\n${this.log}`);
      if (await answers(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`moto server for ${this.accountId} did not answer within ${timeoutMs} ms:\n${this.log}`);
  }

  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) {
      live.delete(child);
      return;
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
    live.delete(child);
  }
}

/** The launcher's environment: nothing of the caller's AWS configuration. */
function motoEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  return { ...env, PYTHONUNBUFFERED: '1' };
}

/** Any HTTP answer on `/moto-api/` (moto's own dashboard route) means the server is up. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/moto-api/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}

/**
 * The provider's `endpoints` key for each resource type prefix the stacks use. A type matching none
 * fails `EmulatedStack.prepare`: without an endpoint the provider would call AWS itself.
 */
const ENDPOINTS_BY_TYPE: ReadonlyArray<readonly [RegExp, string]> = [
  [/^aws_appautoscaling_/, 'applicationautoscaling'],
  [/^aws_cloudwatch_log_/, 'logs'],
  [/^aws_cloudwatch_metric_alarm$/, 'cloudwatch'],
  [/^aws_codebuild_/, 'codebuild'],
  [/^aws_ecr_/, 'ecr'],
  [/^aws_ecs_/, 'ecs'],
  [/^aws_iam_/, 'iam'],
  [/^aws_kms_/, 'kms'],
  [/^aws_(lb|alb)(_|$)/, 'elbv2'],
  [/^aws_(security_group|vpc_security_group_|vpc$|subnet$)/, 'ec2'],
  [/^aws_ssm_/, 'ssm'],
  [/^aws_secretsmanager_/, 'secretsmanager'],
  [/^aws_acm_/, 'acm'],
  [/^aws_s3_/, 's3'],
  [/^aws_(rds_|db_)/, 'rds'],
];

/** Every endpoint a stack's resource and data types need, plus STS (the account id) and IAM. */
export function endpointsFor(stackJson: {
  resource?: Record<string, unknown>;
  data?: Record<string, unknown>;
}): string[] {
  const types = [...Object.keys(stackJson.resource ?? {}), ...Object.keys(stackJson.data ?? {})];
  const needed = new Set(['sts', 'iam']);
  for (const type of types) {
    if (!type.startsWith('aws_')) continue;
    const match = ENDPOINTS_BY_TYPE.find(([pattern]) => pattern.test(type));
    if (!match) {
      throw new Error(
        `emulator harness: no endpoint known for ${type}; add it to ENDPOINTS_BY_TYPE, otherwise the provider would call AWS`,
      );
    }
    needed.add(match[1]);
  }
  return [...needed].sort();
}

/** The override file name, beside `cdk.tf.json`. */
export const OVERRIDE_FILE = 'gantry_emulator_override.tf.json';

/**
 * The provider pointed at `server`: an endpoint per service, dummy keys, no credential or metadata
 * look-up, three retries (a call moto lacks fails in seconds, not after ten minutes of retries), and
 * the account id requested from the emulator's STS so that `allowed_account_ids` is checked; local
 * state in the working directory.
 */
export function emulatorOverride(server: MotoServer, endpoints: readonly string[]) {
  return {
    provider: {
      aws: [
        {
          access_key: EMULATOR_CREDENTIALS.accessKeyId,
          secret_key: EMULATOR_CREDENTIALS.secretAccessKey,
          skip_credentials_validation: true,
          skip_metadata_api_check: true,
          skip_requesting_account_id: false,
          max_retries: 3,
          endpoints: [Object.fromEntries(endpoints.map((name) => [name, server.endpoint]))],
        },
      ],
    },
    terraform: [{ backend: { local: { path: 'terraform.tfstate' } } }],
  };
}

/**
 * Rewrites a prepared stack's override with another backend: local state at `backend.local`, or the
 * stack's own S3 backend (as synthesized) pointed at the emulator, path-style, with the dummy keys.
 */
export function pointBackend(
  outdir: string,
  stackId: string,
  server: MotoServer,
  backend: { readonly local: string } | 's3',
): void {
  const dir = path.join(outdir, 'stacks', stackId);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as {
    terraform?: { backend?: { s3?: Record<string, unknown> } };
    resource?: Record<string, unknown>;
    data?: Record<string, unknown>;
  };
  const block =
    backend === 's3'
      ? {
          s3: {
            ...json.terraform?.backend?.s3,
            endpoints: { s3: server.endpoint, sts: server.endpoint },
            use_path_style: true,
            access_key: EMULATOR_CREDENTIALS.accessKeyId,
            secret_key: EMULATOR_CREDENTIALS.secretAccessKey,
            skip_credentials_validation: true,
            skip_requesting_account_id: true,
            skip_metadata_api_check: true,
          },
        }
      : { local: { path: backend.local } };
  const override = emulatorOverride(server, endpointsFor(json));
  fs.writeFileSync(
    path.join(dir, OVERRIDE_FILE),
    JSON.stringify({ ...override, terraform: [{ backend: block }] }, null, 2),
  );
}

export interface TerraformResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** A synthesized stack in place (`<outdir>/stacks/<id>`), its provider pointed at one emulator. */
export class EmulatedStack {
  /** Writes the override and the CLI config beside the stack's `cdk.tf.json`. */
  static prepare(outdir: string, stackId: string, server: MotoServer): EmulatedStack {
    const dir = path.join(outdir, 'stacks', stackId);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as {
      resource?: Record<string, unknown>;
      data?: Record<string, unknown>;
    };
    fs.writeFileSync(
      path.join(dir, OVERRIDE_FILE),
      JSON.stringify(emulatorOverride(server, endpointsFor(json)), null, 2),
    );
    return new EmulatedStack(stackId, dir, writeCliConfig(dir), server);
  }

  private constructor(
    public readonly id: string,
    public readonly dir: string,
    private readonly cliConfigFile: string,
    public readonly server: MotoServer,
  ) {}

  /**
   * Environment for any Terraform process on this directory (the runtime's too): the mirror's CLI
   * config, no AWS configuration of the caller's (profiles, keys, metadata service), and
   * `AWS_ENDPOINT_URL` at the emulator. Provider 5.100.0 honours that variable (and the per-service
   * `AWS_ENDPOINT_URL_<SERVICE>`: tried against moto); the override's `endpoints` are what the stack
   * uses, the variable only catches a service missing from them, which would otherwise reach AWS.
   */
  get env(): NodeJS.ProcessEnv {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
    return {
      ...env,
      TF_CLI_CONFIG_FILE: this.cliConfigFile,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_ENDPOINT_URL: this.server.endpoint,
      // Terraform and the AWS provider are Go: a lazier garbage collector costs ~30 % less CPU per
      // command (most of it the provider's start) for ~30 % more memory (~550 -> ~730 MB).
      GOGC: process.env.GOGC ?? '400',
    };
  }

  /** Runs terraform asynchronously (so that environments run in parallel). */
  run(args: readonly string[]): Promise<TerraformResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn('terraform', [...args], {
        cwd: this.dir,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code, signal) =>
        resolve({
          status: code ?? (signal ? -1 : 0),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          seconds: (Date.now() - started) / 1000,
        }),
      );
    });
  }

  /** Runs and throws with Terraform's output and the end of moto's log unless it exits with one of `ok`. */
  async mustRun(args: readonly string[], ok: readonly number[] = [0]): Promise<TerraformResult> {
    const result = await this.run(args);
    if (!ok.includes(result.status)) {
      throw new Error(
        `terraform ${args.join(' ')} exited ${result.status} for ${this.id} in ${this.dir}\n` +
          `${result.stdout.slice(-20000)}\n${result.stderr.slice(-20000)}\n` +
          `--- moto (account ${this.server.accountId}), errors and 4xx/5xx answers:\n${this.server.problems}`,
      );
    }
    return result;
  }

  init(): Promise<TerraformResult> {
    return this.mustRun(['init', '-input=false', '-no-color']);
  }

  /** `init` (when needed) and `apply -auto-approve`. */
  async apply(extraArgs: readonly string[] = []): Promise<TerraformResult> {
    if (!fs.existsSync(path.join(this.dir, '.terraform'))) await this.init();
    return this.mustRun(['apply', '-input=false', '-no-color', '-auto-approve', ...extraArgs]);
  }

  /** `plan -detailed-exitcode`: resolves with Terraform's exit code (0 no changes, 2 changes). */
  async plan(extraArgs: readonly string[] = []): Promise<TerraformResult> {
    return this.mustRun(
      ['plan', '-input=false', '-no-color', '-detailed-exitcode', '-out=emulator.tfplan', ...extraArgs],
      [0, 2],
    );
  }

  /** The last plan as Terraform's JSON. */
  async showJson(planFile = 'emulator.tfplan'): Promise<PlanJson> {
    return JSON.parse((await this.mustRun(['show', '-json', '-no-color', planFile])).stdout) as PlanJson;
  }

  /** The resources in the state (`state list`). */
  async stateList(): Promise<string[]> {
    const out = (await this.mustRun(['state', 'list'])).stdout;
    return out.split('\n').filter((line) => line.trim() !== '');
  }
}

/** One seeded environment: its server, seeds, and its two stacks, prepared. */
export interface EmulatedEnvironment {
  readonly name: string;
  readonly config: EnvironmentConfig;
  readonly server: MotoServer;
  readonly seeded: SeededEnvironment;
  readonly foundation: EmulatedStack;
  readonly services: EmulatedStack;
}

/**
 * Environments of a configuration against the emulator: one server per account, seeded, the seeded
 * configuration synthesized once into a temp dir, the stacks prepared. Always `dispose()`.
 */
export class EmulatedEnvironments {
  private constructor(
    public readonly config: GantryConfig,
    public readonly outdir: string,
    private readonly byName: ReadonlyMap<string, EmulatedEnvironment>,
    private readonly servers: readonly MotoServer[],
  ) {}

  /**
   * Starts and seeds a server per environment in `names` (in parallel), synthesizes `base` with the
   * seeded ids and prepares their stacks. On any failure the servers started so far are stopped.
   */
  static async start(base: GantryConfig, names: readonly string[]): Promise<EmulatedEnvironments> {
    const envs = names.map((name) => {
      const env = base.environments.find((e) => e.name === name);
      if (!env) throw new Error(`emulator: environment ${name} is not in the configuration`);
      return env;
    });
    const started = await Promise.allSettled(envs.map((env) => MotoServer.start(env.accountId)));
    const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-emulator-'));
    try {
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      const seeds = await Promise.all(envs.map((env, i) => seedEnvironment(servers[i], env)));
      const config = seededConfig(base, new Map(envs.map((env, i) => [env.name, seeds[i]])));
      synthApp(config, outdir);
      const byName = new Map(
        envs.map((env, i): [string, EmulatedEnvironment] => [
          env.name,
          {
            name: env.name,
            config: config.environments.find((e) => e.name === env.name) as EnvironmentConfig,
            server: servers[i],
            seeded: seeds[i],
            foundation: EmulatedStack.prepare(outdir, `${env.name}-foundation`, servers[i]),
            services: EmulatedStack.prepare(outdir, `${env.name}-services`, servers[i]),
          },
        ]),
      );
      return new EmulatedEnvironments(config, outdir, byName, servers);
    } catch (error) {
      await Promise.all(servers.map((s) => s.stop()));
      fs.rmSync(outdir, { recursive: true, force: true });
      throw error;
    }
  }

  get(name: string): EmulatedEnvironment {
    const env = this.byName.get(name);
    if (!env) throw new Error(`emulator: environment ${name} was not started`);
    return env;
  }

  get all(): EmulatedEnvironment[] {
    return [...this.byName.values()];
  }

  /** Stops every server and removes the synthesized stacks, their state and providers. */
  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    fs.rmSync(this.outdir, { recursive: true, force: true });
  }
}
