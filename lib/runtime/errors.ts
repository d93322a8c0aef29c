/** Exit codes of `gantry`, and the error a command throws for a user-facing failure. */

export const EXIT = {
  /** Success; for `drift`, no changes. */
  ok: 0,
  /** Failure: Terraform failed, the ledger could not be written, a bad argument. */
  failure: 1,
  /** `drift`: changes are present. */
  changes: 2,
  /** Refused by a guard (plan hash, commit, supersession, approvals, a busy or blocked stack). */
  refused: 3,
} as const;

/** A failure explained in one message, printed without a stack trace; `exitCode` says how to exit. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    public readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}
