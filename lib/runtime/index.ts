/**
 * Gantry's runtime: the `gantry` CLI's building blocks, for other tools (the benchmark, CI glue).
 *
 * Plan summaries (pure, no I/O):
 * - `summarizePlan(planJson: string | PlanDocument, options?: { protectedAddresses?: Iterable<string>; maxDetails?: number; constructPaths?: ConstructPaths }): PlanSummary`
 *   reads `terraform show -json` output: `counts` {create, update, delete, replace, read}, `created`,
 *   `updated`, `replaced`, `destroyed`, `read` addresses, `protectedDestroys`, redacted attribute
 *   `details` (first `maxDetails`, default 200), and a `redactor` that scrubs the plan's secrets from text.
 * - `renderSummaryMarkdown(summary: PlanSummary, options?: { maxChars?: number; title?: string; maxAddresses?: number }): string`
 *   the PR / step-summary Markdown, at most `maxChars` (default 65,536) characters.
 * - `renderSummaryText(summary: PlanSummary, options?: { maxAddresses?: number }): string`: the console form.
 * - `renderSummaryJson(summary: PlanSummary): string`: the structured summary (`gantry ... --json`,
 *   format `gantry.plan-summary/1`): every change with its construct path, the reviews (IAM statement
 *   deltas, trust-policy findings, containers, network rules), what widens access, what cannot be reviewed.
 * - `readConstructPaths(stackDir: string): Map<string, string> | undefined`: address -> cdktf construct
 *   path from the stack's `cdk.tf.json`, for `summarizePlan(..., { constructPaths })`.
 *
 * The ledger:
 * - `openLedger(url?: string, options?: { lapseSeconds?: number; maxConnections?: number }): Promise<Ledger>`
 *   `url` as `GANTRY_LEDGER_URL`: undefined / '' = PGlite in `.gantry/ledger`, `pglite:<dir>`,
 *   `pglite:memory`, `postgres://...`, `rds-data://<cluster-arn>?secret=<secret-arn>&database=<db>`.
 *   Does not migrate: call `migrate()` first.
 * - `Ledger`:
 *   `migrate(): Promise<number[]>` (versions applied now; idempotent, concurrency-safe),
 *   `startRun(input: StartRunInput): Promise<RunRecord>` (a `running` row; throws `StackBusyError`
 *   for a second active apply on a stack), `recordRefusal(input: RefusalInput): Promise<RunRecord>`,
 *   `heartbeat(id: string): Promise<boolean>`, `finishRun(id: string, result: FinishRunInput): Promise<RunRecord>`,
 *   `getRun(id: string): Promise<RunRecord | null>`, `listRuns(filter?: RunFilter): Promise<RunRecord[]>`
 *   (newest first, `limit` default 50), `reap(options?: { olderThanSeconds?: number; stack?: string }): Promise<RunRecord[]>`,
 *   `ack(id: string, by: string, reason: string): Promise<RunRecord>`, `close(): Promise<void>`.
 *
 * The CLI: `runCli(argv, io, commands)` with `RUNTIME_COMMANDS` (what `bin/gantry.ts` runs).
 */
export { summarizePlan, notAPlan } from './plan-summary';
export type {
  PlanSummary,
  PlanDocument,
  PlanResourceChange,
  SummarizeOptions,
  ResourceChangeDetail,
  AttributeChange,
  ProtectedDestroy,
} from './plan-summary';
export {
  renderSummaryMarkdown,
  renderSummaryText,
  truncateMarkdown,
  GITHUB_COMMENT_LIMIT,
} from './summary-render';
export type { MarkdownOptions } from './summary-render';
export {
  readConstructPaths,
  constructPathsOf,
  renderSummaryJson,
  summaryJson,
  SUMMARY_JSON_FORMAT,
} from './review';
export type {
  Review,
  PolicyReview,
  ManagedPolicyReview,
  ContainerReview,
  NetworkRuleReview,
  ListenerRuleReview,
  StatementDelta,
  ItemDelta,
  ResourceChangeEntry,
  ConstructPaths,
} from './review';
export { renderSummary, DEFAULT_OUTPUT } from './summary-output';
export type { OutputOptions } from './summary-output';
export { Redactor, redactValue, looksSecret, REDACTED, SENSITIVE } from './redaction';
export {
  openLedger,
  describeLedgerUrl,
  DEFAULT_LEDGER_DIR,
  StackBusyError,
  LedgerError,
  MIGRATIONS,
  RUN_ACTIONS,
  RUN_STATUSES,
} from './ledger';
export type {
  Ledger,
  RunRecord,
  RunFilter,
  RunAction,
  RunStatus,
  StartRunInput,
  FinishRunInput,
  RefusalInput,
  ReapOptions,
  ResourceCounts,
  OpenLedgerOptions,
} from './ledger';
export {
  APPLY_WORKFLOW_PATH,
  checkApprovals,
  checkRun,
  countApprovals,
  handoffRun,
  isBot,
  verifyApprovals,
} from './approvals';
export type {
  ApprovalCheck,
  ApprovalCheckInput,
  ApprovalEntry,
  HandoffRun,
  RunEntry,
  RunExpectations,
  VerifiedApprovals,
  VerifyApprovalsInput,
} from './approvals';
export { appendStepSummary, STEP_SUMMARY_BYTES } from './step-summary';
export { runCli, EXIT_CODES_HELP } from './cli';
export type { CliContext, CommandRegistrar } from './cli';
export type { CliIo } from './session';
export { RUNTIME_COMMANDS } from './commands';
export { EXIT, RuntimeError } from './errors';
export {
  bootstrapCommand,
  countStateResources,
  DEFAULT_JOURNAL_FILE,
  generatePassword,
  Journal,
  journalNote,
  LedgerWriterError,
  migrateState,
  MIGRATION_OVERRIDE_FILE,
  scramSha256Verifier,
  setUpLedgerWriter,
  WRITER_LOGIN,
} from './bootstrap';
export type {
  BootstrapOptions,
  JournalEntry,
  LedgerWriterReport,
  LedgerWriterSetUp,
  MigrationOutcome,
  ReplayResult,
  StateMigrationTarget,
  WriterCredentials,
  WriterSecret,
} from './bootstrap';
