/**
 * The one error type Gantry throws for a user mistake. Its message names the path of the bad field,
 * the bad value and what is allowed; several problems found together are reported together, one per
 * line, so a user fixes them in one pass. Entry points print `error.message` without a stack trace.
 */
export class GantryConfigError extends Error {
  /** Each problem as one line: `<path>: <what is wrong>, <what is allowed>`. */
  public readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'));
    this.name = 'GantryConfigError';
    this.problems = list;
  }
}

/**
 * One problem of a set of settings: the field (a path relative to the settings, `''` for the whole) and
 * what is wrong with it and what is allowed. Constructs report these for their props; the configuration's
 * validation reports the same problems under its own path (`<env>.services[0].cpu`).
 */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Collects problems while validating, then throws them all at once. Keeps validators flat:
 * `issues.check(cond, path, message)` reads as the rule it states.
 */
export class ProblemList {
  private readonly list: string[] = [];

  /** Records `path: message` unless `ok` holds. Returns `ok`, so callers can stop descending. */
  check(ok: boolean, path: string, message: string): boolean {
    if (!ok) this.list.push(`${path}: ${message}`);
    return ok;
  }

  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }

  /** Records `path: problem` when there is a problem (the result of an `xxxProblem(value)` check). */
  addIf(path: string, problem: string | undefined): void {
    if (problem !== undefined) this.list.push(`${path}: ${problem}`);
  }

  /** Records each `{ field, message }` under `prefix` (a construct's problems, re-pathed for the config). */
  addAll(prefix: string, problems: readonly FieldProblem[]): void {
    for (const p of problems) this.list.push(`${prefix}${p.field ? `.${p.field}` : ''}: ${p.message}`);
  }

  /** The problems recorded so far, each `path: message`. */
  get all(): readonly string[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
  }

  /** Throws one GantryConfigError listing every problem found, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new GantryConfigError(this.list);
  }
}

/**
 * Collects `{ field, message }` problems of one set of props or settings (what a construct's pure
 * `xxxProblems(props)` returns). `check` reads as the rule it states and returns `ok`.
 */
export class FieldProblems {
  readonly list: FieldProblem[] = [];

  check(ok: boolean, field: string, message: string): boolean {
    if (!ok) this.list.push({ field, message });
    return ok;
  }

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  addIf(field: string, problem: string | undefined): void {
    if (problem !== undefined) this.list.push({ field, message: problem });
  }

  /** Adds problems of a part of these settings, under `prefix` (`routing`, `alarms`, ...). */
  addAll(prefix: string, problems: readonly FieldProblem[]): void {
    for (const p of problems) {
      const field = prefix && p.field ? `${prefix}.${p.field}` : prefix || p.field;
      this.list.push({ field, message: p.message });
    }
  }
}

/** Throws one GantryConfigError listing `problems` under `path` (a construct's path), if there is any. */
export function throwProblems(path: string, problems: readonly FieldProblem[]): void {
  if (problems.length === 0) return;
  throw new GantryConfigError(problems.map((p) => `${path}${p.field ? `.${p.field}` : ''}: ${p.message}`));
}

/** Renders a value for an error message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
}
