import { Token } from 'cdktf';

/** Whether `value` is a literal (no unresolved Terraform reference inside): only literals can be validated at synth. */
export function isKnown(value: unknown): boolean {
  return !Token.isUnresolved(value);
}

/**
 * `problem(value)` for a literal value; for a Terraform reference, that it must be literal and `why`
 * (e.g. `the repository URL is computed from it`).
 */
export function literalProblem(
  value: unknown,
  problem: (v: unknown) => string | undefined,
  why: string,
): string | undefined {
  return isKnown(value) ? problem(value) : `a Terraform reference was given; give the literal value (${why})`;
}
