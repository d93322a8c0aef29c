/**
 * The facts the runtime needs about a synthesized stack, written into the stack's own `cdk.tf.json` at
 * synth (`"//": {"gantry": {...}}`, which Terraform ignores) and read back by `gantry` before it runs
 * Terraform. The runtime trusts nothing else: no configuration module, no default. A stack whose facts are
 * missing or malformed is refused (`parseStackFacts` says why), so a guarantee such as "prod needs two
 * approvals" cannot silently fall away for another app, another config or a stale checkout.
 *
 * Pure (no cdktf): the runtime reads it; `recordStackFacts` (./record-stack-facts) writes it.
 */

/** Version of the facts' shape; `parseStackFacts` refuses any other. */
export const STACK_FACTS_VERSION = 1;

/** The key under the stack's `//` metadata. */
export const STACK_FACTS_KEY = 'gantry';

/** A service of a services stack, as the runtime addresses it. */
export interface StackServiceFacts {
  /** The service's name (`services[].name`). */
  readonly name: string;
  /** The Terraform variable holding its image tag, `image_tag_<name with - as _>`. */
  readonly imageTagVariable: string;
}

export interface StackFacts {
  readonly version: typeof STACK_FACTS_VERSION;
  /** The stack id, e.g. `prod-services`. */
  readonly stack: string;
  /** What the stack holds: `github`, `foundation`, `services`, or another app-defined kind. */
  readonly kind: string;
  /** `owner/name` of the repository whose workflows deploy it. */
  readonly repository: string;
  /** The repository's default branch. */
  readonly defaultBranch: string;
  /** The environment the stack belongs to; `null` for a stack of no single environment (`github`). */
  readonly environment: string | null;
  /** The environment's AWS account (AWS stacks). */
  readonly accountId: string | null;
  readonly production: boolean;
  /** Distinct approvals besides the initiator that an apply needs (0: none). */
  readonly requiredApprovals: number;
  /**
   * The GitHub Environments a deployment passes, in order: gates then the environment itself
   * (`['prod-approval', 'prod']`); empty for a stack of no single environment.
   */
  readonly approvalEnvironments: readonly string[];
  /** The services whose image tags the stack takes as variables (services stacks). */
  readonly services: readonly StackServiceFacts[];
}

export type StackFactsResult =
  { readonly ok: true; readonly facts: StackFacts } | { readonly ok: false; readonly reason: string };

const STACK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The facts of a stack from its synthesized JSON (the parsed `cdk.tf.json`), or why there are none.
 * Every field is checked; anything unexpected is a reason, never a default.
 */
export function parseStackFacts(stackJson: unknown, expectedStack?: string): StackFactsResult {
  const no = (reason: string): StackFactsResult => ({ ok: false, reason });
  const meta =
    isObject(stackJson) && isObject(stackJson['//']) ? stackJson['//'][STACK_FACTS_KEY] : undefined;
  if (meta === undefined) {
    return no(
      `the stack's cdk.tf.json has no Gantry facts ("//": {"${STACK_FACTS_KEY}": ...}); synthesize it with Gantry's stack factory ` +
        '(createStacks) or record them with recordStackFacts',
    );
  }
  if (!isObject(meta)) return no(`the stack's Gantry facts are ${JSON.stringify(meta)}, not an object`);
  if (meta.version !== STACK_FACTS_VERSION) {
    return no(
      `the stack's Gantry facts have version ${JSON.stringify(meta.version)}; this gantry reads version ${STACK_FACTS_VERSION}: synthesize with the same Gantry version`,
    );
  }
  const bad = (field: string, allowed: string) =>
    no(`the stack's Gantry facts have ${field} = ${JSON.stringify(meta[field])}; expected ${allowed}`);
  if (typeof meta.stack !== 'string' || !STACK_ID.test(meta.stack)) return bad('stack', 'a stack id');
  if (expectedStack !== undefined && meta.stack !== expectedStack) {
    return no(
      `the stack's Gantry facts are those of ${JSON.stringify(meta.stack)}, not ${JSON.stringify(expectedStack)}`,
    );
  }
  if (typeof meta.kind !== 'string' || meta.kind === '') return bad('kind', 'a non-empty string');
  if (typeof meta.repository !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(meta.repository))
    return bad('repository', 'owner/name');
  if (typeof meta.defaultBranch !== 'string' || meta.defaultBranch === '')
    return bad('defaultBranch', 'a branch name');
  if (
    meta.environment !== null &&
    (typeof meta.environment !== 'string' || !ENVIRONMENT.test(meta.environment))
  )
    return bad('environment', 'an environment name or null');
  if (meta.accountId !== null && (typeof meta.accountId !== 'string' || !/^\d{12}$/.test(meta.accountId)))
    return bad('accountId', 'a 12-digit account id or null');
  if (typeof meta.production !== 'boolean') return bad('production', 'true or false');
  const required = meta.requiredApprovals;
  if (typeof required !== 'number' || !Number.isInteger(required) || required < 0 || required > 100)
    return bad('requiredApprovals', 'an integer from 0');
  const chain = meta.approvalEnvironments;
  if (!Array.isArray(chain) || !chain.every((e) => typeof e === 'string' && ENVIRONMENT.test(e)))
    return bad('approvalEnvironments', 'a list of environment names');
  if (meta.environment !== null && (chain.length === 0 || chain[chain.length - 1] !== meta.environment))
    return bad(
      'approvalEnvironments',
      `a chain ending with the environment ${JSON.stringify(meta.environment)}`,
    );
  if (required >= 2 && chain.length < required)
    return bad('approvalEnvironments', `one gate environment per required approval (${required})`);
  const services = meta.services;
  if (
    !Array.isArray(services) ||
    !services.every(
      (s) =>
        isObject(s) &&
        typeof s.name === 'string' &&
        typeof s.imageTagVariable === 'string' &&
        VARIABLE.test(s.imageTagVariable),
    )
  ) {
    return bad('services', 'a list of { name, imageTagVariable }');
  }
  return {
    ok: true,
    facts: {
      version: STACK_FACTS_VERSION,
      stack: meta.stack,
      kind: meta.kind,
      repository: meta.repository,
      defaultBranch: meta.defaultBranch,
      environment: meta.environment,
      accountId: meta.accountId,
      production: meta.production,
      requiredApprovals: required,
      approvalEnvironments: [...chain] as string[],
      services: services.map((s) => ({
        name: (s as Record<string, string>).name,
        imageTagVariable: (s as Record<string, string>).imageTagVariable,
      })),
    },
  };
}
