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

  get length(): number {
    return this.list.length;
  }

  /** Throws one GantryConfigError listing every problem found, if there is any. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new GantryConfigError(this.list);
  }
}

/** Renders a value for an error message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
}
