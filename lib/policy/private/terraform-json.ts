/**
 * Reading a synthesized stack (`cdk.tf.json` shape) without trusting it: every accessor copes with
 * missing blocks, blocks written as an object or as a list, and unresolved `${...}` expressions.
 */
import type { PolicyFinding, PolicySuppression, TerraformJson } from '../types';

export type JsonObject = Record<string, unknown>;

/** One `resource` or `data` entry of the stack. */
export interface ResourceEntry {
  /** `aws_iam_role.plan_role_1234`, or `data.aws_iam_policy_document.x`. */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly body: JsonObject;
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A nested block: cdktf writes single blocks as an object and repeated ones as a list. */
export function blocks(value: unknown): JsonObject[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

export function firstBlock(value: unknown): JsonObject | undefined {
  return blocks(value)[0];
}

/** A string or list of strings as a list (IAM's `Action`, `Resource`, condition values...). */
export function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** `${...}` or `%{...}`: a Terraform expression or template directive inside a string. */
export function hasInterpolation(value: string): boolean {
  return value.includes('${') || value.includes('%{');
}

/** Renders a value for a finding: strings quoted, the rest as JSON, long values shortened. */
export function render(value: unknown): string {
  const text = value === undefined ? 'unset' : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

export function finding(ruleId: string, address: string, found: string, expected: string): PolicyFinding {
  return { ruleId, address, found, expected };
}

/** `lifecycle.prevent_destroy` of a resource body. */
export function preventsDestroy(body: JsonObject): boolean {
  return firstBlock(body.lifecycle)?.prevent_destroy === true;
}

const views = new WeakMap<object, StackView>();

/** A read-only view of one stack's final JSON, memoized per JSON object. */
export class StackView {
  static of(json: TerraformJson): StackView {
    let view = views.get(json);
    if (!view) {
      view = new StackView(json);
      views.set(json, view);
    }
    return view;
  }

  private readonly entries: ResourceEntry[];
  private readonly byAddress = new Map<string, ResourceEntry>();
  /** Per-view memo for expensive derived data shared by several rules. */
  readonly memo = new Map<string, unknown>();

  private constructor(readonly json: TerraformJson) {
    this.entries = [
      ...collect(json.resource, (type, name) => `${type}.${name}`),
      ...collect(json.data, (type, name) => `data.${type}.${name}`),
    ];
    for (const entry of this.entries) this.byAddress.set(entry.address, entry);
  }

  /** Managed resources of the given types (all managed resources when no type is given). */
  resources(...types: string[]): ResourceEntry[] {
    return this.entries.filter(
      (e) => !e.address.startsWith('data.') && (types.length === 0 || types.includes(e.type)),
    );
  }

  get(address: string): ResourceEntry | undefined {
    return this.byAddress.get(address);
  }

  /**
   * The resource an attribute points at: `${aws_iam_role.x.name}` (or `.id`, `.arn`, `.bucket`),
   * or a literal that equals the named attribute of a resource of that type.
   */
  referenced(value: unknown, type: string, literalAttribute?: string): ResourceEntry | undefined {
    if (typeof value !== 'string') return undefined;
    const ref = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(value);
    if (ref) return ref[1] === type ? this.get(`${ref[1]}.${ref[2]}`) : undefined;
    if (!literalAttribute) return undefined;
    return this.resources(type).find((e) => e.body[literalAttribute] === value);
  }

  /** Every provider block of a type, with its address (`provider.aws`, `provider.aws.<alias>`). */
  providers(type: string): Array<{ address: string; body: JsonObject }> {
    const provider = isObject(this.json.provider) ? this.json.provider[type] : undefined;
    return blocks(provider).map((body) => ({
      address: typeof body.alias === 'string' ? `provider.${type}.${body.alias}` : `provider.${type}`,
      body,
    }));
  }

  /** The backend block, if any: `terraform.backend.<type>`. */
  backends(): Array<{ address: string; type: string; body: JsonObject }> {
    const terraform = isObject(this.json.terraform) ? this.json.terraform : {};
    const backend = isObject(terraform.backend) ? terraform.backend : {};
    return Object.entries(backend).flatMap(([type, body]) =>
      blocks(body).map((b) => ({ address: `terraform.backend.${type}`, type, body: b })),
    );
  }

  /** Suppressions recorded in the stack's `//` metadata (`gantry_policy.suppressions`). */
  suppressions(): unknown[] {
    const meta = isObject(this.json['//']) ? this.json['//'] : {};
    const policy = isObject(meta.gantry_policy) ? meta.gantry_policy : {};
    return Array.isArray(policy.suppressions) ? policy.suppressions : [];
  }

  /**
   * Calls `visit` with every string anywhere in the stack except the `//` metadata. The readable
   * path (`ingress[0].cidr_blocks[1]`) is built only when asked for: rules look at every string of
   * a stack and report a handful.
   */
  forEachString(visit: (address: string, value: string, path: () => string) => void): void {
    for (const entry of this.entries) walkStrings(entry.body, [], (v, p) => visit(entry.address, v, p));
    for (const type of Object.keys(isObject(this.json.provider) ? this.json.provider : {})) {
      for (const p of this.providers(type)) walkStrings(p.body, [], (v, path) => visit(p.address, v, path));
    }
    const variables = isObject(this.json.variable) ? this.json.variable : {};
    for (const [name, body] of Object.entries(variables)) {
      walkStrings(body, [], (v, p) => visit(`var.${name}`, v, p));
    }
    const locals = isObject(this.json.locals) ? this.json.locals : {};
    walkStrings(locals, [], (v, p) => visit('locals', v, p));
  }
}

function collect(section: unknown, address: (type: string, name: string) => string): ResourceEntry[] {
  if (!isObject(section)) return [];
  return Object.entries(section).flatMap(([type, byName]) =>
    isObject(byName)
      ? Object.entries(byName)
          .filter((pair): pair is [string, JsonObject] => isObject(pair[1]))
          .map(([name, body]) => ({ address: address(type, name), type, name, body }))
      : [],
  );
}

function walkStrings(
  value: unknown,
  at: Array<string | number>,
  visit: (value: string, path: () => string) => void,
): void {
  if (typeof value === 'string') {
    const parts = [...at];
    visit(value, () =>
      parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''),
    );
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      at.push(i);
      walkStrings(value[i], at, visit);
      at.pop();
    }
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if (key === '//') continue;
      at.push(key);
      walkStrings(value[key], at, visit);
      at.pop();
    }
  }
}

/** A suppression as recorded in metadata, if it is well formed. */
export function asSuppression(value: unknown): PolicySuppression | undefined {
  if (!isObject(value)) return undefined;
  const { ruleId, address, reason } = value;
  if (typeof ruleId !== 'string' || typeof address !== 'string' || typeof reason !== 'string') {
    return undefined;
  }
  return { ruleId, address, reason };
}
