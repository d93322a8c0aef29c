/**
 * The plan-summary benchmark: a plan of 10,000+ resource changes and 30+ MiB made from the real
 * fixtures, with its stack's `cdk.tf.json` for construct paths, summarized, reviewed and redacted
 * in a child process like `gantry plan` does it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GiB, maxOf, median, MiB, runNode, tempDir } from './measure';
import { fixturesDir, generatePlan, writeStackJson, type GeneratedPlan } from './plan-fixture';
import { bytes, check, ms, type Row } from './report';

const WORKER = path.join(__dirname, 'plan-summary-worker.ts');
const RESOURCES = 10_000;
const MIN_BYTES = 30 * MiB;
const TARGET_MS = 2000;
const TARGET_BYTES = GiB;

interface WorkerReport {
  readonly readMs: number;
  readonly summarizeMs: number;
  readonly renderMs: number;
  readonly totalMs: number;
  readonly jsonMs: number;
  readonly counts: Record<string, number>;
  readonly reviews: number;
  readonly constructPaths: number;
  readonly details: number;
  readonly protectedDestroys: number;
  readonly markdownChars: number;
}

export interface PlanResult {
  readonly plan?: Omit<GeneratedPlan, 'file'>;
  readonly skipped?: string;
  readonly reps?: number;
  /** Whole process: Node start-up, loading the runtime, reading, summarizing, rendering. */
  readonly processMs?: readonly number[];
  readonly processMedianMs?: number;
  /** In the process: read + summarize (with redaction) + render. */
  readonly workMedianMs?: number;
  readonly summarizeMedianMs?: number;
  readonly maxRssBytes?: number;
  /** CPU time (user + system) of the whole process: steadier than wall time on a shared machine. */
  readonly processCpuMedianMs?: number;
  readonly jsonMedianMs?: number;
  readonly stackJsonBytes?: number;
  readonly report?: WorkerReport;
}

export async function benchPlan(reps: number): Promise<{ result: PlanResult; rows: Row[] }> {
  const fixtures = fixturesDir();
  if (!fixtures) {
    const skipped =
      'no plan fixtures (set GANTRY_PLAN_FIXTURES to a directory of `terraform show -json` files)';
    return {
      result: { skipped },
      rows: [
        {
          section: 'plan',
          name: 'summary of a 10k-resource plan',
          result: `not run: ${skipped}`,
          status: 'SKIP',
        },
      ],
    };
  }
  const dir = tempDir('plan');
  try {
    const { file, ...plan } = generatePlan(fixtures, path.join(dir, 'plan.json'), RESOURCES, MIN_BYTES);
    const stackDir = path.join(dir, 'stack');
    const stack = writeStackJson(file, stackDir);
    const samples = [];
    for (let i = 0; i < reps; i++) samples.push(await runNode(WORKER, [file, stackDir, '--json']));
    const reports = samples.map((s) => JSON.parse(s.stdout.trim().split('\n').pop() ?? '{}') as WorkerReport);
    const report = reports[0];
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    if (total !== plan.resourceChanges - (plan.actions['no-op'] ?? 0)) {
      throw new Error(
        `plan summary counted ${total} changes, the plan has ${plan.resourceChanges} (no-op ${plan.actions['no-op'] ?? 0})`,
      );
    }
    const processMs = samples.map((s) => s.wallMs);
    const result: PlanResult = {
      plan,
      reps,
      processMs,
      processMedianMs: median(processMs),
      workMedianMs: median(reports.map((r) => r.totalMs)),
      summarizeMedianMs: median(reports.map((r) => r.summarizeMs)),
      maxRssBytes: maxOf(samples.map((s) => s.maxRssBytes)),
      processCpuMedianMs: median(samples.map((s) => s.cpuMs ?? 0)),
      jsonMedianMs: median(reports.map((r) => r.jsonMs)),
      stackJsonBytes: stack.bytes,
      report,
    };
    const size = `${plan.resourceChanges} resources, ${(plan.bytes / MiB).toFixed(1)} MiB`;
    const rows: Row[] = [
      {
        section: 'plan',
        name: `summary + review + redaction + render of a ${size} plan (${report.reviews} reviews, construct paths from a ${(stack.bytes / MiB).toFixed(1)} MiB cdk.tf.json), in process, median of ${reps}`,
        result: `${ms(result.workMedianMs ?? 0)} (summarize ${ms(result.summarizeMedianMs ?? 0)}; --json form ${ms(result.jsonMedianMs ?? 0)} more)`,
      },
      {
        section: 'plan',
        name: `the same, whole process (start-up included)`,
        result: `${ms(result.processMedianMs ?? 0)} (CPU ${ms(result.processCpuMedianMs ?? 0)}), ${bytes(result.maxRssBytes)}`,
        target: '< 2 s, < 1 GiB',
        status: check(
          (result.processMedianMs ?? Infinity) < TARGET_MS && (result.maxRssBytes ?? Infinity) < TARGET_BYTES,
        ),
      },
    ];
    return { result, rows };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
