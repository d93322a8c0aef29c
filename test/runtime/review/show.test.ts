/**
 * `gantry show` on the real plan fixtures and on files that are not plans, and the output options
 * it shares with `gantry plan`; the review of a large plan stays within its limits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summarizePlan, type PlanDocument, type PlanResourceChange } from '../../../lib/runtime/plan-summary';
import { renderSummaryJson } from '../../../lib/runtime/review/json';
import { renderSummaryMarkdown, renderSummaryText } from '../../../lib/runtime/summary-render';
import { gantry, REPO, tempDir } from '../helpers';
import { PLAN_FIXTURES } from '../../util';

const FIXTURES = PLAN_FIXTURES;
const REPLACE = path.join(FIXTURES, 'tf1.11.4-aws5.100.0__update-replace-delete__plan.json');

describe('gantry show: input that is not a plan', () => {
  test.each([
    ['package.json', path.join(REPO, 'package.json'), 'it has no "format_version"'],
    [
      'a state',
      path.join(FIXTURES, 'tfjson-0.5.0__no_changes__state.json'),
      'it has no "planned_values" or "resource_changes" (a state, not a plan?)',
    ],
  ])('%s exits 1 with one line', async (_label, file, why) => {
    const r = await gantry(['show', file], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `gantry: show: ${file} is not a plan from \`terraform show -json\`: ${why}`,
    ]);
  });

  test('JSON that does not parse exits 1 with one line', async () => {
    const file = path.join(tempDir('bad-json'), 'plan.json');
    fs.writeFileSync(file, '  {"format_version": ');
    const r = await gantry(['show', file], {});
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gantry: show: .*plan\.json is not JSON: /);
  });
});

describe('gantry show: output options', () => {
  test.each([
    [['--markdown', '--json'], 'gantry: --markdown and --json: choose one form of the summary'],
    [['--max-chars', '100'], 'gantry: --max-chars: "100" must be an integer >= 200'],
    [['--max-addresses', 'ten'], 'gantry: --max-addresses: "ten" must be an integer >= 0'],
  ])('%j is refused naming the option and what is allowed', async (flags, message) => {
    const r = await gantry(['show', REPLACE, ...flags], {});
    expect([r.code, r.stderr]).toEqual([1, message]);
  });

  test('--stack-dir must hold a cdk.tf.json', async () => {
    const dir = tempDir('no-stack');
    const r = await gantry(['show', REPLACE, '--stack-dir', dir], {});
    expect([r.code, r.stderr]).toEqual([
      1,
      `gantry: --stack-dir: ${path.join(dir, 'cdk.tf.json')} does not exist`,
    ]);
  });

  test('--stack-dir groups by the construct paths of its cdk.tf.json', async () => {
    const dir = tempDir('stack');
    const meta = (p: string) => ({ '//': { metadata: { path: p, uniqueId: 'x' } } });
    fs.writeFileSync(
      path.join(dir, 'cdk.tf.json'),
      JSON.stringify({
        resource: {
          aws_iam_role: { deploy: meta('prod-foundation/deploy-roles/apply') },
          aws_s3_bucket: { legacy: meta('prod-foundation/legacy/bucket') },
        },
        data: { aws_iam_policy_document: { trust: meta('prod-foundation/deploy-roles/trust') } },
      }),
    );
    const r = await gantry(['show', REPLACE, '--stack-dir', dir, '--json'], {});
    const json = JSON.parse(r.stdout) as {
      changes: Array<{ address: string; constructPath: string | null }>;
    };
    expect(Object.fromEntries(json.changes.map((c) => [c.address, c.constructPath]))).toEqual({
      'data.aws_iam_policy_document.trust': 'prod-foundation/deploy-roles/trust',
      'aws_iam_openid_connect_provider.gh': null,
      'aws_iam_role.deploy': 'prod-foundation/deploy-roles/apply',
      'aws_s3_bucket.legacy': 'prod-foundation/legacy/bucket',
    });
    const text = await gantry(['show', REPLACE, '--stack-dir', dir], {});
    expect(text.stdout).toContain(
      'Replace (1):\n  prod-foundation/deploy-roles\n    -/+ aws_iam_role.deploy (replace_because_cannot_update)',
    );
    expect(text.stdout).toContain(
      'Update (1):\n  (no construct path)\n    ~ aws_iam_openid_connect_provider.gh',
    );
  });

  test('--fold folds the Markdown into one <details> with the counts and warnings in its summary line', async () => {
    const r = await gantry(
      ['show', REPLACE, '--markdown', '--fold', '--title', 'Terraform plan: prod-foundation'],
      {},
    );
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      '<details open><summary><b>Terraform plan: prod-foundation</b>: 0 to create, 1 to update, 1 to replace, 1 to delete · DESTROYS PROTECTED (1)</summary>',
    );
    expect(r.stdout.trimEnd().endsWith('</details>')).toBe(true);
  });
});

describe('the review of the real replace fixture', () => {
  const summary = summarizePlan(fs.readFileSync(REPLACE, 'utf8'));

  test('a trust policy known only after apply is said to be so, and its prior value stays visible', () => {
    const text = renderSummaryText(summary);
    expect(text).toContain('!! CANNOT BE REVIEWED FROM THE PLAN (1):');
    expect(text).toContain(
      '!!   aws_iam_role.deploy: trust policy of role app-prod-deploy: the planned value is known only after apply',
    );
    // The review cannot show the prior document, so the attribute change still does (redacted as ever).
    expect(text).toMatch(
      /assume_role_policy: "\{\\"Version\\":\\"2012-10-17\\".*\.\.\. -> \(known after apply\)/,
    );
    const json = JSON.parse(renderSummaryJson(summary)) as {
      notReviewable: unknown[];
      reviews: Array<{ before: string; after: string }>;
    };
    expect(json.notReviewable).toHaveLength(1);
    expect(json.reviews).toEqual([
      expect.objectContaining({ address: 'aws_iam_role.deploy', before: 'known', after: 'unknown' }),
    ]);
  });
});

/** A plan of `n` IAM roles, each created with a trust policy for one more account. */
function rolesPlan(n: number): PlanDocument {
  const changes: PlanResourceChange[] = [];
  for (let i = 0; i < n; i++) {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: `Trust${i}`,
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${String(100000000000 + i)}:root` },
          Action: 'sts:AssumeRole',
        },
      ],
    });
    changes.push({
      address: `aws_iam_role.r${i}`,
      type: 'aws_iam_role',
      mode: 'managed',
      change: {
        actions: i % 2 === 0 ? ['create'] : ['update'],
        before:
          i % 2 === 0
            ? null
            : { name: `r${i}`, assume_role_policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) },
        after: { name: `r${i}`, assume_role_policy: policy },
        after_unknown: {},
        before_sensitive: {},
        after_sensitive: {},
      },
    });
  }
  return {
    format_version: '1.2',
    terraform_version: '1.11.4',
    planned_values: {},
    resource_changes: changes,
  } as PlanDocument;
}

describe('a plan of 3,000 changed roles', () => {
  const summary = summarizePlan(rolesPlan(3000));

  test('the Markdown stays under the limit with balanced folds; what does not fit is counted', () => {
    for (const maxChars of [65_536, 30_000, 5_000]) {
      const markdown = renderSummaryMarkdown(summary, { maxChars });
      expect(markdown.length).toBeLessThanOrEqual(maxChars);
      expect((markdown.match(/<details[ >]/g) ?? []).length).toBe(
        (markdown.match(/<\/details>/g) ?? []).length,
      );
    }
    const markdown = renderSummaryMarkdown(summary);
    expect(markdown).toMatch(
      /_\d+ more review\(s\) not shown here \(\d+ widen access, listed above\): see the job log\._/,
    );
    const folded = renderSummaryMarkdown(summary, { fold: true, maxChars: 20_000 });
    expect(folded.length).toBeLessThanOrEqual(20_000);
    expect(folded.trimEnd().endsWith('</details>')).toBe(true);
  });

  test('JSON and the console list every change and every widening update', () => {
    const json = JSON.parse(renderSummaryJson(summary)) as {
      changes: unknown[];
      widens: Array<{ address: string }>;
    };
    expect(json.changes).toHaveLength(3000);
    // Updated roles gain a principal (widening); created roles trust a named account (not called out).
    expect(new Set(json.widens.map((w) => w.address)).size).toBe(1500);
    const text = renderSummaryText(summary, { maxAddresses: 100_000 });
    for (let i = 0; i < 3000; i += 1) expect(text.includes(`aws_iam_role.r${i}\n`)).toBe(true);
  });
});
