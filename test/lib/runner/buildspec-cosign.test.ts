/**
 * Cosign in the deploy project's build: the pinned binary (`COSIGN_BINARY`, taken from the pinned
 * cosign-installer), where the buildspec installs it and logs it in (only where a deploy verifies keyless
 * signatures or can promote), and the install and login commands run for real in bash: the install
 * against a local HTTP server on 127.0.0.1 serving a stand-in binary (its URL and digest given through
 * `cosignInstallCommand`'s test seam), the login with stand-in `aws` and `cosign` that record what they get.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { GantryConfigError } from '../../../lib/core/errors';
import { DeployProject, type DeployProjectProps } from '../../../lib/runner';
import {
  HANDOFF_CHECK,
  SOURCE_CHECK,
  cosignInstallCommand,
  cosignLoginCommand,
  deployBuildspec,
  type CosignBinary,
  type DeployCosignInputs,
} from '../../../lib/runner/private/buildspec';
import { ACTION_PINS, COSIGN_BINARY } from '../../../lib/workflows/pins';

const deployProps: DeployProjectProps = {
  accountId: '222222222222',
  region: 'eu-west-1',
  repository: 'acme/platform',
  connectionArn:
    'arn:aws:codeconnections:eu-west-1:222222222222:connection/0b2d0000-0000-4000-8000-000000000002',
  vpcId: 'vpc-0b2d0000000000002',
  subnetIds: ['subnet-0b2d0000000000a02', 'subnet-0b2d0000000000b02'],
  kmsKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/0b2d0000-0000-4000-8000-00000000000k',
  projectName: 'acme-staging-deploy',
  environmentName: 'staging',
  stacks: ['staging-services'],
  ledgerUrlSecretArn: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:acme/staging/gantry-ledger-url',
  imageTagsParameterName: '/acme/staging/gantry/image-tags',
};

const OWN = '222222222222.dkr.ecr.eu-west-1.amazonaws.com';
const DEV = '111111111111.dkr.ecr.eu-west-1.amazonaws.com';

type BuildSpec = { phases: { install: { commands: string[] }; build: { commands: string[] } } };

function buildspecOf(props: Partial<DeployProjectProps>): { text: string; spec: BuildSpec } {
  let project: DeployProject | undefined;
  Testing.synthScope((scope) => {
    project = new DeployProject(scope, 'deploy', { ...deployProps, ...props });
  });
  return { text: project!.buildspec, spec: parse(project!.buildspec) as BuildSpec };
}

const loginsOf = (text: string) =>
  [...text.matchAll(/cosign login --username AWS --password-stdin ([^ ]+) \)/g)].map((m) => m[1]);

describe('COSIGN_BINARY (the cosign the deploy build installs)', () => {
  test('each checksum is 64 lowercase hex characters', () => {
    expect(Object.keys(COSIGN_BINARY.sha256).sort()).toEqual(['amd64', 'arm64']);
    for (const sha of Object.values(COSIGN_BINARY.sha256)) expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(COSIGN_BINARY.sha256.amd64).not.toBe(COSIGN_BINARY.sha256.arm64);
  });

  test('was taken from the cosign-installer commit the workflows pin (bump both together)', () => {
    expect(COSIGN_BINARY.installerSha).toBe(ACTION_PINS.cosignInstaller.sha);
    expect(COSIGN_BINARY.version).toMatch(/^v2\.\d+\.\d+$/);
    expect(COSIGN_BINARY.downloadBase).toBe('https://github.com/sigstore/cosign/releases/download');
  });

  test('the buildspec installs exactly that release, checked against both checksums', () => {
    const install = buildspecOf({ releaseImages: { verifiesSignatures: true } }).spec.phases.install.commands;
    const step = install.find((c) => c.includes('cosign_sha256'));
    expect(step).toBe(cosignInstallCommand());
    expect(step).toContain(`x86_64) cosign_arch=amd64; cosign_sha256=${COSIGN_BINARY.sha256.amd64} ;;`);
    expect(step).toContain(`aarch64) cosign_arch=arm64; cosign_sha256=${COSIGN_BINARY.sha256.arm64} ;;`);
    expect(step).toContain(
      'cosign_url="https://github.com/sigstore/cosign/releases/download/v2.5.3/cosign-linux-$cosign_arch"',
    );
    expect(step).toMatch(/curl -fsSL --proto-redir =https --retry 3 .*--connect-timeout \d+ --max-time \d+ /);
  });
});

describe('DeployProject cosign steps', () => {
  test('none where no deploy needs cosign: no keyless check, no upstream environment', () => {
    for (const releaseImages of [undefined, {}, { verifiesSignatures: false, upstreamRegistries: [] }]) {
      const { text, spec } = buildspecOf({ releaseImages });
      expect(text).not.toContain('cosign');
      expect(spec.phases.install.commands).toEqual([SOURCE_CHECK, HANDOFF_CHECK, 'npm ci --ignore-scripts']);
    }
  });

  test('a keyless check: install after the source checks, before npm ci; login to its own registry just before gantry deploy', () => {
    const { text, spec } = buildspecOf({ releaseImages: { verifiesSignatures: true } });
    expect(spec.phases.install.commands).toEqual([
      SOURCE_CHECK,
      HANDOFF_CHECK,
      cosignInstallCommand(),
      'npm ci --ignore-scripts',
    ]);
    const build = spec.phases.build.commands;
    const login = build.findIndex((c) => c.includes('cosign login'));
    const deploy = build.findIndex((c) => c.includes('gantry deploy staging'));
    expect(login).toBeGreaterThan(build.indexOf('npm run synth'));
    expect(deploy).toBe(login + 1);
    expect(build[login]).toBe(
      cosignLoginCommand({ source: 'install', registries: [{ host: OWN, region: 'eu-west-1' }] }),
    );
    expect(loginsOf(text)).toEqual([OWN]);
    expect(text).not.toContain('${');
  });

  test('a promotion: its own registry, then each upstream one, once each, hosts from the configuration', () => {
    const { text, spec } = buildspecOf({
      releaseImages: {
        upstreamRegistries: [
          { accountId: '111111111111', region: 'eu-west-1' },
          { accountId: '111111111111', region: 'eu-west-1' },
          { accountId: '444444444444', region: 'cn-north-1' },
          { accountId: '222222222222', region: 'eu-west-1' },
        ],
      },
    });
    expect(loginsOf(text)).toEqual([OWN, DEV, '444444444444.dkr.ecr.cn-north-1.amazonaws.com.cn']);
    expect(text).toContain('aws ecr get-login-password --region cn-north-1 | cosign login');
    expect(spec.phases.install.commands).toContain(cosignInstallCommand());
  });

  test('deployServicesStack false: gantry deploy does not run, so no cosign', () => {
    const { text } = buildspecOf({ deployServicesStack: false, releaseImages: { verifiesSignatures: true } });
    expect(text).not.toContain('cosign');
  });

  test("cosign 'image': nothing is downloaded, the image's cosign must be on PATH, the login is the same", () => {
    const { text, spec } = buildspecOf({ cosign: 'image', releaseImages: { verifiesSignatures: true } });
    expect(spec.phases.install.commands).toEqual([SOURCE_CHECK, HANDOFF_CHECK, 'npm ci --ignore-scripts']);
    expect(text).not.toContain('curl');
    expect(text).toContain('command -v cosign > /dev/null ||');
    expect(text).not.toContain('GANTRY_COSIGN_DIR');
    expect(loginsOf(text)).toEqual([OWN]);
  });

  test('fails for another cosign value, naming the field, the value and the allowed ones', () => {
    expect(() =>
      buildspecOf({ cosign: 'download' as never, releaseImages: { verifiesSignatures: true } }),
    ).toThrow(
      new GantryConfigError(
        `stack/deploy.cosign: "download" is not one of "install", "image" ('install': the build downloads the pinned cosign and checks its SHA-256; 'image': the build image's own cosign)`,
      ),
    );
  });

  test.each([
    [
      { accountId: '1111', region: 'eu-west-1' },
      'stack/deploy.releaseImages.upstreamRegistries[0].accountId: "1111"',
    ],
    [
      { accountId: '111111111111', region: 'eu-west-1; id' },
      'stack/deploy.releaseImages.upstreamRegistries[0].region: "eu-west-1; id"',
    ],
  ])('fails for an upstream registry %j (its parts are words of the login command)', (registry, message) => {
    expect(() => buildspecOf({ releaseImages: { upstreamRegistries: [registry] } })).toThrow(message);
  });
});

// ---- Run for real in bash ----

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cosign-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let server: http.Server;
let baseUrl = '';
const served = new Map<string, Buffer>();
const requests: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs `script` in bash (asynchronously: the server answers from this process). */
function bash(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/bash', ['-c', script], { env: { HOME: root, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A fresh directory of the test: `mktemp -d` makes the install directory under it (TMPDIR). */
function freshDir(name: string): string {
  return fs.mkdtempSync(path.join(root, `${name}-`));
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
    fs.statSync(path.join(dir, f)).isFile(),
  );
}

describe('the install step, run against a local server', () => {
  const fake = Buffer.from('#!/bin/sh\necho "stand-in cosign $*"\n');
  const version = 'v2.5.3';
  beforeAll(() => {
    served.set(`/${version}/cosign-linux-amd64`, fake);
    served.set(`/${version}/cosign-linux-arm64`, fake);
  });
  const binary = (sha: string): CosignBinary => ({
    version,
    downloadBase: baseUrl,
    sha256: { amd64: sha, arm64: sha },
  });

  test('a matching checksum installs the binary, executable, in a directory of the build', async () => {
    const tmp = freshDir('match');
    const result = await bash(
      `${cosignInstallCommand(binary(sha256(fake)))}\necho "dir=$GANTRY_COSIGN_DIR"\n"$GANTRY_COSIGN_DIR/cosign" version`,
      { PATH: process.env.PATH ?? '', TMPDIR: tmp },
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const dir = /^dir=(.+)$/m.exec(result.stdout)![1];
    expect(path.dirname(dir)).toBe(tmp);
    expect(filesUnder(dir)).toEqual(['cosign']);
    expect(fs.readFileSync(path.join(dir, 'cosign'))).toEqual(fake);
    expect(fs.statSync(path.join(dir, 'cosign')).mode & 0o777).toBe(0o755);
    expect(result.stdout).toContain('stand-in cosign version');
    expect(result.stdout).toContain(`gantry: installed cosign ${version} linux-`);
  });

  test('another checksum fails the build and leaves nothing to run', async () => {
    const tmp = freshDir('mismatch');
    const pinned = sha256('the real cosign');
    const result = await bash(`${cosignInstallCommand(binary(pinned))}\necho "not reached"`, {
      PATH: process.env.PATH ?? '',
      TMPDIR: tmp,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('not reached');
    expect(result.stderr).toContain(`has SHA-256 '${sha256(fake)}', the pinned cosign ${version}`);
    expect(result.stderr).toContain(`${pinned}; refusing to install it`);
    const [dir] = fs.readdirSync(tmp);
    expect(filesUnder(path.join(tmp, dir))).toEqual([]);
  });

  test('a failed download fails the build (no retry on a 404)', async () => {
    const tmp = freshDir('missing');
    const result = await bash(cosignInstallCommand({ ...binary(sha256(fake)), version: 'v0.0.0' }), {
      PATH: process.env.PATH ?? '',
      TMPDIR: tmp,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`gantry: could not download cosign from ${baseUrl}/v0.0.0/cosign-linux-`);
    const [dir] = fs.readdirSync(tmp);
    expect(filesUnder(path.join(tmp, dir))).toEqual([]);
  });

  test('an architecture without a pinned binary fails before any download', async () => {
    const tmp = freshDir('arch');
    const shims = freshDir('uname');
    fs.writeFileSync(path.join(shims, 'uname'), '#!/bin/sh\necho riscv64\n', { mode: 0o755 });
    const before = requests.length;
    const result = await bash(cosignInstallCommand(binary(sha256(fake))), {
      PATH: `${shims}:${process.env.PATH ?? ''}`,
      TMPDIR: tmp,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `gantry: no pinned cosign ${version} for architecture riscv64 (pinned: x86_64, aarch64)`,
    );
    expect(requests.length).toBe(before);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('the login and the deploy, run with stand-in aws, cosign and gantry', () => {
  const TOKEN = 'ecr-token-that-must-not-leak';

  /** Stand-ins writing to `log`: aws prints the token (or fails), cosign records argv and stdin. */
  function standIns(awsFails = false) {
    const dir = freshDir('bin');
    const log = path.join(dir, 'log');
    const write = (name: string, body: string) =>
      fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
    write(
      'aws',
      awsFails
        ? `echo "aws $*" >> "${log}"; echo "Unable to locate credentials" >&2; exit 255`
        : `echo "aws $*" >> "${log}"; printf '%s' '${TOKEN}'`,
    );
    const cosign = (who: string) => `echo "${who} $* stdin=$(cat)" >> "${log}"; echo "Login Succeeded"`;
    write('cosign', cosign('image-cosign'));
    const installed = freshDir('installed');
    fs.writeFileSync(path.join(installed, 'cosign'), `#!/usr/bin/env bash\n${cosign('installed-cosign')}\n`, {
      mode: 0o755,
    });
    const runtime = path.join(dir, 'fake-gantry');
    fs.writeFileSync(
      runtime,
      `#!/usr/bin/env bash\necho "gantry $* cosign=$(command -v cosign)" >> "${log}"\n`,
      {
        mode: 0o755,
      },
    );
    return { dir, log, installed, runtime, read: () => fs.readFileSync(log, 'utf8').trim().split('\n') };
  }

  const cosignInputs = (source: 'install' | 'image'): DeployCosignInputs => ({
    source,
    registries: [
      { host: OWN, region: 'eu-west-1' },
      { host: '111111111111.dkr.ecr.us-east-1.amazonaws.com', region: 'us-east-1' },
    ],
  });

  /** The build phase of a deploy with these cosign inputs, as CodeBuild runs it (one bash, stop at the first failure). */
  function buildPhase(runtime: string, cosign: DeployCosignInputs): string {
    const spec = parse(
      deployBuildspec({
        environmentName: 'staging',
        stacks: ['staging-services'],
        deployServices: true,
        ledgerUrlSecretArn: deployProps.ledgerUrlSecretArn,
        nodejsVersion: '20',
        synthCommand: 'true',
        runtimeCommand: runtime,
        defaultBranch: 'main',
        cosign,
      }),
    ) as BuildSpec;
    return ['set -e', ...spec.phases.build.commands].join('\n');
  }

  test('install: the installed cosign, first on PATH, logs in to each registry with the token on stdin, then gantry deploys', async () => {
    const s = standIns();
    const result = await bash(buildPhase(s.runtime, cosignInputs('install')), {
      PATH: `${s.dir}:${process.env.PATH ?? ''}`,
      GANTRY_COSIGN_DIR: s.installed,
    });
    expect(result.code).toBe(0);
    expect(s.read()).toEqual([
      'aws ecr get-login-password --region eu-west-1',
      `installed-cosign login --username AWS --password-stdin ${OWN} stdin=${TOKEN}`,
      'aws ecr get-login-password --region us-east-1',
      `installed-cosign login --username AWS --password-stdin 111111111111.dkr.ecr.us-east-1.amazonaws.com stdin=${TOKEN}`,
      `gantry deploy staging --no-synth --json cosign=${s.installed}/cosign`,
    ]);
    // The token goes through the pipe only: never in an argument, never in the build's log.
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  test('install: without the installed cosign the build stops before any login or deploy', async () => {
    const s = standIns();
    for (const dir of ['', freshDir('empty')]) {
      const result = await bash(buildPhase(s.runtime, cosignInputs('install')), {
        PATH: `${s.dir}:${process.env.PATH ?? ''}`,
        GANTRY_COSIGN_DIR: dir,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('gantry: the cosign of the install phase is not in');
      expect(fs.existsSync(s.log)).toBe(false);
    }
  });

  test("image: the image's cosign logs in; without one on PATH the build stops", async () => {
    const s = standIns();
    const ok = await bash(buildPhase(s.runtime, cosignInputs('image')), {
      PATH: `${s.dir}:${process.env.PATH ?? ''}`,
    });
    expect(ok.code).toBe(0);
    expect(s.read()[1]).toBe(`image-cosign login --username AWS --password-stdin ${OWN} stdin=${TOKEN}`);
    expect(s.read().at(-1)).toBe(`gantry deploy staging --no-synth --json cosign=${s.dir}/cosign`);

    fs.rmSync(path.join(s.dir, 'cosign'));
    fs.rmSync(s.log);
    // A PATH without cosign (the system's PATH may have one): the stand-ins only.
    const missing = await bash(buildPhase(s.runtime, cosignInputs('image')), { PATH: s.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      "gantry: runners.deploy.cosign is 'image', and the build image has no cosign on PATH",
    );
    expect(fs.existsSync(s.log)).toBe(false);
  });

  test('a failed token fetch fails the build (pipefail), though cosign itself exits 0, and gantry never runs', async () => {
    const s = standIns(true);
    const result = await bash(buildPhase(s.runtime, cosignInputs('install')), {
      PATH: `${s.dir}:${process.env.PATH ?? ''}`,
      GANTRY_COSIGN_DIR: s.installed,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `gantry: cosign could not log in to ${OWN} (aws ecr get-login-password --region eu-west-1, the role's ecr:GetAuthorizationToken); refusing to deploy`,
    );
    expect(s.read()).toEqual([
      'aws ecr get-login-password --region eu-west-1',
      `installed-cosign login --username AWS --password-stdin ${OWN} stdin=`,
    ]);
  });
});
