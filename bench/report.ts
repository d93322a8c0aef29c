/** The benchmark's table (printed and written to BENCHMARKS.md by hand) and `bench/results.json`. */
import * as os from 'node:os';
import { GiB, MiB } from './measure';

export type Status = 'PASS' | 'FAIL' | 'SKIP' | '';

export interface Row {
  readonly section: string;
  readonly name: string;
  readonly result: string;
  readonly target?: string;
  readonly status?: Status;
}

export function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function bytes(value: number | undefined): string {
  if (value === undefined) return 'n/a';
  return value >= GiB ? `${(value / GiB).toFixed(2)} GiB` : `${Math.round(value / MiB)} MiB`;
}

export function check(ok: boolean): Status {
  return ok ? 'PASS' : 'FAIL';
}

/** A Markdown table (also readable as plain text in a terminal). */
export function table(rows: readonly Row[]): string {
  const header = ['Benchmark', 'Result', 'Target', 'Status'];
  const cells = rows.map((r) => [`${r.section}: ${r.name}`, r.result, r.target ?? '', r.status ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: readonly string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
  readonly loadAverage: readonly number[];
}

/** What the numbers were measured on. */
export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}
