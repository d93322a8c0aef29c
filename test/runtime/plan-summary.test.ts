/**
 * The plan summary on the real `terraform show -json` fixtures (counts checked against the
 * fixtures' own INDEX.md), replacement in both orders, protected destroys, and the Markdown and
 * step-summary limits on a 10,000-resource plan.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summarizePlan, type PlanDocument, type PlanResourceChange } from '../../lib/runtime/plan-summary';
import { preventDestroyAddresses } from '../../lib/runtime/stack';
import { appendStepSummary, STEP_SUMMARY_BYTES } from '../../lib/runtime/step-summary';
import { renderSummaryMarkdown, renderSummaryText } from '../../lib/runtime/summary-render';
import { tempDir } from './helpers';
import { PLAN_FIXTURES } from '../util';

const FIXTURES = PLAN_FIXTURES;
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** INDEX.md's table: file -> "read:1, create:3" style action counts. */
function indexTable(): Array<{ file: string; actions: Record<string, number> }> {
  return fs
    .readFileSync(path.join(FIXTURES, 'INDEX.md'), 'utf8')
    .split('\n')
    .filter((line) => /^\| \S+plan\.json \|/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim());
      const actions: Record<string, number> = {};
      for (const part of cells[6] === '-' ? [] : cells[6].split(', ')) {
        const [action, n] = part.split(':');
        actions[action] = Number(n);
      }
      return { file: cells[1], actions };
    });
}

describe('summarizePlan on the fixtures', () => {
  const rows = indexTable();

  test('INDEX.md lists every plan fixture', () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('plan.json'));
    expect(rows.map((r) => r.file).sort()).toEqual(files.sort());
  });

  test.each(rows)('$file: counts match the index', ({ file, actions }) => {
    const summary = summarizePlan(fixture(file));
    expect(summary.counts).toEqual({
      create: actions.create ?? 0,
      update: actions.update ?? 0,
      delete: actions.delete ?? 0,
      replace: actions['delete+create'] ?? 0,
      read: actions.read ?? 0,
    });
    const changes =
      (actions.create ?? 0) + (actions.update ?? 0) + (actions.delete ?? 0) + (actions['delete+create'] ?? 0);
    expect(summary.noChanges).toBe(changes === 0);
  });

  test('replaced and destroyed addresses, and a loud warning for the destroyed bucket', () => {
    const summary = summarizePlan(fixture('tf1.11.4-aws5.100.0__update-replace-delete__plan.json'));
    expect(summary.replaced).toEqual(['aws_iam_role.deploy']);
    expect(summary.destroyed).toEqual(['aws_s3_bucket.legacy']);
    expect(summary.updated).toEqual(['aws_iam_openid_connect_provider.gh']);
    expect(summary.protectedDestroys).toEqual([
      {
        address: 'aws_s3_bucket.legacy',
        type: 'aws_s3_bucket',
        reason: 'data store (S3 bucket)',
        action: 'delete',
      },
    ]);
    const text = renderSummaryText(summary);
    expect(text).toContain('!! WARNING: this plan destroys 1 protected resource(s); their data is lost');
    expect(text).toContain('!!   DESTROYS aws_s3_bucket.legacy: data store (S3 bucket)');
    expect(text).toMatch(/name: "app-deploy-old" -> "app-prod-deploy" # forces replacement/);
    const markdown = renderSummaryMarkdown(summary, { title: 'Terraform plan: prod-foundation' });
    expect(markdown).toContain('> [!CAUTION]');
    expect(markdown).toContain('> - DESTROYS aws_s3_bucket.legacy: data store (S3 bucket)');
    expect(markdown).toContain('**Replaced:** `aws_iam_role.deploy`');
  });

  test('a replacement is counted in both orders (create_before_destroy too)', () => {
    const plan = JSON.parse(fixture('tf1.11.4-aws5.100.0__update-replace-delete__plan.json')) as PlanDocument;
    const flipped: PlanDocument = {
      ...plan,
      resource_changes: plan.resource_changes?.map((rc) =>
        rc.change.actions.join() === 'delete,create'
          ? { ...rc, change: { ...rc.change, actions: ['create', 'delete'] } }
          : rc,
      ),
    };
    expect(summarizePlan(flipped).counts.replace).toBe(1);
    expect(summarizePlan(flipped).replaced).toEqual(['aws_iam_role.deploy']);
  });

  test('resources declared with prevent_destroy are warned about when replaced', () => {
    const dir = tempDir('prevent');
    fs.writeFileSync(
      path.join(dir, 'cdk.tf.json'),
      JSON.stringify({
        resource: {
          aws_iam_role: { deploy: { name: 'x', lifecycle: { prevent_destroy: true } }, other: { name: 'y' } },
        },
      }),
    );
    const protectedAddresses = preventDestroyAddresses(dir);
    expect(protectedAddresses).toEqual(['aws_iam_role.deploy']);
    const summary = summarizePlan(fixture('tf1.11.4-aws5.100.0__update-replace-delete__plan.json'), {
      protectedAddresses,
    });
    expect(summary.protectedDestroys.map((p) => [p.address, p.reason, p.action])).toEqual([
      ['aws_iam_role.deploy', 'prevent_destroy', 'replace'],
      ['aws_s3_bucket.legacy', 'data store (S3 bucket)', 'delete'],
    ]);
  });

  test('input that is not plan JSON is rejected with what was expected', () => {
    expect(() => summarizePlan('[1,2]')).toThrow(
      'summarizePlan: expected the JSON object printed by `terraform show -json <planfile>`',
    );
  });
});

/** A plan of `n` resources cycling through every action, from a real fixture's shapes. */
function bigPlan(n: number): { plan: PlanDocument; expected: Record<string, number> } {
  const actions: string[][] = [
    ['create'],
    ['update'],
    ['delete', 'create'],
    ['delete'],
    ['read'],
    ['no-op'],
    ['create', 'delete'],
  ];
  const expected = { create: 0, update: 0, delete: 0, replace: 0, read: 0 };
  const changes: PlanResourceChange[] = [];
  for (let i = 0; i < n; i++) {
    const a = actions[i % actions.length];
    const type = i % 11 === 0 ? 'aws_kms_key' : 'aws_iam_role';
    changes.push({
      address: `${type}.r${i}`,
      type,
      mode: a[0] === 'read' ? 'data' : 'managed',
      change: {
        actions: a,
        before:
          a[0] === 'create' && a.length === 1
            ? null
            : { name: `before-${i}`, description: 'x'.repeat(300), tags: { n: String(i) } },
        after:
          a[0] === 'delete' && a.length === 1
            ? null
            : { name: `after-${i}`, description: 'y'.repeat(300), tags: { n: String(i) } },
        after_unknown: {},
        before_sensitive: {},
        after_sensitive: {},
      },
    });
    if (a.length === 2) expected.replace += 1;
    else if (a[0] !== 'no-op') expected[a[0] as keyof typeof expected] += 1;
  }
  return {
    plan: { format_version: '1.2', terraform_version: '1.11.4', resource_changes: changes },
    expected,
  };
}

describe('a 10,000-resource plan', () => {
  const { plan, expected } = bigPlan(10_000);
  const summary = summarizePlan(JSON.stringify(plan));

  test('every resource is counted, details are capped', () => {
    expect(summary.counts).toEqual(expected);
    expect(summary.details).toHaveLength(200);
    expect(summary.detailsOmitted).toBe(expected.update + expected.replace - 200);
    expect(summary.protectedDestroys.length).toBeGreaterThan(0);
    expect(summary.protectedDestroys.every((p) => p.type === 'aws_kms_key')).toBe(true);
  });

  test("the Markdown stays within GitHub's comment limit, cut at a line with a note and closed details", () => {
    const markdown = renderSummaryMarkdown(summary, { maxAddresses: 100_000 });
    expect(markdown.length).toBeLessThanOrEqual(65_536);
    expect(markdown).toMatch(/> Summary truncated: \d+ characters exceed the limit of 65536\./);
    const opened = (markdown.match(/<details[ >]/g) ?? []).length;
    expect((markdown.match(/<\/details>/g) ?? []).length).toBe(opened);
    for (const limit of [300, 1000, 5000]) {
      expect(renderSummaryMarkdown(summary, { maxChars: limit }).length).toBeLessThanOrEqual(limit);
    }
  });

  test('the step summary file never grows past 1 MiB', () => {
    const file = path.join(tempDir('step'), 'summary.md');
    fs.writeFileSync(file, 'x'.repeat(STEP_SUMMARY_BYTES - 10_000));
    const written = appendStepSummary(file, renderSummaryMarkdown(summary, { maxAddresses: 100_000 }));
    expect(written).toContain('Summary truncated');
    expect(fs.statSync(file).size).toBeLessThanOrEqual(STEP_SUMMARY_BYTES);
    // Full: nothing more is appended.
    fs.writeFileSync(file, 'x'.repeat(STEP_SUMMARY_BYTES - 50));
    expect(appendStepSummary(file, '### more')).toBe('');
    expect(fs.statSync(file).size).toBe(STEP_SUMMARY_BYTES - 50);
  });
});
