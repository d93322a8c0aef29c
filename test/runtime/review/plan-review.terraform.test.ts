/**
 * The review on real plans of Gantry's own stacks, made by the real Terraform offline: a first plan
 * of the synthesized stack (everything created), then a second plan with `-refresh=false` over a
 * prior state built from the first plan's planned values (see prior-state.ts), with the prior state
 * or the configuration edited the way a pull request would change things. Every expectation is
 * derived from the synthesized JSON or the plan itself, never copied from a run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeWithTerraform, OfflineTerraform, type PlanJson } from '../../terraform-harness';
import { synthApp, type StackJson } from '../../util';
import { cleanEnv } from '../env';
import { gantry, tempDir } from '../helpers';
import {
  awsSchemas,
  editStack,
  plannedResources,
  resourceAt,
  writePriorState,
  type PlannedResource,
  type ProviderSchemas,
} from './prior-state';

type Json = Record<string, unknown>;

interface Statement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Statement: Statement[];
}

interface SummaryJson {
  format: string;
  changes: Array<{ address: string; action: string; constructPath: string | null }>;
  widens: Array<{ address: string; text: string }>;
  trustFindings: Array<{ address: string; text: string }>;
  notReviewable: Array<{ address: string; text: string }>;
  reviews: Array<{
    kind: string;
    address: string;
    action: string;
    documentKind?: string;
    policy?: string;
    roleKind?: string;
    trustFindings?: Array<{ invariant: number; message: string }>;
    before?: string;
    after?: string;
    widens: string[];
    unchangedStatements?: number;
    statements?: Array<{
      sid?: string;
      effect: string;
      change: string;
      actions: { added: string[]; removed: string[]; kept: string[] };
      principals: { added: string[] };
      conditions: { added: string[]; removed: string[]; kept: string[] };
      widens: string[];
    }>;
    containers?: Array<{
      name: string;
      change: string;
      image?: { before?: { repository: string; tag: string }; after?: { repository: string; tag: string } };
      environment: { added: string[]; removed: string[]; changed: string[] };
      secrets: { added: string[]; removed: string[]; changed: string[] };
    }>;
    rules?: { added: string[]; removed: string[] };
    conditions?: { added: string[]; removed: string[] };
  }>;
}

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The resource of a synthesized stack whose construct path ends with `suffix`. */
function byPath(stack: StackJson, suffix: string): { address: string; body: Json; path: string } {
  for (const [type, byName] of Object.entries(stack.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) {
      const p = ((body['//'] as Json | undefined)?.metadata as Json | undefined)?.path;
      if (typeof p === 'string' && p.endsWith(suffix)) return { address: `${type}.${name}`, body, path: p };
    }
  }
  throw new Error(`no resource at */${suffix}`);
}

/** Every construct path of a synthesized stack, by address. */
function constructPaths(stack: StackJson): Map<string, string> {
  const out = new Map<string, string>();
  for (const [type, byName] of Object.entries(stack.resource ?? {}))
    for (const [name, body] of Object.entries(byName)) {
      const p = ((body['//'] as Json | undefined)?.metadata as Json | undefined)?.path;
      if (typeof p === 'string') out.set(`${type}.${name}`, p);
    }
  return out;
}

interface Outputs {
  readonly text: string;
  readonly markdown: string;
  readonly json: SummaryJson;
  readonly raw: string;
}

/** `gantry show` of a plan JSON file in its three forms (in an environment that knows no secret). */
async function show(planFile: string, stackDir?: string): Promise<Outputs> {
  const extra = stackDir ? ['--stack-dir', stackDir] : [];
  const text = await gantry(['show', planFile, ...extra], {});
  const markdown = await gantry(['show', planFile, '--markdown', ...extra], {});
  const json = await gantry(['show', planFile, '--json', ...extra], {});
  for (const r of [text, markdown, json]) expect([r.code, r.stderr]).toEqual([0, '']);
  return {
    text: text.stdout,
    markdown: markdown.stdout,
    json: JSON.parse(json.stdout) as SummaryJson,
    raw: json.stdout,
  };
}

function writePlan(tf: OfflineTerraform, planFile: string): { file: string; plan: PlanJson; text: string } {
  const text = tf.mustRun(['show', '-json', '-no-color', planFile]).stdout;
  const file = path.join(tf.dir, `${planFile}.json`);
  fs.writeFileSync(file, text);
  return { file, plan: JSON.parse(text) as PlanJson, text };
}

function policyOf(value: unknown): Policy {
  return JSON.parse(String(value)) as Policy;
}

describeWithTerraform('plan review on real plans of dev-foundation', () => {
  let stackDir: string;
  let stack: StackJson;
  let tf: OfflineTerraform;
  let first: { file: string; plan: PlanJson; text: string };
  let planJsonOut: SummaryJson;
  let planStderr: string;
  let schemas: ProviderSchemas;
  let prior: PlannedResource[];

  beforeAll(async () => {
    stackDir = path.join(synthApp(), 'stacks', 'dev-foundation');
    stack = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as StackJson;
    tf = OfflineTerraform.prepare(stackDir);
    // The first plan through gantry itself, asking for the structured summary on stdout.
    const planned = await gantry(
      ['plan', 'dev-foundation', '--dir', tf.dir, '--json'],
      cleanEnv(tf.env, {
        GANTRY_LEDGER_URL: `pglite:${tempDir('review-ledger')}`,
        GANTRY_COMMIT_SHA: 'a'.repeat(40),
      }),
    );
    expect([planned.code, planned.stderr.slice(-400)]).toEqual([0, expect.any(String)]);
    planJsonOut = JSON.parse(planned.stdout) as SummaryJson;
    planStderr = planned.stderr;
    first = writePlan(tf, 'gantry.tfplan');
    schemas = awsSchemas(tf);
    prior = plannedResources(first.plan as never, schemas);
  });

  afterAll(() => tf?.dispose());

  test('gantry plan --json prints only the structured summary on stdout; Terraform streams to stderr', () => {
    expect(planJsonOut.format).toBe('gantry.plan-summary/1');
    expect(planStderr).toMatch(/^\[dev-foundation plan \+\d+\.\d+s\] /m);
    expect(planJsonOut.changes.map((c) => c.address).sort()).toEqual(
      (first.plan.resource_changes ?? []).map((rc) => rc.address).sort(),
    );
    // The dir holds cdk.tf.json, so the plan run knows the construct paths too.
    const apply = byPath(stack, '/deploy-roles/apply');
    expect(planJsonOut.changes.find((c) => c.address === apply.address)?.constructPath).toBe(apply.path);
  });

  test('every address of a 40-resource plan appears, by action and construct, in every form', async () => {
    const changes = first.plan.resource_changes ?? [];
    expect(changes.length).toBeGreaterThanOrEqual(40);
    const out = await show(first.file, stackDir);
    const paths = constructPaths(stack);
    for (const rc of changes) {
      expect(out.text).toContain(`+ ${rc.address}\n`);
      expect(out.markdown).toContain(`\`${rc.address}\``);
    }
    expect(out.json.changes).toEqual(
      changes.map((rc) => ({
        address: rc.address,
        type: rc.type,
        action: 'create',
        constructPath: paths.get(rc.address),
      })),
    );
    // Grouped by construct: the construct's line, then its resources.
    const apply = byPath(stack, '/deploy-roles/apply');
    const plan = byPath(stack, '/deploy-roles/plan');
    const group = out.text.split('\n  dev-foundation/deploy-roles\n')[1]?.split(/\n  \S/)[0] ?? '';
    expect(group).toContain(`+ ${apply.address}`);
    expect(group).toContain(`+ ${plan.address}`);
    expect(out.markdown).toContain(`- \`dev-foundation/deploy-roles\`: `);
    expect(out.markdown.length).toBeLessThanOrEqual(65_536);

    // Without the stack's metadata: addresses only.
    const bare = await show(first.file);
    for (const rc of changes) expect(bare.text).toContain(`+ ${rc.address}\n`);
    expect(bare.text).not.toContain('dev-foundation/deploy-roles');
    expect(bare.json.changes.every((c) => c.constructPath === null)).toBe(true);
  });

  test('a created role lists its trust statement and its actions, and passes the trust check', async () => {
    const out = await show(first.file, stackDir);
    const role = byPath(stack, '/deploy-roles/apply');
    const inline = byPath(stack, '/deploy-roles/apply-inline');
    const trust = policyOf(role.body.assume_role_policy).Statement[0];
    const name = String(role.body.name);

    const head = `+ ${role.address}: trust policy of role ${name}, new (1 Allow) [${role.path}]`;
    expect(out.text).toContain(head);
    const block = out.text.split(head)[1].split('\n  + ')[0];
    expect(block).toContain(`+ Allow Sid "${trust.Sid}"`);
    expect(block).toContain(`+     principal Federated ${(trust.Principal as Json).Federated as string}`);
    expect(block).toContain(`+     action ${String(trust.Action)}`);
    for (const [operator, keys] of Object.entries(trust.Condition ?? {}))
      for (const [key, values] of Object.entries(keys))
        for (const v of asList(values))
          expect(block).toContain(`+     condition ${operator} ${key} ${JSON.stringify(v)}`);
    expect(block).toContain('trust check (apply role): passes SECURITY.md 1-6');

    // The role's inline policy: every action of every statement.
    const inlineHead = `+ ${inline.address}: inline policy "${String(inline.body.name)}" of role ${name}, new`;
    expect(out.text).toContain(inlineHead);
    const inlineBlock = out.text.split(inlineHead)[1].split('\n  + ')[0];
    const statements = policyOf(inline.body.policy).Statement;
    for (const s of statements) {
      expect(inlineBlock).toContain(`+ ${s.Effect} Sid "${s.Sid}"`);
      for (const a of asList(s.Action)) expect(inlineBlock).toContain(`+     action ${a}`);
    }

    const review = out.json.reviews.find((r) => r.address === role.address && r.documentKind === 'trust')!;
    expect(review).toMatchObject({
      kind: 'policy',
      action: 'create',
      roleKind: 'apply',
      trustFindings: [],
      widens: [],
    });
    expect(review.statements?.[0].actions.added).toEqual([String(trust.Action)]);
    expect(out.markdown).toContain(
      `<summary><code>${head.replace(` [${role.path}]`, '')}</code> (${role.path})</summary>`,
    );
    expect(out.markdown).toContain(`+     action ${String(trust.Action)}`);
  });

  describe('over a prior state', () => {
    const canary = 'ext-id-CANARY-7f3kQ9';
    let second: { file: string; plan: PlanJson; text: string };
    let out: Outputs;
    let planRole: ReturnType<typeof byPath>;
    let applyRole: ReturnType<typeof byPath>;
    let applyInline: ReturnType<typeof byPath>;
    let projectRole: ReturnType<typeof byPath>;
    const removedDeny = 'DenyOverrideServiceRole';

    beforeAll(async () => {
      planRole = byPath(stack, '/deploy-roles/plan');
      applyRole = byPath(stack, '/deploy-roles/apply');
      applyInline = byPath(stack, '/deploy-roles/apply-inline');
      projectRole = byPath(stack, '/deploy-project/role');
      // What exists: the stack as the first plan would have applied it.
      writePriorState(tf, prior, schemas);

      // What the change wants.
      editStack(tf, (s) => {
        const resources = s.resource as Record<string, Record<string, Json>>;
        // The default-branch plan role widened to pull requests: a second subject.
        const [, planName] = planRole.address.split('.');
        const planTrust = policyOf(resources.aws_iam_role[planName].assume_role_policy);
        const subs = planTrust.Statement[0].Condition!.StringEquals;
        subs['token.actions.githubusercontent.com:sub'] = [
          ...asList(subs['token.actions.githubusercontent.com:sub']),
          'repo:acme/platform:pull_request',
        ];
        resources.aws_iam_role[planName].assume_role_policy = JSON.stringify(planTrust);
        // A Deny taken out of the apply role's inline policy.
        const [, inlineName] = applyInline.address.split('.');
        const inline = policyOf(resources.aws_iam_role_policy[inlineName].policy);
        inline.Statement = inline.Statement.filter((st) => st.Sid !== removedDeny);
        resources.aws_iam_role_policy[inlineName].policy = JSON.stringify(inline);
        // A wildcard owner in the apply role's subject (the trust checker's invariant 3).
        const [, applyName] = applyRole.address.split('.');
        resources.aws_iam_role[applyName].assume_role_policy = String(
          resources.aws_iam_role[applyName].assume_role_policy,
        ).replace('repo:acme/platform:environment:dev', 'repo:acme/*:environment:dev');
        // A sensitive external id in the deploy project role's trust policy: the planned policy is sensitive.
        const [, projectName] = projectRole.address.split('.');
        const projectTrust = policyOf(resources.aws_iam_role[projectName].assume_role_policy);
        projectTrust.Statement[0].Condition!.StringEquals['sts:ExternalId'] = '${var.external_id}';
        resources.aws_iam_role[projectName].assume_role_policy = JSON.stringify(projectTrust);
        s.variable = {
          ...((s.variable as Json | undefined) ?? {}),
          external_id: { type: 'string', sensitive: true },
        };
      });
      tf.plan('second.tfplan', ['-refresh=false', '-var', `external_id=${canary}`]);
      second = writePlan(tf, 'second.tfplan');
      out = await show(second.file, tf.dir);
    });

    test('the second plan updates what the edits changed', () => {
      const actions = new Map(
        (second.plan.resource_changes ?? []).map((rc) => [rc.address, rc.change.actions.join('+')]),
      );
      for (const r of [planRole, applyRole, applyInline, projectRole])
        expect([r.address, actions.get(r.address)]).toEqual([r.address, 'update']);
    });

    test('a changed trust policy that adds a sub is flagged as widening', () => {
      const added = 'StringEquals token.actions.githubusercontent.com:sub "repo:acme/platform:pull_request"';
      const review = out.json.reviews.find(
        (r) => r.address === planRole.address && r.documentKind === 'trust',
      )!;
      expect(review.statements).toHaveLength(1);
      expect(review.statements?.[0]).toMatchObject({
        change: 'changed',
        conditions: { added: [added], removed: [] },
      });
      expect(review.statements?.[0].widens).toEqual([`adds a value to condition ${added}`]);
      expect(review.trustFindings).toEqual([]);
      const reason = `trust policy of role ${String(planRole.body.name)}, Sid "${policyOf(planRole.body.assume_role_policy).Statement[0].Sid}": adds a value to condition ${added}`;
      expect(out.json.widens).toContainEqual({
        address: planRole.address,
        constructPath: planRole.path,
        text: reason,
      });
      expect(out.text).toContain(`!!   ${planRole.address} [${planRole.path}]: ${reason}`);
      expect(out.text).toContain(`+     condition ${added}`);
      expect(out.text).toContain(`!     WIDENS: adds a value to condition ${added}`);
      expect(out.markdown).toContain('> [!WARNING]');
      expect(out.markdown).toContain(`> - \`${planRole.address}\` (\`${planRole.path}\`): \`${reason}\``);
    });

    test('a removed Deny is flagged', () => {
      const review = out.json.reviews.find((r) => r.address === applyInline.address)!;
      const statements = policyOf(applyInline.body.policy).Statement;
      expect(review.statements).toEqual([
        expect.objectContaining({
          sid: removedDeny,
          effect: 'Deny',
          change: 'removed',
          widens: ['removes a Deny statement'],
        }),
      ]);
      expect(review.unchangedStatements).toBe(statements.length - 1);
      expect(out.text).toContain(`- Deny Sid "${removedDeny}"`);
      expect(out.json.widens.map((w) => w.text)).toContainEqual(
        expect.stringContaining(`Sid "${removedDeny}": removes a Deny statement`),
      );
    });

    test('the trust-policy checker runs on the planned trust policies', () => {
      const review = out.json.reviews.find(
        (r) => r.address === applyRole.address && r.documentKind === 'trust',
      )!;
      expect(review.roleKind).toBe('apply');
      expect(review.trustFindings?.map((f) => f.invariant)).toContain(3);
      expect(review.widens.join('\n')).toContain(
        'adds a wildcard value to condition StringEquals token.actions.githubusercontent.com:sub "repo:acme/*:environment:dev"',
      );
      expect(out.text).toContain('!! TRUST POLICY CHECK FAILS');
      expect(out.text).toMatch(
        new RegExp(`!!   ${applyRole.address.replace(/[.*]/g, '\\$&')} .*invariant 3: `),
      );
      expect(out.markdown).toContain('**Trust policy check fails (');
    });

    test('a sensitive policy is never printed, and said to be so; its value appears in no output', () => {
      expect(second.text).toContain(canary); // the plan holds it in clear
      const review = out.json.reviews.find(
        (r) => r.address === projectRole.address && r.documentKind === 'trust',
      )!;
      expect(review).toMatchObject({ before: 'known', after: 'sensitive', statements: [] });
      expect(out.json.notReviewable).toContainEqual(
        expect.objectContaining({
          address: projectRole.address,
          text: expect.stringContaining('marked sensitive in the plan, not shown'),
        }),
      );
      for (const [form, text] of Object.entries({ text: out.text, markdown: out.markdown, json: out.raw }))
        expect([form, text.includes(canary)]).toEqual([form, false]);
    });

    test('a saved plan read with --dir is summarized the same, construct paths from that dir', async () => {
      const saved = await gantry(
        ['show', path.join(tf.dir, 'second.tfplan'), '--dir', tf.dir, '--json'],
        cleanEnv(tf.env),
      );
      expect(saved.code).toBe(0);
      const json = JSON.parse(saved.stdout) as SummaryJson;
      expect(json.widens).toEqual(out.json.widens);
      expect(json.changes.find((c) => c.address === planRole.address)?.constructPath).toBe(planRole.path);
      expect(saved.stdout).not.toContain(canary);
    });
  });
});

describeWithTerraform('plan review on real plans of dev-services', () => {
  const canaries = {
    priorLogLevel: 'loglevel-CANARY-Pq81',
    removed: 'removed-value-CANARY-x7Lm',
    added: 'added-value-CANARY-Zt42',
    valueFrom: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:valuefrom-CANARY-44',
  };
  let stack: StackJson;
  let tf: OfflineTerraform;
  let second: { file: string; plan: PlanJson; text: string };
  let out: Outputs;
  let task: ReturnType<typeof byPath>;
  let group: ReturnType<typeof byPath>;
  let rule: ReturnType<typeof byPath>;
  let oldTag: string;
  const newTag = 'v9.8.7';

  beforeAll(async () => {
    const stackDir = path.join(synthApp(), 'stacks', 'dev-services');
    stack = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as StackJson;
    task = byPath(stack, '/api/task');
    group = byPath(stack, '/api/security-group');
    rule = byPath(stack, '/api/listener-rule');
    oldTag = String((stack.variable?.image_tag_api as Json).default);
    tf = OfflineTerraform.prepare(stackDir);
    tf.init();
    tf.plan('first.tfplan');
    const first = writePlan(tf, 'first.tfplan');
    const schemas = awsSchemas(tf);
    const prior = plannedResources(first.plan as never, schemas);
    // What runs: LOG_LEVEL had another value, a variable since removed, a secret from another ARN.
    const existing = resourceAt(prior, task.address);
    const containers = JSON.parse(String(existing.values.container_definitions)) as Array<
      Json & { environment: Json[]; secrets: Json[] }
    >;
    const api = containers.find((c) => c.name === 'api')!;
    api.environment = [
      ...api.environment.map((e) => (e.name === 'LOG_LEVEL' ? { ...e, value: canaries.priorLogLevel } : e)),
      { name: 'FEATURE_OLD', value: canaries.removed },
    ];
    api.secrets = api.secrets.map((s) => ({ ...s, valueFrom: canaries.valueFrom }));
    existing.values.container_definitions = JSON.stringify(containers);
    writePriorState(tf, prior, schemas);
    // The change: a new variable, ingress from anywhere, another host.
    editStack(tf, (s) => {
      const resources = s.resource as Record<string, Record<string, Json>>;
      const [, taskName] = task.address.split('.');
      const defs = JSON.parse(
        String(resources.aws_ecs_task_definition[taskName].container_definitions),
      ) as Array<Json & { environment: Json[] }>;
      defs.find((c) => c.name === 'api')!.environment.push({ name: 'CANARY_SEED', value: canaries.added });
      resources.aws_ecs_task_definition[taskName].container_definitions = JSON.stringify(defs);
      const [, groupName] = group.address.split('.');
      const ingress = resources.aws_security_group[groupName].ingress as Json[];
      ingress.push({
        ...ingress[0],
        description: 'anyone',
        cidr_blocks: ['0.0.0.0/0'],
        security_groups: null,
        from_port: 443,
        to_port: 443,
      });
      const [, ruleName] = rule.address.split('.');
      const condition = resources.aws_lb_listener_rule[ruleName].condition as Array<{
        host_header: { values: string[] };
      }>;
      condition[0].host_header.values = ['api-next.dev.acme.example'];
    });
    tf.plan('second.tfplan', ['-refresh=false', '-var', `image_tag_api=${newTag}`]);
    second = writePlan(tf, 'second.tfplan');
    out = await show(second.file, tf.dir);
  });

  afterAll(() => tf?.dispose());

  test('a changed container image shows the old and new tag and no environment value', () => {
    expect(second.plan.resource_changes?.find((rc) => rc.address === task.address)?.change.actions).toEqual([
      'delete',
      'create',
    ]);
    const review = out.json.reviews.find((r) => r.address === task.address && r.kind === 'containers')!;
    const api = review.containers!.find((c) => c.name === 'api')!;
    const repository = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api';
    expect(api).toMatchObject({
      change: 'changed',
      image: { before: { repository, tag: oldTag }, after: { repository, tag: newTag } },
      environment: { added: ['CANARY_SEED'], removed: ['FEATURE_OLD'], changed: ['LOG_LEVEL'] },
      secrets: { added: [], removed: [], changed: ['DATABASE_URL'] },
    });
    expect(out.text).toContain(`~ container api: image ${repository} tag ${oldTag} -> ${newTag}`);
    expect(out.text).toContain('environment (names only): +CANARY_SEED -FEATURE_OLD ~LOG_LEVEL');
    expect(out.markdown).toContain(`image ${repository} tag ${oldTag} -> ${newTag}`);
    for (const value of Object.values(canaries)) expect(second.text).toContain(value);
    for (const [form, text] of Object.entries({ text: out.text, markdown: out.markdown, json: out.raw }))
      for (const value of Object.values(canaries))
        expect([form, value, text.includes(value)]).toEqual([form, value, false]);
  });

  test('security group rules and listener rules are shown as rules; ingress from anywhere widens', () => {
    const sg = out.json.reviews.find((r) => r.address === group.address)!;
    expect(sg.rules?.added).toEqual(['ingress tcp port 443 from 0.0.0.0/0']);
    expect(sg.widens).toEqual(['ingress from the internet: ingress tcp port 443 from 0.0.0.0/0']);
    const lr = out.json.reviews.find((r) => r.address === rule.address)!;
    expect(lr.conditions).toMatchObject({
      added: ['host api-next.dev.acme.example'],
      removed: ['host api.dev.acme.example'],
    });
    expect(out.text).toContain('-     if host api.dev.acme.example');
    expect(out.text).toContain('+     if host api-next.dev.acme.example');
  });
});
