/**
 * `npm run bench`: Gantry's speed, measured. Prints one table and writes `bench/results.json`.
 *
 *   npm run bench                              # everything, default repetitions
 *   npm run bench -- --only synth,scale        # some sections (synth, cli, scale, plan, ledger)
 *   npm run bench -- --quick                   # few repetitions, for working on the benchmark
 *
 * Every synth is a whole child process (start-up included); medians are reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { machine, table, type Row } from './report';
import { benchLedger } from './ledger';
import { benchPlan } from './plan';
import { benchCli, benchScale, benchSynth } from './synth';

const SECTIONS = ['synth', 'cli', 'scale', 'plan', 'ledger'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  readonly only: ReadonlySet<Section>;
  readonly quick: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let only: Set<Section> = new Set(SECTIONS);
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      const names = (value ?? '').split(',').filter(Boolean);
      for (const name of names) {
        if (!(SECTIONS as readonly string[]).includes(name))
          throw new Error(
            `--only: ${JSON.stringify(name)} is not a section, allowed: ${SECTIONS.join(', ')}`,
          );
      }
      only = new Set(names as Section[]);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)} (allowed: --only <sections>, --quick)`);
    }
  }
  return { only, quick };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const reps = options.quick
    ? { synth: 3, cli: 1, scale: 1, plan: 1, ledgerRuns: 200, raceRounds: 5 }
    : { synth: 9, cli: 3, scale: 3, plan: 3, ledgerRuns: 1000, raceRounds: 20 };
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const startedAt = new Date().toISOString();
  const before = machine();
  const step = async <T>(section: Section, run: () => Promise<{ result: T; rows: Row[] }>) => {
    if (!options.only.has(section)) return;
    process.stderr.write(`bench: ${section}...\n`);
    const t0 = Date.now();
    const out = await run();
    results[section] = out.result;
    rows.push(...out.rows);
    process.stderr.write(`bench: ${section} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  };

  await step('synth', () => benchSynth(reps.synth));
  await step('cli', () => benchCli(reps.cli));
  await step('scale', () => benchScale(reps.scale));
  await step('plan', () => benchPlan(reps.plan));
  await step('ledger', () => benchLedger(reps.ledgerRuns, reps.raceRounds));

  const report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...before, loadAverageAtEnd: machine().loadAverage },
    options: { sections: [...options.only], quick: options.quick, reps },
    rows,
    results,
  };
  const file = path.join(__dirname, 'results.json');
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  const m = report.machine;
  process.stdout.write(
    `\n${table(rows)}\n\n${m.cpus} x ${String(m.cpuModel)}, ${(Number(m.memoryBytes) / 2 ** 30).toFixed(1)} GiB, ` +
      `Node ${String(m.node)}, load ${JSON.stringify(m.loadAverage)} -> ${JSON.stringify(m.loadAverageAtEnd)}\n` +
      `written: ${path.relative(process.cwd(), file)}\n`,
  );
  if (rows.some((r) => r.status === 'FAIL')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
