/**
 * The structured summary `gantry show --json` and `gantry plan --json` print for other tools:
 * addresses, actions and construct paths of every change, the reviews (IAM statement deltas with
 * widening reasons, trust-policy findings, containers, network rules), the loud lists and the
 * redacted attribute changes. Every string in it passes the plan's redactor, like the text forms.
 */
import type { PlanSummary } from '../plan-summary';
import type { Redactor } from '../redaction';
import { hiddenFindings, trustFindings, wideningFindings } from './render';

/** Names the shape; bumped when a field changes meaning or goes away. */
export const SUMMARY_JSON_FORMAT = 'gantry.plan-summary/1';

/** A copy of `value` with every string scrubbed (each distinct string once: a plan repeats many). */
function scrubbed(value: unknown, scrub: (s: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubbed(v, scrub));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubbed(v, scrub);
    return out;
  }
  return value;
}

function memoized(redactor: Redactor): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let out = seen.get(s);
    if (out === undefined) {
      out = redactor.scrub(s);
      seen.set(s, out);
    }
    return out;
  };
}

/** The summary as a plain, redacted object. */
export function summaryJson(summary: PlanSummary): Record<string, unknown> {
  const doc = {
    format: SUMMARY_JSON_FORMAT,
    terraformVersion: summary.terraformVersion,
    planFormatVersion: summary.formatVersion,
    noChanges: summary.noChanges,
    counts: summary.counts,
    outputChanges: summary.outputChanges,
    changes: summary.changes,
    protectedDestroys: summary.protectedDestroys,
    widens: wideningFindings(summary),
    trustFindings: trustFindings(summary),
    notReviewable: hiddenFindings(summary),
    reviews: summary.reviews,
    attributeChanges: summary.details,
    attributeChangesOmitted: summary.detailsOmitted,
  };
  return scrubbed(doc, memoized(summary.redactor)) as Record<string, unknown>;
}

export function renderSummaryJson(summary: PlanSummary): string {
  return JSON.stringify(summaryJson(summary), null, 2);
}
