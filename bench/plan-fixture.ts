/**
 * A large plan for the plan-summary benchmark, made from the real `terraform show -json` outputs in
 * `test/fixtures/terraform-plans/` (see its INDEX.md), those in the current plan format (1.x,
 * Terraform 1.11 with hashicorp/aws, as Gantry's runtime sees them; the 0.1-format ones hold
 * `null_resource`s a tenth of the size): their resource changes are replicated
 * under unique addresses (`aws_iam_role.deploy` -> `aws_iam_role.deploy_r00042`) until the plan holds
 * the wanted number, and each copy brings its planned value, prior state and configuration block
 * along, as a real plan of that many resources would.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './measure';

/** Where the fixtures are: `GANTRY_PLAN_FIXTURES`, else the repository's `test/fixtures/terraform-plans`. */
export function fixturesDir(): string | undefined {
  const candidates = [
    process.env.GANTRY_PLAN_FIXTURES,
    path.join(ROOT, 'test', 'fixtures', 'terraform-plans'),
  ].filter((c): c is string => !!c);
  return candidates.find(
    (dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('__plan.json')),
  );
}

type Json = Record<string, unknown>;

interface ModuleValues {
  resources?: Json[];
  child_modules?: ModuleValues[];
}

interface PlanJson extends Json {
  format_version: string;
  resource_changes?: Json[];
  planned_values?: { root_module?: ModuleValues };
  prior_state?: { values?: { root_module?: ModuleValues } };
  configuration?: { root_module?: { resources?: Json[] } };
}

interface Template {
  readonly change: Json;
  readonly planned?: Json;
  readonly prior?: Json;
  readonly config?: Json;
}

function moduleResources(module: ModuleValues | undefined): Json[] {
  if (!module) return [];
  return [...(module.resources ?? []), ...(module.child_modules ?? []).flatMap(moduleResources)];
}

function byAddress(resources: readonly Json[]): Map<string, Json> {
  return new Map(resources.map((r) => [String(r.address), r]));
}

/** The resource changes of every plan fixture, each with its companions from the same plan. */
function templates(dir: string): { base: PlanJson; templates: Template[]; files: string[] } {
  const plans = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('__plan.json'))
    .sort()
    .map((file) => ({ file, plan: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as PlanJson }))
    .filter(({ plan }) => !plan.format_version.startsWith('0.'));
  const files = plans.map((p) => p.file);
  const out: Template[] = [];
  let base: PlanJson | undefined;
  for (const { plan } of plans) {
    // The copies go into the plan with the most parts (prior state, output changes).
    if (!base || Object.keys(plan).length > Object.keys(base).length) base = plan;
    const planned = byAddress(moduleResources(plan.planned_values?.root_module));
    const prior = byAddress(moduleResources(plan.prior_state?.values?.root_module));
    const config = byAddress(plan.configuration?.root_module?.resources ?? []);
    for (const change of plan.resource_changes ?? []) {
      const address = String(change.address);
      out.push({
        change,
        planned: planned.get(address),
        prior: prior.get(address),
        config: change.module_address ? undefined : config.get(address.replace(/\[[^\]]*\]$/, '')),
      });
    }
  }
  if (!base || out.length === 0) throw new Error(`no plan with resource changes in ${dir}`);
  return { base, templates: out, files };
}

/** `value` with every occurrence of the resource's own address and name given the copy's suffix. */
function renamed(value: Json, name: string, suffix: string): Json {
  const text = JSON.stringify(value);
  const pattern = new RegExp(
    `("(?:address|name|previous_address)":"(?:[^"]*\\.)?)${name}(\\[[^"]*\\])?"`,
    'g',
  );
  return JSON.parse(
    text.replace(pattern, (_m, head: string, index = '') => `${head}${name}${suffix}${index}"`),
  ) as Json;
}

export interface GeneratedPlan {
  readonly file: string;
  readonly bytes: number;
  readonly resourceChanges: number;
  readonly actions: Record<string, number>;
  readonly fixtures: readonly string[];
}

/**
 * Writes a plan of at least `count` resource changes and at least `minBytes` to `file`: copies are
 * added until both hold.
 */
export function generatePlan(dir: string, file: string, count: number, minBytes = 0): GeneratedPlan {
  const { base, templates: pool, files } = templates(dir);
  const changes: Json[] = [];
  const planned: Json[] = [];
  const prior: Json[] = [];
  const config: Json[] = [];
  const actions: Record<string, number> = {};
  // Each element adds its own length and a comma (the first none: an upper bound of 4 bytes).
  let bytes = JSON.stringify(assemble(base, [], [], [], [])).length - 4;
  const add = (list: Json[], value: Json) => {
    list.push(value);
    bytes += JSON.stringify(value).length + 1;
  };
  for (let i = 0; i < count || bytes < minBytes; i++) {
    const t = pool[i % pool.length];
    const name = String(t.change.name);
    const suffix = `_r${String(i).padStart(6, '0')}`;
    const change = renamed(t.change, name, suffix);
    add(changes, change);
    const kind = ((change.change as Json).actions as string[]).join('+');
    actions[kind] = (actions[kind] ?? 0) + 1;
    if (t.planned) add(planned, renamed(t.planned, name, suffix));
    if (t.prior) add(prior, renamed(t.prior, name, suffix));
    if (t.config) add(config, renamed(t.config, name, suffix));
  }
  const plan = assemble(base, changes, planned, prior, config);
  // `terraform show -json` writes compact JSON.
  fs.writeFileSync(file, JSON.stringify(plan));
  return { file, bytes: fs.statSync(file).size, resourceChanges: changes.length, actions, fixtures: files };
}

/** The plan document `base` with its resource lists replaced. */
function assemble(base: PlanJson, changes: Json[], planned: Json[], prior: Json[], config: Json[]): PlanJson {
  return {
    ...base,
    planned_values: { ...base.planned_values, root_module: { resources: planned } },
    resource_changes: changes,
    ...(base.prior_state
      ? {
          prior_state: {
            ...base.prior_state,
            values: { ...base.prior_state.values, root_module: { resources: prior } },
          },
        }
      : {}),
    configuration: {
      ...base.configuration,
      root_module: { ...base.configuration?.root_module, resources: config },
    },
  };
}

/**
 * Writes a `cdk.tf.json` for the generated plan into `dir`: every managed resource with its planned
 * values and cdktf's `"//": { "metadata": { "path": ... } }`, under one of a few hundred constructs,
 * so the summary reads construct paths as `gantry plan` does from a synthesized stack.
 */
export function writeStackJson(
  planFile: string,
  dir: string,
): { readonly bytes: number; readonly constructs: number } {
  const plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as PlanJson;
  const resource: Record<string, Record<string, Json>> = {};
  const constructs = new Set<string>();
  moduleResources(plan.planned_values?.root_module).forEach((r, i) => {
    if (r.mode !== 'managed') return;
    const type = String(r.type);
    const name = String(r.name);
    const construct = `bench/construct-${String(i % 300).padStart(3, '0')}`;
    constructs.add(construct);
    resource[type] = resource[type] ?? {};
    resource[type][name] = {
      '//': { metadata: { path: `${construct}/${name}`, uniqueId: name } },
      ...((r.values as Json | undefined) ?? {}),
    };
  });
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'cdk.tf.json');
  fs.writeFileSync(file, JSON.stringify({ resource }, null, 2));
  return { bytes: fs.statSync(file).size, constructs: constructs.size };
}
