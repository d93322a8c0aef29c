/**
 * Child process of the plan-summary benchmark: reads a `terraform show -json` file as `gantry plan`
 * receives it (text), summarizes and redacts it, renders the console text and the Markdown step
 * summary, and prints its timings as one JSON line. Peak RSS comes from the preloaded probe.
 */
import * as fs from 'node:fs';
import { renderSummaryMarkdown, renderSummaryText, summarizePlan } from '../lib/runtime';

const file = process.argv[2];
if (!file) throw new Error('usage: plan-summary-worker.ts <plan.json>');
const t0 = performance.now();
const text = fs.readFileSync(file, 'utf8');
const t1 = performance.now();
const summary = summarizePlan(text);
const t2 = performance.now();
const console = renderSummaryText(summary);
const markdown = renderSummaryMarkdown(summary, { title: 'Terraform plan: bench' });
const t3 = performance.now();
process.stdout.write(
  `${JSON.stringify({
    readMs: t1 - t0,
    summarizeMs: t2 - t1,
    renderMs: t3 - t2,
    totalMs: t3 - t0,
    counts: summary.counts,
    details: summary.details.length,
    protectedDestroys: summary.protectedDestroys.length,
    textChars: console.length,
    markdownChars: markdown.length,
  })}\n`,
);
