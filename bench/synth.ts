/**
 * Synth benchmarks, every one a whole process (start-up is what a user waits for):
 * - the reference app vs. a one-resource cdktf app run the same way (the floor);
 * - `npx cdktf synth` vs. `npm run synth`;
 * - synthetic configurations of growing size: wall time, peak RSS, resources emitted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countResources, GiB, maxOf, median, ROOT, run, runNode, tempDir } from './measure';
import { bytes, check, ms, type Row } from './report';
import { scaleConfig, writeConfigModule } from './scale-config';

const MAIN = path.join(ROOT, 'bin', 'main.ts');
const FLOOR = path.join(__dirname, 'one-resource-app.ts');
const PLAIN = path.join(__dirname, 'plain-app.ts');

export interface SynthResult {
  readonly reps: number;
  readonly referenceMs: readonly number[];
  readonly floorMs: readonly number[];
  readonly referenceMedianMs: number;
  readonly floorMedianMs: number;
  readonly ratio: number;
  readonly referenceCpuMedianMs: number;
  readonly floorCpuMedianMs: number;
  /** The same ratio on CPU time (user + system), which background load disturbs less. */
  readonly cpuRatio: number;
  readonly referenceMaxRssBytes?: number;
  readonly floorMaxRssBytes?: number;
  readonly referenceResources: number;
  /** A plain cdktf app with as many resources and stacks as the reference app, no Gantry code. */
  readonly plainMs: readonly number[];
  readonly plainMedianMs: number;
  readonly plainCpuMedianMs: number;
  readonly plainMaxRssBytes?: number;
}

/** Reference app vs. floor, interleaved so that background load hits both alike. */
export async function benchSynth(reps: number): Promise<{ result: SynthResult; rows: Row[] }> {
  const dir = tempDir('synth');
  try {
    const outRef = path.join(dir, 'reference');
    const outFloor = path.join(dir, 'floor');
    // One untimed run of each: warms the OS file cache (and the transpile cache, as a user's
    // second synth would find it).
    await runNode(MAIN, [], { env: { CDKTF_OUTDIR: outRef } });
    await runNode(FLOOR, [], { env: { CDKTF_OUTDIR: outFloor } });
    const size = countResources(outRef);
    const plainEnv = {
      CDKTF_OUTDIR: path.join(dir, 'plain'),
      GANTRY_BENCH_RESOURCES: String(size.resources),
      GANTRY_BENCH_STACKS: String(size.stacks),
    };
    await runNode(PLAIN, [], { env: plainEnv });
    const ref = [];
    const floor = [];
    const plain = [];
    for (let i = 0; i < reps; i++) {
      ref.push(await runNode(MAIN, [], { env: { CDKTF_OUTDIR: outRef } }));
      floor.push(await runNode(FLOOR, [], { env: { CDKTF_OUTDIR: outFloor } }));
      plain.push(await runNode(PLAIN, [], { env: plainEnv }));
    }
    const referenceMs = ref.map((s) => s.wallMs);
    const floorMs = floor.map((s) => s.wallMs);
    const result: SynthResult = {
      reps,
      referenceMs,
      floorMs,
      referenceMedianMs: median(referenceMs),
      floorMedianMs: median(floorMs),
      ratio: median(referenceMs) / median(floorMs),
      referenceCpuMedianMs: median(ref.map((s) => s.cpuMs ?? NaN)),
      floorCpuMedianMs: median(floor.map((s) => s.cpuMs ?? NaN)),
      cpuRatio: median(ref.map((s) => s.cpuMs ?? NaN)) / median(floor.map((s) => s.cpuMs ?? NaN)),
      referenceMaxRssBytes: maxOf(ref.map((s) => s.maxRssBytes)),
      floorMaxRssBytes: maxOf(floor.map((s) => s.maxRssBytes)),
      referenceResources: size.resources,
      plainMs: plain.map((s) => s.wallMs),
      plainMedianMs: median(plain.map((s) => s.wallMs)),
      plainCpuMedianMs: median(plain.map((s) => s.cpuMs ?? NaN)),
      plainMaxRssBytes: maxOf(plain.map((s) => s.maxRssBytes)),
    };
    const rows: Row[] = [
      {
        section: 'synth',
        name: `one-resource cdktf app (floor), median of ${reps}`,
        result: `${ms(result.floorMedianMs)} (CPU ${ms(result.floorCpuMedianMs)}), ${bytes(result.floorMaxRssBytes)}`,
      },
      {
        section: 'synth',
        name: `reference app (${result.referenceResources} resources), median of ${reps}`,
        result: `${ms(result.referenceMedianMs)} (CPU ${ms(result.referenceCpuMedianMs)}), ${bytes(result.referenceMaxRssBytes)}`,
      },
      {
        section: 'synth',
        name: `plain cdktf app, ${result.referenceResources} S3 buckets (no Gantry code), median of ${reps}`,
        result: `${ms(result.plainMedianMs)} (CPU ${ms(result.plainCpuMedianMs)}), ${bytes(result.plainMaxRssBytes)}, ${(result.plainMedianMs / result.floorMedianMs).toFixed(2)}x floor`,
      },
      {
        section: 'synth',
        name: 'reference / floor',
        result: `${result.ratio.toFixed(2)}x (CPU time: ${result.cpuRatio.toFixed(2)}x)`,
        target: '<= 2x',
        status: check(result.ratio <= 2),
      },
    ];
    return { result, rows };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  readonly reps: number;
  readonly npmRunSynthMs: readonly number[];
  readonly npxCdktfSynthMs: readonly number[];
  readonly npmRunSynthMedianMs: number;
  readonly npxCdktfSynthMedianMs: number;
}

/** `npm run synth` vs. `npx cdktf synth`, each as a user types it. */
export async function benchCli(reps: number): Promise<{ result: CliResult; rows: Row[] }> {
  const dir = tempDir('cli');
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
    const outNpm = path.join(dir, 'npm');
    const outNpx = path.join(dir, 'npx');
    const npmRun = () => run(npm, ['run', '--silent', 'synth'], { env: { CDKTF_OUTDIR: outNpm } });
    const npxRun = () => run(npx, ['--no-install', 'cdktf', 'synth', '--output', outNpx]);
    await npmRun();
    await npxRun();
    const npmMs: number[] = [];
    const npxMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      npmMs.push((await npmRun()).wallMs);
      npxMs.push((await npxRun()).wallMs);
    }
    const result: CliResult = {
      reps,
      npmRunSynthMs: npmMs,
      npxCdktfSynthMs: npxMs,
      npmRunSynthMedianMs: median(npmMs),
      npxCdktfSynthMedianMs: median(npxMs),
    };
    const rows: Row[] = [
      { section: 'cli', name: `npm run synth, median of ${reps}`, result: ms(result.npmRunSynthMedianMs) },
      {
        section: 'cli',
        name: `npx cdktf synth, median of ${reps}`,
        result: `${ms(result.npxCdktfSynthMedianMs)} (${(result.npxCdktfSynthMedianMs / result.npmRunSynthMedianMs).toFixed(1)}x npm run synth)`,
      },
    ];
    return { result, rows };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface ScaleResult {
  readonly environments: number;
  readonly services: number;
  readonly reps: number;
  readonly wallMs: readonly number[];
  readonly medianMs: number;
  readonly cpuMedianMs: number;
  readonly maxRssBytes?: number;
  readonly stacks: number;
  readonly resources: number;
  readonly dataSources: number;
  readonly msPerResource: number;
}

export const SCALES: ReadonlyArray<readonly [number, number]> = [
  [1, 5],
  [3, 20],
  [10, 50],
];

const SCALE_TARGET_MS = 15_000;
const SCALE_TARGET_BYTES = 1.5 * GiB;

/** Each synthetic configuration synthesized in its own process via `GANTRY_CONFIG`. */
export async function benchScale(reps: number): Promise<{ result: ScaleResult[]; rows: Row[] }> {
  const dir = tempDir('scale');
  const result: ScaleResult[] = [];
  const rows: Row[] = [];
  try {
    for (const [n, s] of SCALES) {
      const label = `${n}x${s}`;
      const module = writeConfigModule(dir, `config-${label}`, scaleConfig(n, s));
      const outdir = path.join(dir, `out-${label}`);
      const samples = [];
      for (let i = 0; i < reps; i++) {
        samples.push(await runNode(MAIN, [], { env: { GANTRY_CONFIG: module, CDKTF_OUTDIR: outdir } }));
      }
      const counts = countResources(outdir);
      const wallMs = samples.map((x) => x.wallMs);
      const r: ScaleResult = {
        environments: n,
        services: s,
        reps,
        wallMs,
        medianMs: median(wallMs),
        cpuMedianMs: median(samples.map((x) => x.cpuMs ?? NaN)),
        maxRssBytes: maxOf(samples.map((x) => x.maxRssBytes)),
        ...counts,
        msPerResource: median(wallMs) / Math.max(1, counts.resources),
      };
      result.push(r);
      const largest = n === 10 && s === 50;
      rows.push({
        section: 'scale',
        name: `${label} (envs x services): ${r.stacks} stacks, ${r.resources} resources, median of ${reps}`,
        result: `${ms(r.medianMs)} (CPU ${ms(r.cpuMedianMs)}), ${bytes(r.maxRssBytes)}, ${r.msPerResource.toFixed(2)} ms/resource`,
        ...(largest
          ? {
              target: '< 15 s, < 1.5 GiB',
              status: check(r.medianMs < SCALE_TARGET_MS && (r.maxRssBytes ?? Infinity) < SCALE_TARGET_BYTES),
            }
          : {}),
      });
      fs.rmSync(outdir, { recursive: true, force: true });
    }
    return { result, rows };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
