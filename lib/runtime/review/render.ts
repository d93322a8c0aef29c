/**
 * Rendering the review: the change listing grouped by action and construct, the policy, container
 * and network reviews, and the loud lists (what widens access, trust-policy findings, what cannot
 * be reviewed). Console lines and Markdown blocks are built from the same pieces; the caller scrubs
 * the finished text with the plan's redactor.
 */
import type { PlanSummary } from '../plan-summary';
import { constructOf } from './construct-paths';
import type {
  ContainerReview,
  ItemDelta,
  ListenerRuleReview,
  ManagedPolicyReview,
  NetworkRuleReview,
  PolicyReview,
  ResourceChangeEntry,
  Review,
  StatementDelta,
} from './model';
import { hiddenSide } from './review-change';

export const ACTION_ORDER = ['delete', 'replace', 'update', 'create', 'read'] as const;
const ACTION_TITLE: Record<ResourceChangeEntry['action'], string> = {
  delete: 'Delete',
  replace: 'Replace',
  update: 'Update',
  create: 'Create',
  read: 'Read',
};
const ACTION_SIGN: Record<Review['action'] | 'read', string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  read: '<=',
};
const NO_CONSTRUCT = '(no construct path)';

/** One loud line: what, where, why. */
export interface Finding {
  readonly address: string;
  readonly constructPath: string | null;
  readonly text: string;
}

/** Every reason a change widens access, resource by resource. */
export function wideningFindings(summary: PlanSummary): Finding[] {
  return summary.reviews.flatMap((r) =>
    r.widens.map((text) => ({ address: r.address, constructPath: r.constructPath, text })),
  );
}

/** The trust-policy checker's findings on planned trust policies. */
export function trustFindings(summary: PlanSummary): Finding[] {
  return summary.reviews.flatMap((r) =>
    r.kind === 'policy' && r.trustFindings
      ? r.trustFindings.map((f) => ({
          address: r.address,
          constructPath: r.constructPath,
          text: `invariant ${f.invariant}: ${f.message}`,
        }))
      : [],
  );
}

/** Policies and container definitions the plan does not let a reviewer see. */
export function hiddenFindings(summary: PlanSummary): Finding[] {
  return summary.reviews.flatMap((r) => {
    const why = hiddenSide(r);
    if (!why) return [];
    const what = r.kind === 'policy' ? r.policy : 'container definitions';
    return [{ address: r.address, constructPath: r.constructPath, text: `${what}: ${why}` }];
  });
}

/** Reviews in reading order: widening first, then findings and hidden values, then changes, then creates. */
export function orderedReviews(reviews: readonly Review[]): Review[] {
  const rank = (r: Review) =>
    r.widens.length > 0
      ? 0
      : (r.kind === 'policy' && (r.trustFindings?.length ?? 0) > 0) || hiddenSide(r)
        ? 1
        : r.action === 'create'
          ? 3
          : 2;
  return reviews
    .map((r, i) => ({ r, i, k: rank(r) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.r);
}

/** Whether a review deserves to be open in Markdown. */
export function isNotable(r: Review): boolean {
  return (
    r.widens.length > 0 ||
    r.action !== 'create' ||
    (r.kind === 'policy' && (r.trustFindings?.length ?? 0) > 0) ||
    hiddenSide(r) !== undefined
  );
}

/** Changes by action (in `ACTION_ORDER`), then by construct (in first-seen order). */
export function groupChanges(changes: readonly ResourceChangeEntry[]): Array<{
  action: ResourceChangeEntry['action'];
  groups: Array<{ construct: string; entries: ResourceChangeEntry[] }>;
}> {
  const byAction = new Map<string, Map<string, ResourceChangeEntry[]>>();
  for (const c of changes) {
    const groups = byAction.get(c.action) ?? new Map<string, ResourceChangeEntry[]>();
    byAction.set(c.action, groups);
    const construct = c.constructPath ? constructOf(c.constructPath) : NO_CONSTRUCT;
    const list = groups.get(construct);
    if (list) list.push(c);
    else groups.set(construct, [c]);
  }
  return ACTION_ORDER.filter((a) => byAction.has(a)).map((action) => ({
    action,
    groups: [...(byAction.get(action) ?? new Map<string, ResourceChangeEntry[]>())].map(
      ([construct, entries]) => ({
        construct,
        entries,
      }),
    ),
  }));
}

export const actionTitle = (action: ResourceChangeEntry['action'], n: number) =>
  `${ACTION_TITLE[action]} (${n})`;

/** Console listing: every address (up to `maxAddresses`; the rest as counts per construct). */
export function listingText(summary: PlanSummary, maxAddresses: number): string[] {
  const out: string[] = [];
  let shown = 0;
  for (const { action, groups } of groupChanges(summary.changes)) {
    const total = groups.reduce((n, g) => n + g.entries.length, 0);
    out.push(`${actionTitle(action, total)}:`);
    for (const g of groups) {
      const sign = ACTION_SIGN[action];
      const indent = summary.hasConstructPaths ? '    ' : '  ';
      if (summary.hasConstructPaths) out.push(`  ${g.construct}`);
      const room = Math.max(0, maxAddresses - shown);
      for (const e of g.entries.slice(0, room)) {
        out.push(`${indent}${sign} ${e.address}${e.reason ? ` (${e.reason})` : ''}`);
      }
      shown += Math.min(room, g.entries.length);
      if (g.entries.length > room)
        out.push(
          `${indent}... and ${g.entries.length - room} more (--max-addresses, or --json, lists them all)`,
        );
    }
  }
  return out;
}

const fence = (s: string) => s.replace(/`/g, "'");
export const code = (s: string) => `\`${fence(s)}\``;
export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Markdown listing: one line per construct; folded per action; a budget of addresses and characters. */
export function listingMarkdown(summary: PlanSummary, maxAddresses: number, maxChars: number): string[] {
  const out: string[] = [];
  let shown = 0;
  let used = 0;
  const grouped = groupChanges(summary.changes);
  for (const { action, groups } of grouped) {
    const total = groups.reduce((n, g) => n + g.entries.length, 0);
    const open = action === 'delete' || action === 'replace' || action === 'update';
    out.push(`<details${open ? ' open' : ''}><summary>${actionTitle(action, total)}</summary>`, '');
    let folded = 0;
    let foldedResources = 0;
    for (const g of groups) {
      const room = Math.max(0, maxAddresses - shown);
      const listed = g.entries.slice(0, room).map((e) => code(e.address));
      const more = g.entries.length - listed.length;
      const head = summary.hasConstructPaths ? `${code(g.construct)}: ` : '';
      const line =
        listed.length === 0
          ? `- ${head}${g.entries.length} resource(s)`
          : `- ${head}${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
      if (used + line.length > maxChars) {
        folded += 1;
        foldedResources += g.entries.length;
        continue;
      }
      out.push(line);
      used += line.length + 1;
      shown += listed.length;
    }
    if (folded > 0)
      out.push(
        `- ... and ${summary.hasConstructPaths ? `${folded} more construct(s), ` : ''}${foldedResources} resource(s): see the job log`,
      );
    out.push('', '</details>', '');
  }
  return out;
}

const DIMENSIONS: ReadonlyArray<readonly [keyof StatementDelta, string]> = [
  ['principals', 'principal'],
  ['notPrincipals', 'not-principal'],
  ['actions', 'action'],
  ['notActions', 'not-action'],
  ['resources', 'resource'],
  ['notResources', 'not-resource'],
  ['conditions', 'condition'],
];

/** Unchanged items shown as context per list, before "... and N unchanged". */
const MAX_KEPT = 5;

/** A statement as diff lines: `+`/`-` items, two spaces for unchanged context, `!` for widening. */
function statementLines(s: StatementDelta): string[] {
  const sign = s.change === 'added' ? '+' : s.change === 'removed' ? '-' : '~';
  const lines = [`${sign} ${s.effect} ${s.label}`];
  for (const [key, name] of DIMENSIONS) {
    const d = s[key] as ItemDelta;
    const itemSign = s.change === 'added' ? '+' : s.change === 'removed' ? '-' : undefined;
    for (const x of d.removed) lines.push(`${itemSign ?? '-'}     ${name} ${x}`);
    for (const x of d.added) lines.push(`${itemSign ?? '+'}     ${name} ${x}`);
    if (s.change === 'changed') {
      for (const x of d.kept.slice(0, MAX_KEPT)) lines.push(`      ${name} ${x}`);
      if (d.kept.length > MAX_KEPT) lines.push(`      ... and ${d.kept.length - MAX_KEPT} more unchanged`);
    }
  }
  for (const w of s.widens) lines.push(`!     WIDENS: ${w}`);
  return lines;
}

function stateNote(side: string, state: string): string | undefined {
  if (state === 'unknown') return `${side}: known only after apply`;
  if (state === 'sensitive') return `${side}: sensitive (not shown)`;
  if (state === 'unreadable') return `${side}: not a readable policy document`;
  return undefined;
}

function policyLines(r: PolicyReview): string[] {
  const lines: string[] = [];
  const notes = [
    r.action !== 'create' ? stateNote('before', r.before) : undefined,
    r.action !== 'delete' ? stateNote('after', r.after) : undefined,
  ].filter((n): n is string => n !== undefined);
  for (const n of notes) lines.push(`  ${n}`);
  for (const s of r.statements) lines.push(...statementLines(s));
  if (r.unchangedStatements > 0) lines.push(`  (${r.unchangedStatements} statement(s) unchanged)`);
  if (r.roleKind && r.action !== 'delete' && r.after === 'known') {
    const findings = r.trustFindings ?? [];
    lines.push(
      findings.length === 0
        ? `  trust check (${r.roleKind} role): passes SECURITY.md 1-6`
        : `! trust check (${r.roleKind} role): ${findings.length} finding(s)`,
    );
    for (const f of findings) lines.push(`!     invariant ${f.invariant}: ${f.message}`);
  }
  return lines;
}

function managedLines(r: ManagedPolicyReview): string[] {
  return [
    ...r.removed.map(
      (x) =>
        `-     ${r.kind === 'managed-policies' && r.type === 'aws_iam_policy_attachment' ? x : `managed policy ${x}`}`,
    ),
    ...r.added.map((x) => `+     ${r.type === 'aws_iam_policy_attachment' ? x : `managed policy ${x}`}`),
    ...r.widens.map((w) => `!     WIDENS: ${w}`),
  ];
}

function names(
  label: string,
  d: { added: readonly string[]; removed: readonly string[]; changed: readonly string[] },
) {
  const parts = [
    ...d.added.map((n) => `+${n}`),
    ...d.removed.map((n) => `-${n}`),
    ...d.changed.map((n) => `~${n}`),
  ];
  return parts.length > 0 ? [`      ${label}: ${parts.join(' ')}`] : [];
}

function containerLines(r: ContainerReview): string[] {
  const lines: string[] = [];
  for (const n of [
    r.action !== 'create' ? stateNote('before', r.before) : undefined,
    r.action !== 'delete' ? stateNote('after', r.after) : undefined,
  ])
    if (n) lines.push(`  ${n.replace('policy document', 'container definition list')}`);
  for (const c of r.containers) {
    if (c.change === 'unchanged') continue;
    const sign = c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~';
    const img = c.image;
    let image = '';
    if (img?.before && img.after) {
      image =
        img.before.repository === img.after.repository
          ? img.before.tag === img.after.tag
            ? `image ${img.after.repository}:${img.after.tag}`
            : `image ${img.after.repository} tag ${img.before.tag} -> ${img.after.tag}`
          : `image ${img.before.repository}:${img.before.tag} -> ${img.after.repository}:${img.after.tag}`;
    } else if (img?.after ?? img?.before) {
      const i = (img.after ?? img.before)!;
      image = `image ${i.repository}:${i.tag}`;
    }
    lines.push(`${sign} container ${c.name}${image ? `: ${image}` : ''}`);
    lines.push(
      ...names('environment (names only)', c.environment),
      ...names('secrets (names only)', c.secrets),
    );
    if (c.otherChanges.length > 0) lines.push(`      other settings changed: ${c.otherChanges.join(', ')}`);
  }
  return lines;
}

function itemLines(label: string, d: ItemDelta): string[] {
  return [...d.removed.map((x) => `-     ${label}${x}`), ...d.added.map((x) => `+     ${label}${x}`)];
}

function networkLines(r: NetworkRuleReview | ListenerRuleReview): string[] {
  const lines: string[] = [];
  if (r.kind === 'security-group-rules') lines.push(...itemLines('', r.rules));
  else {
    const { before, after } = r.priority;
    const what = r.type.endsWith('_rule') ? 'priority' : 'listener';
    if (before !== undefined && after !== undefined && before !== after)
      lines.push(`~     ${what} ${before} -> ${after}`);
    else if (after !== undefined || before !== undefined) lines.push(`      ${what} ${after ?? before}`);
    lines.push(...itemLines('if ', r.conditions), ...itemLines('then ', r.actions));
  }
  for (const w of r.widens) lines.push(`!     WIDENS: ${w}`);
  return lines;
}

/** The one-line head of a review. */
export function reviewHead(r: Review): string {
  const what =
    r.kind === 'policy'
      ? r.policy
      : r.kind === 'managed-policies'
        ? `managed policies of ${r.principal}`
        : r.kind === 'containers'
          ? 'container definitions'
          : r.kind === 'security-group-rules'
            ? 'security group rules'
            : 'listener rule';
  const state =
    r.kind === 'policy' && r.action === 'create'
      ? r.after === 'known'
        ? `, new (${statementCounts(r)})`
        : ', new'
      : r.action === 'delete'
        ? ', removed'
        : '';
  return `${ACTION_SIGN[r.action]} ${r.address}: ${what}${state}`;
}

function statementCounts(r: PolicyReview): string {
  const allow = r.statements.filter((s) => s.effect === 'Allow').length;
  const deny = r.statements.length - allow;
  return (
    [allow ? `${allow} Allow` : '', deny ? `${deny} Deny` : ''].filter(Boolean).join(', ') || 'no statements'
  );
}

/** The body lines of a review (diff-style). */
export function reviewLines(r: Review): string[] {
  switch (r.kind) {
    case 'policy':
      return policyLines(r);
    case 'managed-policies':
      return managedLines(r);
    case 'containers':
      return containerLines(r);
    case 'security-group-rules':
    case 'listener-rule':
      return networkLines(r);
  }
}

/** Which heading a review goes under. */
export function reviewSection(r: Review): 'IAM' | 'Containers' | 'Network' {
  return r.kind === 'policy' || r.kind === 'managed-policies'
    ? 'IAM'
    : r.kind === 'containers'
      ? 'Containers'
      : 'Network';
}

/** Why a review shows nothing but a hidden value, or undefined when it has more to show. */
function hiddenOnly(r: Review): string | undefined {
  if (r.kind === 'policy' && r.statements.length === 0 && r.widens.length === 0) return hiddenSide(r);
  if (r.kind === 'containers' && r.containers.length === 0) return hiddenSide(r);
  return undefined;
}

/** Console: the reviews under their headings, each indented under its head line. */
export function reviewsText(reviews: readonly Review[]): string[] {
  const out: string[] = [];
  for (const section of ['IAM', 'Containers', 'Network'] as const) {
    const inSection = reviews.filter((r) => reviewSection(r) === section);
    if (inSection.length === 0) continue;
    out.push(`${section}:`);
    for (const r of orderedReviews(inSection)) {
      const where = r.constructPath ? ` [${r.constructPath}]` : '';
      const hidden = hiddenOnly(r);
      if (hidden) {
        // Nothing to show but why: one line (a large plan may hold thousands).
        out.push(`  ${reviewHead(r)}${where}: ${hidden}`);
        continue;
      }
      out.push(`  ${reviewHead(r)}${where}${r.widens.length > 0 ? '   !! WIDENS ACCESS' : ''}`);
      for (const line of reviewLines(r)) out.push(`    ${line}`);
    }
  }
  return out;
}

/** Markdown: one `<details>` per review (open when it widens, fails a check or changes something that exists). */
export function reviewMarkdown(r: Review): string {
  const where = r.constructPath ? ` (${escapeHtml(fence(r.constructPath))})` : '';
  const head = escapeHtml(fence(reviewHead(r)));
  const loud = r.widens.length > 0 ? ' <b>WIDENS ACCESS</b>' : '';
  const body = reviewLines(r).map(fence);
  return [
    `<details${isNotable(r) ? ' open' : ''}><summary><code>${head}</code>${where}${loud}</summary>`,
    '',
    '```diff',
    ...(body.length > 0 ? body : ['  (no statement to show)']),
    '```',
    '',
    '</details>',
    '',
  ].join('\n');
}
