/**
 * A prior state for `terraform plan -refresh=false`, built from a first plan of the same stack, so
 * that real Terraform makes plans with a before and an after offline (AWS resources cannot be
 * applied without AWS). Every planned resource goes into a version-4 state with its planned
 * values; values known only after apply are filled in: a reference to another resource's
 * attribute (`${aws_kms_key.k.arn}`) gets that resource's filled value, so the second plan sees
 * the same wiring, and anything else a fake of the schema's type (`arn:aws:...` for ARNs). A test
 * then edits the state (what exists) or the configuration (what the change wants) and plans again.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planCacheDir } from '../../plan-cache';
import { terraformVersion, type OfflineTerraform } from '../../terraform-harness';

type Json = Record<string, unknown>;

interface SchemaBlock {
  readonly attributes?: Record<string, { readonly type: unknown }>;
  readonly block_types?: Record<string, { readonly nesting_mode: string; readonly block: SchemaBlock }>;
}

export interface ProviderSchemas {
  readonly resources: Record<string, { readonly version: number; readonly block: SchemaBlock }>;
}

/**
 * `terraform providers schema -json` of an initialised directory (hashicorp/aws only), kept beside
 * the plan cache by Terraform version: the schema is the provider's (5.100.0, the only one the mirror
 * holds), not the directory's.
 */
export function awsSchemas(tf: OfflineTerraform): ProviderSchemas {
  const file = path.join(planCacheDir(), `aws-5.100.0-schemas-terraform-${terraformVersion()}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as ProviderSchemas;
  const out = JSON.parse(tf.mustRun(['providers', 'schema', '-json']).stdout) as {
    provider_schemas: Record<string, { resource_schemas: ProviderSchemas['resources'] }>;
  };
  const schemas = { resources: out.provider_schemas['registry.terraform.io/hashicorp/aws'].resource_schemas };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, JSON.stringify(schemas));
  fs.renameSync(partial, file);
  return schemas;
}

/** One planned resource of a first plan. */
export interface PlannedResource {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  /** The values the state will hold; tests edit them before `writePriorState`. */
  values: Json;
}

interface PlanJson {
  readonly resource_changes?: ReadonlyArray<{
    readonly address: string;
    readonly mode: string;
    readonly type: string;
    readonly name: string;
    readonly change: { readonly after?: unknown; readonly after_unknown?: unknown };
  }>;
  readonly configuration?: { readonly root_module?: { readonly resources?: ReadonlyArray<Json> } };
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function fakeOf(type: unknown, key: string, resource: { type: string; name: string }): unknown {
  if (type === 'string') {
    if (key === 'arn' || key.endsWith('_arn')) {
      const service = resource.type.split('_')[1] ?? 'x';
      return `arn:aws:${service}:eu-west-1:111111111111:${resource.type}/${resource.name}`;
    }
    return `${resource.name}-${key}`;
  }
  if (type === 'number') return 0;
  if (type === 'bool') return false;
  if (Array.isArray(type))
    return type[0] === 'map' || type[0] === 'object' ? (type[0] === 'map' ? {} : null) : [];
  return null;
}

/**
 * What AWS would return for computed attributes whose fake the provider rejects and replans (a
 * target group's `protocol_version` must be one of GRPC, HTTP1, HTTP2, and changing it replaces).
 */
const KNOWN_DEFAULTS: Readonly<Record<string, unknown>> = {
  'aws_lb_target_group.protocol_version': 'HTTP1',
};

/** `${aws_x.y.attr}` pieces of a configuration template. */
const REFERENCE = /\$\{((?:data\.)?aws_[A-Za-z0-9_]+\.[A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}/;
const REFERENCES = new RegExp(REFERENCE.source, 'g');

/** A template made of resource references and literal text only (no function calls). */
const isReferenceTemplate = (t: unknown): t is string =>
  typeof t === 'string' && REFERENCE.test(t) && !t.replace(REFERENCES, '').includes('${');

interface Pending {
  readonly target: Json;
  readonly key: string;
  readonly template: string;
}

/** Fills the unknowns of `values` (a resource's `after`) in place; records references to resolve. */
function fill(
  values: Json,
  unknown: unknown,
  block: SchemaBlock | undefined,
  expressions: unknown,
  resource: { type: string; name: string },
  pending: Pending[],
): void {
  if (!isObject(unknown)) return;
  for (const [key, u] of Object.entries(unknown)) {
    const expression = isObject(expressions) ? expressions[key] : undefined;
    const nested = block?.block_types?.[key];
    if (u === true) {
      const template = isObject(expression) ? expression.constant_value : undefined;
      if (isReferenceTemplate(template)) {
        pending.push({ target: values, key, template });
        continue;
      }
      if (Array.isArray(template) && template.length > 0 && template.every(isReferenceTemplate)) {
        // A whole list of references, e.g. `security_groups = ["${aws_security_group.x.id}"]`.
        const list = [...template];
        values[key] = list;
        list.forEach((t, i) =>
          pending.push({ target: list as unknown as Json, key: String(i), template: t }),
        );
        continue;
      }
      const known = KNOWN_DEFAULTS[`${resource.type}.${key}`];
      if (known !== undefined) {
        values[key] = known;
        continue;
      }
      values[key] = nested
        ? nested.nesting_mode === 'single' || nested.nesting_mode === 'group'
          ? null
          : []
        : fakeOf(block?.attributes?.[key]?.type, key, resource);
      continue;
    }
    if (Array.isArray(u) && Array.isArray(values[key])) {
      const list = values[key] as unknown[];
      const templates = isObject(expression) ? expression.constant_value : undefined;
      u.forEach((item, i) => {
        if (item === true) {
          // An element of a list attribute, e.g. `security_group_ids = ["${aws_security_group.x.id}"]`.
          const template = Array.isArray(templates) ? templates[i] : undefined;
          if (isReferenceTemplate(template))
            pending.push({ target: list as unknown as Json, key: String(i), template });
          else list[i] = `${resource.name}-${key}-${i}`;
          return;
        }
        if (isObject(list[i]))
          fill(
            list[i] as Json,
            item,
            nested?.block,
            Array.isArray(expression) ? expression[i] : undefined,
            resource,
            pending,
          );
      });
    } else if (isObject(u) && isObject(values[key])) {
      fill(values[key] as Json, u, nested?.block, expression, resource, pending);
    }
  }
}

/** Every managed resource of a first plan, with its unknowns filled in. */
export function plannedResources(plan: PlanJson, schemas: ProviderSchemas): PlannedResource[] {
  const config = new Map(
    (plan.configuration?.root_module?.resources ?? []).map((r) => [String(r.address), r.expressions]),
  );
  const pending: Pending[] = [];
  const resources: PlannedResource[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode !== 'managed') continue;
    const values = structuredClone(isObject(rc.change.after) ? rc.change.after : {});
    fill(
      values,
      rc.change.after_unknown,
      schemas.resources[rc.type]?.block,
      config.get(rc.address),
      rc,
      pending,
    );
    resources.push({ address: rc.address, type: rc.type, name: rc.name, values });
  }
  // References resolve to the referenced resource's (filled) values, in rounds for chains.
  const byAddress = new Map(resources.map((r) => [r.address, r.values]));
  const addressOf = new Map(resources.map((r) => [r.values, r.address]));
  const isPending = (address: string, attr: string) =>
    pending.some((p) => p.key === attr && addressOf.get(p.target) === address);
  for (let round = 0; round < 10 && pending.length > 0; round++) {
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i];
      let unresolved = false;
      const value = p.template.replace(REFERENCES, (whole, address: string, attr: string) => {
        const v = byAddress.get(address)?.[attr];
        if (typeof v !== 'string' || isPending(address, attr)) {
          unresolved = true;
          return whole;
        }
        return v;
      });
      if (!unresolved) {
        p.target[p.key] = value;
        pending.splice(i, 1);
      }
    }
  }
  if (pending.length > 0)
    throw new Error(`unresolved references: ${pending.map((p) => p.template).join(', ')}`);
  return resources;
}

/** Writes `resources` as the directory's local state (`terraform.tfstate`). */
export function writePriorState(
  tf: OfflineTerraform,
  resources: readonly PlannedResource[],
  schemas: ProviderSchemas,
): void {
  const state = {
    version: 4,
    terraform_version: '1.11.4',
    serial: 1,
    lineage: randomUUID(),
    outputs: {},
    resources: resources.map((r) => ({
      mode: 'managed',
      type: r.type,
      name: r.name,
      provider: 'provider["registry.terraform.io/hashicorp/aws"]',
      instances: [
        {
          schema_version: schemas.resources[r.type]?.version ?? 0,
          attributes: r.values,
          sensitive_attributes: [],
        },
      ],
    })),
    check_results: null,
  };
  fs.writeFileSync(path.join(tf.dir, 'terraform.tfstate'), JSON.stringify(state));
}

/** The resource of `resources` at `address` (throws naming the addresses when missing). */
export function resourceAt(resources: readonly PlannedResource[], address: string): PlannedResource {
  const found = resources.find((r) => r.address === address);
  if (!found)
    throw new Error(`${address} is not planned; planned: ${resources.map((r) => r.address).join(', ')}`);
  return found;
}

/** Reads, edits and writes back the directory's `cdk.tf.json` (the change a pull request would make). */
export function editStack(tf: OfflineTerraform, edit: (stack: Json) => void): void {
  const file = path.join(tf.dir, 'cdk.tf.json');
  const stack = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  edit(stack);
  fs.writeFileSync(file, JSON.stringify(stack, null, 2));
}
