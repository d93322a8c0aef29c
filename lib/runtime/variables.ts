/**
 * Terraform variables of a plan: `--var name=value` on the command line and, for `gantry plan`, the
 * image tags a workflow dispatch bound to a commit (`GANTRY_IMAGE_TAGS`, read by the CodeBuild deploy
 * project from the `/<org>/<env>/gantry/image-tags` parameter). Only variables the stack declares are
 * accepted; image tags (`image_tag_<service>`) must be release tags. The ledger records the names of
 * the variables and the values of image tags only: any other value may be a secret.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IMAGE_TAG } from '../core/identifiers';
import { imageTagVariableName } from '../core/naming';

/** Tags a plan accepts for an image: what ECR allows, never the mutable `latest`. */
export const IMAGE_TAG_PATTERN = IMAGE_TAG;

/** The environment variable holding `{"commit": "<sha>", "tags": {"<service>": "<tag>"}}`. */
export const IMAGE_TAGS_ENV = 'GANTRY_IMAGE_TAGS';

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A variable the stack's Terraform JSON declares. */
export interface DeclaredVariable {
  readonly sensitive: boolean;
}

/** Where a variable's value came from. */
export type VariableSource = '--var' | typeof IMAGE_TAGS_ENV;

export interface PlanVariable {
  readonly name: string;
  readonly value: string;
  readonly source: VariableSource;
}

export interface VariableInputs {
  /** `--var` arguments as given: `name=value`. */
  readonly varArgs: readonly string[];
  /** `GANTRY_IMAGE_TAGS`, when set (not empty). */
  readonly imageTags?: string;
  /** The commit being planned (`GANTRY_COMMIT_SHA`, `GITHUB_SHA`, `CODEBUILD_RESOLVED_SOURCE_VERSION`, git). */
  readonly commit: string | null;
  /** The stack's `variable` blocks. */
  readonly declared: ReadonlyMap<string, DeclaredVariable>;
}

export type ResolvedVariables =
  | {
      readonly ok: true;
      readonly variables: readonly PlanVariable[];
      /** What to print: e.g. why `GANTRY_IMAGE_TAGS` was ignored. */
      readonly notes: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

/** `image_tag_<service>` variables hold image tags, which are not secret. */
export function isImageTagVariable(name: string): boolean {
  return name.startsWith('image_tag_');
}

/** The `variable` blocks of the `*.tf.json` files of a Terraform working directory. */
export function declaredVariables(dir: string): Map<string, DeclaredVariable> {
  const declared = new Map<string, DeclaredVariable>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tf.json'))
    .sort()) {
    let doc: { variable?: Record<string, { sensitive?: unknown } | null> };
    try {
      doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as typeof doc;
    } catch {
      continue;
    }
    for (const [name, body] of Object.entries(doc.variable ?? {})) {
      declared.set(name, { sensitive: body?.sensitive === true });
    }
  }
  return declared;
}

/** Why `value` is not a tag an image may be deployed with, or undefined when it is one. */
export function imageTagProblem(value: string): string | undefined {
  if (value === 'latest') return 'latest is mutable, name a release tag';
  if (!IMAGE_TAG_PATTERN.test(value)) return `is not an image tag (${IMAGE_TAG_PATTERN.source})`;
  return undefined;
}

function declaredList(declared: ReadonlyMap<string, DeclaredVariable>): string {
  const names = [...declared.keys()].sort();
  return names.length > 0 ? names.join(', ') : 'none';
}

/** Checks one variable against the stack's declarations; the message never shows a value that may be secret. */
function variableProblem(
  v: PlanVariable,
  declared: ReadonlyMap<string, DeclaredVariable>,
  what: string,
): string | undefined {
  const declaration = declared.get(v.name);
  if (!declaration) {
    return `${what}: the stack declares no variable ${v.name} (declared: ${declaredList(declared)})`;
  }
  if (isImageTagVariable(v.name)) {
    const problem = imageTagProblem(v.value);
    return problem ? `${what}: image tag ${JSON.stringify(v.value)} ${problem}` : undefined;
  }
  if (declaration.sensitive && v.source === '--var') {
    return `${what}: ${v.name} is sensitive; pass it as TF_VAR_${v.name}, not on the command line (argv is visible to other processes)`;
  }
  return undefined;
}

/** `--var name=value` arguments, validated (the value is shown only for image tags). */
function parseVarArgs(
  varArgs: readonly string[],
): { ok: true; variables: PlanVariable[] } | { ok: false; reason: string } {
  const variables: PlanVariable[] = [];
  for (const [i, arg] of varArgs.entries()) {
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : '';
    if (!VARIABLE_NAME.test(name)) {
      return {
        ok: false,
        reason: `--var #${i + 1}: expected name=value with a Terraform variable name, e.g. --var image_tag_api=v1.3.0`,
      };
    }
    variables.push({ name, value: arg.slice(eq + 1), source: '--var' });
  }
  return { ok: true, variables };
}

interface ImageTagsValue {
  readonly commit: string;
  readonly tags: Readonly<Record<string, unknown>>;
}

function parseImageTagsValue(raw: string): ImageTagsValue | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `${IMAGE_TAGS_ENV} is not JSON; expected {"commit": "<sha>", "tags": {"<service>": "<tag>"}}`;
  }
  const object = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!object(value) || typeof value.commit !== 'string' || !object(value.tags)) {
    return `${IMAGE_TAGS_ENV} must be {"commit": "<sha>", "tags": {"<service>": "<tag>"}}`;
  }
  return { commit: value.commit, tags: value.tags };
}

/**
 * The image tags of `GANTRY_IMAGE_TAGS`, applied only when they were written for `commit`: a value
 * left by an earlier dispatch (another commit) is ignored with a note, so it never leaks into a later
 * deploy. Service names map to `image_tag_<service with - as _>`.
 */
export function imageTagsFromParameter(
  raw: string,
  commit: string | null,
  declared: ReadonlyMap<string, DeclaredVariable>,
): ResolvedVariables {
  const parsed = parseImageTagsValue(raw);
  if (typeof parsed === 'string') return { ok: false, reason: parsed };
  const bound = parsed.commit.trim().toLowerCase();
  const current = commit?.trim().toLowerCase() ?? '';
  const tagCount = Object.keys(parsed.tags).length;
  if (!bound) {
    const note =
      tagCount > 0
        ? `${IMAGE_TAGS_ENV} ignored: its ${tagCount} tag(s) are bound to no commit`
        : `${IMAGE_TAGS_ENV}: no image tags given; the stack's defaults apply`;
    return { ok: true, variables: [], notes: [note] };
  }
  if (!current || bound !== current) {
    return {
      ok: true,
      variables: [],
      notes: [
        `${IMAGE_TAGS_ENV} ignored: written for commit ${parsed.commit}, this is commit ${commit ?? 'unknown'}; the stack's default image tags apply`,
      ],
    };
  }
  const variables: PlanVariable[] = [];
  for (const [service, tag] of Object.entries(parsed.tags).sort(([a], [b]) => a.localeCompare(b))) {
    const what = `${IMAGE_TAGS_ENV} service ${JSON.stringify(service)}`;
    if (typeof tag !== 'string') return { ok: false, reason: `${what}: the tag must be a string` };
    const name = imageTagVariableName(service);
    if (!declared.has(name) || !isImageTagVariable(name)) {
      const services = [...declared.keys()]
        .filter(isImageTagVariable)
        .map((n) => n.slice('image_tag_'.length))
        .sort();
      return {
        ok: false,
        reason: `${what}: the stack has no image tag variable ${name} (services: ${services.join(', ') || 'none'})`,
      };
    }
    const problem = imageTagProblem(tag);
    if (problem) return { ok: false, reason: `${what}: image tag ${JSON.stringify(tag)} ${problem}` };
    variables.push({ name, value: tag, source: IMAGE_TAGS_ENV });
  }
  const notes =
    variables.length > 0
      ? [`${IMAGE_TAGS_ENV}: image tags bound to commit ${parsed.commit} apply`]
      : [`${IMAGE_TAGS_ENV}: no image tags given; the stack's defaults apply`];
  return { ok: true, variables, notes };
}

/**
 * The variables of one plan: `--var` arguments and (when given) `GANTRY_IMAGE_TAGS`, each checked
 * against the stack's declarations. A variable given twice with different values is refused.
 */
export function resolveVariables(input: VariableInputs): ResolvedVariables {
  const fromArgs = parseVarArgs(input.varArgs);
  if (!fromArgs.ok) return fromArgs;
  const notes: string[] = [];
  const all: PlanVariable[] = [...fromArgs.variables];
  for (const [i, v] of fromArgs.variables.entries()) {
    const problem = variableProblem(v, input.declared, `--var ${v.name}`);
    if (problem) return { ok: false, reason: problem };
    if (fromArgs.variables.slice(0, i).some((w) => w.name === v.name && w.value !== v.value)) {
      return { ok: false, reason: `--var ${v.name}: given twice with different values` };
    }
  }
  if (input.imageTags !== undefined && input.imageTags.trim() !== '') {
    const fromParameter = imageTagsFromParameter(input.imageTags, input.commit, input.declared);
    if (!fromParameter.ok) return fromParameter;
    notes.push(...fromParameter.notes);
    for (const v of fromParameter.variables) {
      const other = all.find((w) => w.name === v.name);
      if (other && other.value !== v.value) {
        return {
          ok: false,
          reason: `${v.name}: --var gives ${JSON.stringify(other.value)}, ${IMAGE_TAGS_ENV} gives ${JSON.stringify(v.value)}; give one`,
        };
      }
      if (!other) all.push(v);
    }
  }
  const unique = all.filter((v, i) => all.findIndex((w) => w.name === v.name) === i);
  return { ok: true, variables: unique, notes };
}

/** `-var=name=value` for each variable, in order. */
export function terraformVarArgs(variables: readonly PlanVariable[]): string[] {
  return variables.map((v) => `-var=${v.name}=${v.value}`);
}

/**
 * What the ledger keeps of the variables: names, and values of image tags only, e.g.
 * `variables: image_tag_api=v1.3.0 (--var), feature_flags (--var, value not recorded)`.
 */
export function describeVariables(variables: readonly PlanVariable[]): string | null {
  if (variables.length === 0) return null;
  const parts = variables.map((v) =>
    isImageTagVariable(v.name)
      ? `${v.name}=${v.value} (${v.source})`
      : `${v.name} (${v.source}, value not recorded)`,
  );
  return `variables: ${parts.join(', ')}`;
}
