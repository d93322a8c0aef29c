/**
 * The plan summary as console text and as Markdown (the PR comment and `$GITHUB_STEP_SUMMARY` form).
 * Both are built only from a redacted `PlanSummary`: the loud lists first (protected destroys, what
 * widens access, trust-policy findings, what cannot be reviewed), the counts, the IAM, container and
 * network reviews, every change by action and construct, then attribute changes. The Markdown gives
 * each part a share of `maxChars`, folds what does not fit into counts, and is cut at a line
 * boundary, with a note, as a last resort.
 */
import type { PlanSummary } from './plan-summary';
import {
  hiddenFindings,
  listingMarkdown,
  listingText,
  orderedReviews,
  reviewMarkdown,
  reviewSection,
  reviewsText,
  trustFindings,
  wideningFindings,
  escapeHtml,
  code,
  type Finding,
} from './review/render';

/** GitHub's limit for a PR comment body (and a safe size for one step-summary block). */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface MarkdownOptions {
  /** @default 65,536 (GitHub's comment limit) */
  readonly maxChars?: number;
  /** Heading, e.g. `Terraform plan: dev-foundation`. @default 'Terraform plan' */
  readonly title?: string;
  /** Addresses listed in full before the rest are counted per construct. @default 300 */
  readonly maxAddresses?: number;
  /**
   * Fold the whole summary into one `<details>` whose summary line gives the title, the counts and
   * the warnings (open when something widens access or destroys a protected resource): for a
   * comment that holds the plans of several stacks. @default false
   */
  readonly fold?: boolean;
}

/** Loud entries listed at the top before "... and N more". */
const MAX_FINDINGS = 25;

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

/** `Plan: 3 to create, ...` and the warnings, for a folded summary's one line. */
export function headline(summary: PlanSummary): string {
  const c = summary.counts;
  const parts = [
    summary.noChanges
      ? `no changes (read ${c.read})`
      : `${c.create} to create, ${c.update} to update, ${c.replace} to replace, ${c.delete} to delete`,
  ];
  const widening = new Set(wideningFindings(summary).map((f) => f.address)).size;
  if (widening > 0) parts.push(`WIDENS ACCESS (${widening} resource(s))`);
  const trust = trustFindings(summary).length;
  if (trust > 0) parts.push(`TRUST CHECK FAILS (${trust})`);
  if (summary.protectedDestroys.length > 0)
    parts.push(`DESTROYS PROTECTED (${summary.protectedDestroys.length})`);
  return parts.join(' · ');
}

function findingLines(
  title: string,
  findings: readonly Finding[],
  max: number,
  quote: string,
  style: 'md' | 'text',
): string[] {
  if (findings.length === 0) return [];
  const out = [
    style === 'md' ? `${quote}**${title} (${findings.length}):**` : `${quote}${title} (${findings.length}):`,
  ];
  for (const f of findings.slice(0, max)) {
    const where = f.constructPath
      ? style === 'md'
        ? ` (${code(f.constructPath)})`
        : ` [${f.constructPath}]`
      : '';
    out.push(
      style === 'md'
        ? `${quote}- ${code(f.address)}${where}: ${code(f.text)}`
        : `${quote}  ${f.address}${where}: ${f.text}`,
    );
  }
  if (findings.length > max)
    out.push(`${quote}${style === 'md' ? '- ' : '  '}... and ${findings.length - max} more, below`);
  return out;
}

export function renderSummaryMarkdown(summary: PlanSummary, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? GITHUB_COMMENT_LIMIT;
  const max = options.maxAddresses ?? 300;
  const c = summary.counts;
  const title = options.title ?? 'Terraform plan';
  const lines: string[] = options.fold ? [] : [`### ${title}`, ''];
  const warnings = protectedWarnings(summary);
  if (warnings.length > 0) {
    lines.push(
      `> [!CAUTION]`,
      `> **This plan destroys ${warnings.length} protected resource(s).** Data in them is lost.`,
      ...warnings.map((w) => `> - ${w}`),
      '',
    );
  }
  const loud = [
    ...findingLines('Widens access', wideningFindings(summary), MAX_FINDINGS, '> ', 'md'),
    ...findingLines('Trust policy check fails', trustFindings(summary), MAX_FINDINGS, '> ', 'md'),
    ...findingLines('Cannot be reviewed from the plan', hiddenFindings(summary), MAX_FINDINGS, '> ', 'md'),
  ];
  if (loud.length > 0) lines.push('> [!WARNING]', ...loud, '');
  lines.push(
    summary.noChanges ? '**No changes.** Infrastructure matches the configuration.' : '**Changes planned.**',
    '',
    '| create | update | replace | delete | read |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${c.create} | ${c.update} | ${c.replace} | ${c.delete} | ${c.read} |`,
    '',
  );
  if (summary.replaced.length > 0) lines.push(`**Replaced:** ${addressList(summary.replaced, 50)}`, '');
  if (summary.destroyed.length > 0) lines.push(`**Destroyed:** ${addressList(summary.destroyed, 50)}`, '');

  // Reviews get half the budget, most important first; the rest are counted.
  const reviewBudget = Math.floor(maxChars * 0.5);
  let used = 0;
  let left = 0;
  let leftWidening = 0;
  const sections = new Map<string, string[]>();
  for (const r of orderedReviews(summary.reviews)) {
    // Once the budget is spent, the rest are only counted (rendering them would be wasted work).
    const block = used < reviewBudget ? reviewMarkdown(r) : '';
    if (block === '' || used + block.length > reviewBudget) {
      used = reviewBudget;
      left += 1;
      if (r.widens.length > 0) leftWidening += 1;
      continue;
    }
    used += block.length;
    const section = reviewSection(r);
    sections.set(section, [...(sections.get(section) ?? []), block]);
  }
  for (const section of ['IAM', 'Containers', 'Network'] as const) {
    const blocks = sections.get(section);
    if (blocks) lines.push(`#### ${section}`, '', ...blocks);
  }
  if (left > 0)
    lines.push(
      `_${left} more review(s) not shown here${leftWidening > 0 ? ` (${leftWidening} widen access, listed above)` : ''}: see the job log._`,
      '',
    );
  if (summary.changes.length > 0) {
    lines.push(
      `#### Changes by action${summary.hasConstructPaths ? ' and construct' : ''}`,
      '',
      ...listingMarkdown(summary, max, Math.floor(maxChars * 0.3)),
    );
  }
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
  if (options.fold) {
    const open = loud.length > 0 || warnings.length > 0;
    const summaryLine = summary.redactor.scrub(
      `<b>${escapeHtml(title)}</b>: ${escapeHtml(headline(summary))}`,
    );
    const head = `<details${open ? ' open' : ''}><summary>${summaryLine}</summary>\n\n`;
    const closing = '\n</details>\n';
    // The fold closes even when the body is cut.
    return head + truncateMarkdown(text, Math.max(200, maxChars - head.length - closing.length)) + closing;
  }
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
  if ((head.match(/<details[ >]/g) ?? []).length > (head.match(/<\/details>/g) ?? []).length) {
    const closing = '\n</details>';
    cut = text.lastIndexOf('\n', Math.max(0, budget - closing.length));
    head = text.slice(0, Math.max(0, cut)) + closing;
  }
  return (head + note).slice(0, maxChars);
}

/** The console form: warnings, counts, reviews, every change by action and construct, attribute changes. */
export function renderSummaryText(summary: PlanSummary, options: { maxAddresses?: number } = {}): string {
  const max = options.maxAddresses ?? 1000;
  const c = summary.counts;
  const out: string[] = [];
  const bar = '!'.repeat(72);
  const warnings = protectedWarnings(summary);
  const loud = [
    ...(warnings.length > 0
      ? [
          `!! WARNING: this plan destroys ${warnings.length} protected resource(s); their data is lost`,
          ...warnings.map((w) => `!!   ${w}`),
        ]
      : []),
    ...findingLines('WIDENS ACCESS', wideningFindings(summary), 50, '!! ', 'text'),
    ...findingLines('TRUST POLICY CHECK FAILS', trustFindings(summary), 50, '!! ', 'text'),
    ...findingLines('CANNOT BE REVIEWED FROM THE PLAN', hiddenFindings(summary), 50, '!! ', 'text'),
  ];
  if (loud.length > 0) out.push(bar, ...loud, bar);
  out.push(
    summary.noChanges
      ? `No changes (read ${c.read}).`
      : `Plan: ${c.create} to create, ${c.update} to update, ${c.replace} to replace, ${c.delete} to delete, ${c.read} to read.`,
  );
  if (summary.changes.length > 0) out.push('', ...listingText(summary, max));
  if (summary.reviews.length > 0) out.push('', ...reviewsText(summary.reviews));
  if (summary.details.length > 0) out.push('');
  for (const d of summary.details.slice(0, max)) {
    out.push(`~ ${d.address} (${d.action}${d.reason ? `, ${d.reason}` : ''})`);
    for (const a of d.attributes)
      out.push(
        `    ${a.name}: ${a.before} -> ${a.after}${a.forcesReplacement ? ' # forces replacement' : ''}`,
      );
  }
  return summary.redactor.scrub(out.join('\n'));
}
