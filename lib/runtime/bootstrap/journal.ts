/**
 * The local journal of runs made before the ledger exists (`gantry bootstrap` plans and applies the
 * stack that creates the ledger's database, and moves state, before any ledger can be written): one
 * JSON line per run in `.gantry/journal.jsonl`, replayed into the ledger once each when it is
 * reachable. Replay is idempotent twice over: a replayed entry is marked in `<journal>.replayed`, and
 * an entry whose id the ledger already holds (a replay interrupted before its mark) is only marked.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FinishRunInput, Ledger, RunAction, StartRunInput } from '../ledger';

/** The default journal, relative to the project directory. */
export const DEFAULT_JOURNAL_FILE = path.join('.gantry', 'journal.jsonl');

/** One run, as the ledger would have recorded it. */
export interface JournalEntry {
  readonly id: string;
  readonly start: StartRunInput & { readonly action: RunAction };
  readonly finish: FinishRunInput;
  /** When it ran, by this machine's clock (the ledger's own times are those of the replay). */
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface ReplayResult {
  /** Entries written to the ledger now, as `journal id -> run id`. */
  readonly replayed: ReadonlyArray<{ readonly entry: string; readonly runId: string }>;
  /** Entries the ledger held already (marked now). */
  readonly alreadyThere: readonly string[];
}

/** The note a replayed row carries: how to find it again, and when it really ran. */
export function journalNote(entry: JournalEntry): string {
  const note = `journal:${entry.id}; ran ${entry.startedAt} .. ${entry.finishedAt}, before the ledger existed`;
  return entry.finish.note ? `${note}; ${entry.finish.note}` : note;
}

export class Journal {
  constructor(public readonly file: string) {}

  private get marksFile(): string {
    return `${this.file}.replayed`;
  }

  /** Appends one run; returns the entry. */
  record(
    start: JournalEntry['start'],
    finish: FinishRunInput,
    startedAt: Date,
    finishedAt: Date = new Date(),
  ): JournalEntry {
    const entry: JournalEntry = {
      id: randomUUID(),
      start,
      finish,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    return entry;
  }

  /** Every entry, oldest first (lines that do not parse are reported, not dropped silently). */
  entries(): JournalEntry[] {
    if (!fs.existsSync(this.file)) return [];
    return fs
      .readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as JournalEntry;
        } catch {
          throw new Error(`${this.file}:${i + 1}: not a journal entry (JSON); fix or remove the line`);
        }
      });
  }

  /** Ids already replayed. */
  replayedIds(): Set<string> {
    if (!fs.existsSync(this.marksFile)) return new Set();
    return new Set(
      fs
        .readFileSync(this.marksFile, 'utf8')
        .split('\n')
        .map((line) => line.split(' ')[0])
        .filter(Boolean),
    );
  }

  /** Entries not replayed yet, oldest first. */
  pending(): JournalEntry[] {
    const done = this.replayedIds();
    return this.entries().filter((e) => !done.has(e.id));
  }

  private mark(entry: string, runId: string): void {
    fs.appendFileSync(this.marksFile, `${entry} ${runId}\n`, { mode: 0o600 });
  }

  /** Writes every pending entry into `ledger`, once each, oldest first. */
  async replay(ledger: Ledger): Promise<ReplayResult> {
    const replayed: Array<{ entry: string; runId: string }> = [];
    const alreadyThere: string[] = [];
    for (const entry of this.pending()) {
      const marker = `journal:${entry.id};`;
      const existing = (await ledger.listRuns({ stack: entry.start.stack, limit: 1000 })).find(
        (r) => r.note?.startsWith(marker) || r.errorSummary?.startsWith(marker),
      );
      if (existing) {
        this.mark(entry.id, existing.id);
        alreadyThere.push(entry.id);
        continue;
      }
      const note = journalNote(entry);
      let runId: string;
      if (entry.finish.status === 'refused') {
        const row = await ledger.recordRefusal({
          ...entry.start,
          // The journal id first: a long reason is truncated at its end.
          reason: `${note}: ${entry.finish.errorSummary ?? 'refused'}`,
        });
        runId = row.id;
      } else {
        const row = await ledger.startRun(entry.start);
        runId = (await ledger.finishRun(row.id, { ...entry.finish, note })).id;
      }
      this.mark(entry.id, runId);
      replayed.push({ entry: entry.id, runId });
    }
    return { replayed, alreadyThere };
  }
}
