/**
 * The summary in the form a command was asked for: console text, Markdown (sized and folded as
 * asked) or the structured JSON. `gantry show` and `gantry plan` share these options.
 */
import type { PlanSummary } from './plan-summary';
import { renderSummaryJson } from './review/json';
import { GITHUB_COMMENT_LIMIT, renderSummaryMarkdown, renderSummaryText } from './summary-render';

export interface OutputOptions {
  readonly format: 'text' | 'markdown' | 'json';
  readonly maxChars: number;
  /** Unset: each form's default (console 1,000, Markdown 300). */
  readonly maxAddresses?: number;
  readonly fold: boolean;
  readonly title?: string;
}

/** The console form, Markdown up to GitHub's comment limit. */
export const DEFAULT_OUTPUT: OutputOptions = { format: 'text', maxChars: GITHUB_COMMENT_LIMIT, fold: false };

/** The Markdown form with these options (`title` unless one was given). */
export function markdownOf(summary: PlanSummary, output: OutputOptions, title: string): string {
  return renderSummaryMarkdown(summary, {
    maxChars: output.maxChars,
    title: output.title ?? title,
    fold: output.fold,
    ...(output.maxAddresses !== undefined ? { maxAddresses: output.maxAddresses } : {}),
  });
}

/** The summary in the chosen form. */
export function renderSummary(summary: PlanSummary, output: OutputOptions, title: string): string {
  if (output.format === 'json') return renderSummaryJson(summary);
  if (output.format === 'markdown') return markdownOf(summary, output, title);
  return renderSummaryText(
    summary,
    output.maxAddresses !== undefined ? { maxAddresses: output.maxAddresses } : {},
  );
}
