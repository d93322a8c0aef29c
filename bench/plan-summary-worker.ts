/**
 * Child process of the plan-summary benchmark: reads a `terraform show -json` file as `gantry plan`
 * receives it (text) and the stack's `cdk.tf.json` for construct paths, summarizes, reviews and
 * redacts the plan, renders the console text and the Markdown step summary, and prints its timings
 * as one JSON line. Peak RSS comes from the preloaded probe. With `--json`, the structured summary
 * is rendered as well (timed apart: `gantry plan --json` prints it instead of the console text).
 */
import * as fs from 'node:fs';
import {
  readConstructPaths,
  renderSummaryJson,
  renderSummaryMarkdown,
  renderSummaryText,
  summarizePlan,
} from '../lib/runtime';

const [file, stackDir, flag] = process.argv.slice(2);
if (!file) throw new Error('usage: plan-summary-worker.ts <plan.json> [<stack dir>] [--json]');
const t0 = performance.now();
const text = fs.readFileSync(file, 'utf8');
const constructPaths = stackDir ? readConstructPaths(stackDir) : undefined;
const t1 = performance.now();
const summary = summarizePlan(text, constructPaths ? { constructPaths } : {});
const t2 = performance.now();
const console = renderSummaryText(summary);
const markdown = renderSummaryMarkdown(summary, { title: 'Terraform plan: bench' });
const t3 = performance.now();
const jsonChars = flag === '--json' ? renderSummaryJson(summary).length : 0;
const t4 = performance.now();
process.stdout.write(
  `${JSON.stringify({
    readMs: t1 - t0,
    summarizeMs: t2 - t1,
    renderMs: t3 - t2,
    totalMs: t3 - t0,
    jsonMs: t4 - t3,
    counts: summary.counts,
    reviews: summary.reviews.length,
    constructPaths: constructPaths?.size ?? 0,
    details: summary.details.length,
    protectedDestroys: summary.protectedDestroys.length,
    textChars: console.length,
    markdownChars: markdown.length,
    jsonChars,
  })}\n`,
);
