import {
  Aspects,
  DefaultTokenResolver,
  StringConcat,
  TerraformElement,
  TerraformOutput,
  TerraformStack,
  Token,
  Tokenization,
} from 'cdktf';
import { deepMerge } from 'cdktf/lib/util';
import { Construct, type IConstruct } from 'constructs';

/**
 * cdktf's `app.synth()` resolves every element of a stack twice before the policy sees it:
 * `prepareStack()` resolves each element's `toTerraform()` in "preparing" mode only to discover
 * cross-stack references and throws the result away; the policy's `stack.toTerraform()` then
 * resolves every element again and walks the merged tree once more. Here the preparing pass keeps
 * its fragments, and the policy's JSON is merged from them (about a quarter of synth time saved).
 *
 * Why the fragments are the final ones: in cdktf 0.21 the preparing flag changes only how a
 * cross-stack `Reference` resolves, and it resolves to the same string in both passes (the
 * preparing pass records the remote-state reference, then returns it). What can still change a
 * stack between the passes is handled:
 * - an aspect (cdktf invokes aspects after `prepareStack()`): a stack with any aspect in its tree
 *   is resolved afresh by cdktf;
 * - stack-level overrides (`stack.addOverride`, which may hold tokens): resolved afresh by cdktf;
 * - elements added after the preparing pass (the outputs and remote-state data sources of
 *   cross-stack references) have no kept fragment and are resolved as cdktf does; an element
 *   removed since is not asked for its fragment.
 * The kept fragments are used once, by the first `toTerraformReusingPrepared()` after the pass.
 * `test/lib/policy/prepared-fragments.test.ts` holds the result to cdktf's own `toTerraform()`.
 */
const kept = new WeakMap<TerraformStack, Map<TerraformElement, unknown>>();

/** cdktf's own resolver for synth (`cdktf/lib/_tokens`): stateless, so a second instance is the same. */
const RESOLVER = new DefaultTokenResolver(new StringConcat());

type StackJson = ReturnType<TerraformStack['toTerraform']>;

/** What `TerraformStack.toTerraform()` reads besides public members (private in its typings). */
interface CdktfStackInternals {
  readonly rawOverrides: Record<string, unknown>;
  readonly cdktfVersion: string;
}

function resolveNow(stack: TerraformStack, value: unknown, preparing = false): unknown {
  return Tokenization.resolve(value, { scope: stack, preparing, resolver: RESOLVER });
}

/**
 * `resolveNow`, faster on the plain parts of a tree: cdktf's resolver builds a context (and two
 * closures) for every key and value it visits, tokens or not, and most of a resource's tree is
 * plain strings and numbers. This copies plain values itself, dropping `undefined` as cdktf does,
 * and hands cdktf every value that may hold a token or need cdktf's handling: a resolvable object,
 * a string with a token marker, `${` or a number-token in it, a token number, an array with any of
 * those, an object with such a key, a construct. Below 100 levels (cdktf fails past 200, as circular).
 */
export function resolveFast(stack: TerraformStack, value: unknown, preparing: boolean, depth = 0): unknown {
  if (!isPlain(value, depth)) return resolveNow(stack, value, preparing);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const resolved = resolveFast(stack, item, preparing, depth + 1);
      if (resolved !== undefined) out.push(resolved);
    }
    return out;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const resolved = resolveFast(stack, (value as Record<string, unknown>)[key], preparing, depth + 1);
      if (resolved !== undefined) out[key] = resolved;
    }
    return out;
  }
  return value;
}

/** Whether cdktf's resolver would return `value` (this level of it) unchanged. */
function isPlain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return isPlainString(value);
    case 'number':
      // Token numbers are encoded as doubles near -1.9e289; -123456789 is cdktf's number-map marker.
      return value > -1e288 && value !== Token.NUMBER_MAP_TOKEN_VALUE;
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return true;
    case 'object':
      if (value === null || value instanceof Date) return true;
      if (depth > 100) return false;
      // cdktf resolves an array with a list token (a marked string, a token number) as a whole.
      if (Array.isArray(value)) return value.every((v) => typeof v === 'object' || isPlain(v, depth));
      if (Tokenization.isResolvable(value) || Construct.isConstruct(value)) return false;
      return Object.keys(value).every(isPlainString);
    default:
      return false; // functions, symbols: cdktf reports them
  }
}

function isPlainString(s: string): boolean {
  return (
    !s.includes('TfToken[') &&
    !s.includes('${') &&
    !s.includes('e+2') && // a number-token concatenated into a string ("-1.88e+289")
    s !== Token.STRING_MAP_TOKEN_VALUE &&
    s !== Token.ANY_MAP_TOKEN_VALUE
  );
}

/** Makes `stack`'s preparing pass keep its fragments. Idempotent. */
export function keepPreparedFragments(stack: TerraformStack): void {
  if (Object.prototype.hasOwnProperty.call(stack, 'prepareStack')) return;
  Object.defineProperty(stack, 'prepareStack', {
    configurable: true,
    writable: true,
    value: function prepareKeepingFragments(this: TerraformStack): void {
      // cdktf's prepareStack(), with the results kept.
      this.ensureBackendExists();
      const fragments = new Map<TerraformElement, unknown>();
      for (const element of elementsOf(this)) {
        fragments.set(element, resolveFast(this, element.toTerraform(), true));
      }
      kept.set(this, fragments);
    },
  });
}

/**
 * `stack.toTerraform()`, built from the fragments its preparing pass kept when nothing can have
 * changed them since: cdktf 0.21's `TerraformStack.toTerraform()` without its resolve walks, which
 * on already-resolved fragments are pure copying (and most of its cost). The same JSON either way;
 * a stack with stack-level overrides (`stack.addOverride`, which may hold tokens) is resolved by
 * cdktf.
 */
export function toTerraformReusingPrepared(stack: TerraformStack): StackJson {
  const fragments = kept.get(stack);
  kept.delete(stack);
  const internals = stack as unknown as CdktfStackInternals;
  if (!fragments || Object.keys(internals.rawOverrides).length > 0 || hasAspects(stack))
    return stack.toTerraform();
  const elements = elementsOf(stack);
  const metadata: Record<string, unknown> = {
    version: internals.cdktfVersion,
    stackName: stack.node.id,
    backend: 'local', // overwritten by the backend's metadata
    cloud: undefined, // set by a cloud or remote backend's metadata
  };
  for (const element of elements) deepMerge(metadata, resolveFast(stack, element.toMetadata(), false));
  if (metadata.cloud === undefined) delete metadata.cloud;
  const outputs: Record<string, unknown> = {};
  for (const element of elements) {
    if (!TerraformOutput.isTerraformOutput(element)) continue;
    const nested = element.node.path
      .split('/')
      .reduceRight<Record<string, unknown>>(
        (inner, part) => ({ [part]: Object.keys(inner).length === 0 ? element.friendlyUniqueId : inner }),
        {},
      );
    deepMerge(outputs, nested);
  }
  const tf: StackJson = { '//': { metadata, outputs } };
  for (const element of elements) {
    deepMerge(
      tf,
      fragments.has(element) ? fragments.get(element) : resolveFast(stack, element.toTerraform(), false),
    );
  }
  return tf;
}

/** The Terraform elements of `stack`, not descending into nested stacks (as cdktf does). */
function elementsOf(stack: TerraformStack): TerraformElement[] {
  const into: TerraformElement[] = [];
  const visit = (node: IConstruct): void => {
    if (TerraformElement.isTerraformElement(node)) into.push(node);
    for (const child of node.node.children) if (!TerraformStack.isStack(child)) visit(child);
  };
  visit(stack);
  return into;
}

function hasAspects(stack: TerraformStack): boolean {
  return stack.node.findAll().some((c) => Aspects.of(c).all.length > 0);
}
