/**
 * Appends Markdown to `$GITHUB_STEP_SUMMARY`, staying under GitHub's limits: 1 MiB per step summary
 * file and 65,536 characters for a comment (a summary may be reposted as one). Longer Markdown is
 * truncated at a line boundary with a note.
 */
import * as fs from 'node:fs';
import { GITHUB_COMMENT_LIMIT, truncateMarkdown } from './summary-render';

export const STEP_SUMMARY_BYTES = 1024 * 1024;

/** Appends `markdown` (truncated to fit) to `file`; returns what was written. */
export function appendStepSummary(file: string, markdown: string): string {
  const used = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const remainingBytes = STEP_SUMMARY_BYTES - used - 2;
  if (remainingBytes < 200) return '';
  let budget = Math.min(GITHUB_COMMENT_LIMIT, remainingBytes);
  let text = truncateMarkdown(markdown, budget);
  // Characters are not bytes: shrink until the UTF-8 form fits too.
  while (Buffer.byteLength(text, 'utf8') > remainingBytes && budget > 200) {
    budget = Math.floor(budget * 0.9);
    text = truncateMarkdown(markdown, budget);
  }
  fs.appendFileSync(file, `${text}\n\n`);
  return text;
}
