/**
 * The plan summary as console text and as Markdown (the PR comment and `$GITHUB_STEP_SUMMARY` form).
 * Both are built only from a redacted `PlanSummary`; the Markdown is cut at a line boundary, with a
 * note, to fit `maxChars`.
 */
import type { PlanSummary } from './plan-summary';

/** GitHub's limit for a PR comment body (and a safe size for one step-summary block). */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface MarkdownOptions {
  /** @default 65,536 (GitHub's comment limit) */
  readonly maxChars?: number;
  /** Heading, e.g. `Terraform plan: dev-foundation`. @default 'Terraform plan' */
  readonly title?: string;
  /** Addresses listed per section before "... and N more". @default 50 */
  readonly maxAddresses?: number;
}

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

function addressList(addresses: readonly string[], max: number): string {
  const shown = addresses.slice(0, max).map(code).join(', ');
  return addresses.length > max ? `${shown} ... and ${addresses.length - max} more` : shown;
}

/** One line per protected destroy, shouting. */
export function protectedWarnings(summary: PlanSummary): string[] {
  return summary.protectedDestroys.map(
    (p) =>
      `${p.action === 'replace' ? 'REPLACES (destroys, then creates)' : 'DESTROYS'} ${p.address}: ${p.reason}`,
  );
}

export function renderSummaryMarkdown(summary: PlanSummary, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? GITHUB_COMMENT_LIMIT;
  const max = options.maxAddresses ?? 50;
  const c = summary.counts;
  const lines: string[] = [`### ${options.title ?? 'Terraform plan'}`, ''];
  const warnings = protectedWarnings(summary);
  if (warnings.length > 0) {
    lines.push(
      `> [!CAUTION]`,
      `> **This plan destroys ${warnings.length} protected resource(s).** Data in them is lost.`,
      ...warnings.map((w) => `> - ${w}`),
      '',
    );
  }
  lines.push(
    summary.noChanges ? '**No changes.** Infrastructure matches the configuration.' : '**Changes planned.**',
    '',
    '| create | update | replace | delete | read |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${c.create} | ${c.update} | ${c.replace} | ${c.delete} | ${c.read} |`,
    '',
  );
  if (summary.replaced.length > 0) lines.push(`**Replaced:** ${addressList(summary.replaced, max)}`, '');
  if (summary.destroyed.length > 0) lines.push(`**Destroyed:** ${addressList(summary.destroyed, max)}`, '');
  if (summary.created.length > 0)
    lines.push(
      '<details><summary>Created</summary>',
      '',
      addressList(summary.created, max),
      '',
      '</details>',
      '',
    );
  if (summary.details.length > 0) {
    lines.push('<details><summary>Attribute changes (sensitive values redacted)</summary>', '');
    for (const d of summary.details) {
      lines.push(`- ${code(d.address)} **${d.action}**${d.reason ? ` (${d.reason})` : ''}`);
      for (const a of d.attributes) {
        lines.push(
          `  - ${code(a.name)}: ${code(a.before)} -> ${code(a.after)}${a.forcesReplacement ? ' (forces replacement)' : ''}`,
        );
      }
    }
    if (summary.detailsOmitted > 0) lines.push(`- ... and ${summary.detailsOmitted} more resources`);
    lines.push('', '</details>', '');
  }
  const text = summary.redactor.scrub(lines.join('\n'));
  return truncateMarkdown(text, maxChars);
}

/** Cuts `text` at a line boundary so that it plus the note fits `maxChars`. */
export function truncateMarkdown(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const note = `\n\n> Summary truncated: ${text.length} characters exceed the limit of ${maxChars}. The full redacted summary is in the job log.\n`;
  const budget = Math.max(0, maxChars - note.length);
  let cut = text.lastIndexOf('\n', budget);
  if (cut <= 0) cut = budget;
  // An open <details> would swallow the note.
  let head = text.slice(0, cut);
  if ((head.match(/<details>/g) ?? []).length > (head.match(/<\/details>/g) ?? []).length) {
    const closing = '\n</details>';
    cut = text.lastIndexOf('\n', Math.max(0, budget - closing.length));
    head = text.slice(0, Math.max(0, cut)) + closing;
  }
  return (head + note).slice(0, maxChars);
}

/** The console form: counts, addresses, warnings; plain text. */
export function renderSummaryText(summary: PlanSummary, options: { maxAddresses?: number } = {}): string {
  const max = options.maxAddresses ?? 50;
  const c = summary.counts;
  const out: string[] = [];
  const warnings = protectedWarnings(summary);
  if (warnings.length > 0) {
    const bar = '!'.repeat(72);
    out.push(
      bar,
      `!! WARNING: this plan destroys ${warnings.length} protected resource(s); their data is lost`,
    );
    out.push(...warnings.map((w) => `!!   ${w}`), bar);
  }
  out.push(
    summary.noChanges
      ? `No changes (read ${c.read}).`
      : `Plan: ${c.create} to create, ${c.update} to update, ${c.replace} to replace, ${c.delete} to delete, ${c.read} to read.`,
  );
  const list = (label: string, items: readonly string[]) => {
    if (items.length === 0) return;
    out.push(`${label}:`);
    for (const a of items.slice(0, max)) out.push(`  ${a}`);
    if (items.length > max) out.push(`  ... and ${items.length - max} more`);
  };
  list('Replaced', summary.replaced);
  list('Destroyed', summary.destroyed);
  for (const d of summary.details.slice(0, max)) {
    out.push(`~ ${d.address} (${d.action}${d.reason ? `, ${d.reason}` : ''})`);
    for (const a of d.attributes)
      out.push(
        `    ${a.name}: ${a.before} -> ${a.after}${a.forcesReplacement ? ' # forces replacement' : ''}`,
      );
  }
  return summary.redactor.scrub(out.join('\n'));
}
