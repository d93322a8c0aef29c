import {
  App,
  TerraformBackend,
  TerraformDataSource,
  TerraformElement,
  TerraformProvider,
  TerraformResource,
  TerraformStack,
  Token,
} from 'cdktf';
import type { IConstruct } from 'constructs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GantryConfigError } from '../core/errors';
import { checkStack, formatViolation } from './check-stack';
import { BROAD_MANAGED_POLICY } from './private/broad-policy-rules';
import { ADMINISTRATOR_ACCESS } from './private/iam-rules';
import { keepPreparedFragments, toTerraformReusingPrepared } from './private/prepared-fragments';
import { POLICY_RULES } from './rules';
import type { PolicyReport, PolicySuppression, StackPolicyResult, TerraformJson } from './types';

/** The report file, written into the app's output directory. */
export const POLICY_REPORT_FILE = 'gantry-policy-report.json';

export interface PolicyEnforceOptions {
  /**
   * Record this stack's result in `<app outdir>/gantry-policy-report.json` when it is checked.
   * @default true
   */
  readonly writeReport?: boolean;
}

const SUPPRESSION = 'gantry:policy:suppression';
const METADATA_ID = 'GantryPolicy';

/** Results of the stacks checked so far, per app (what the report holds). */
const results = new WeakMap<App, Map<string, StackPolicyResult>>();

/**
 * Gantry's security policy (docs/security.md) applied to CDKTF stacks. `Policy.enforce(stack)` checks
 * the stack's final Terraform JSON (after every override) at synth and fails synth listing every
 * violation: rule id, address, what was found, what is expected. `Policy.suppress` records a named
 * exception with its reason in the stack's metadata.
 */
export class Policy {
  /**
   * Checks `stack` at synth against every rule. Idempotent: a stack is enforced once.
   * Gantry's own stacks are enforced by `createStacks`.
   */
  static enforce(stack: TerraformStack, options: PolicyEnforceOptions = {}): void {
    if (stack.node.tryFindChild(METADATA_ID)) return;
    new PolicyMetadata(stack);
    keepPreparedFragments(stack);
    const writeReport = options.writeReport ?? true;
    stack.node.addValidation({
      validate: () => {
        const raw = toTerraformReusingPrepared(stack);
        const result = checkStack(JSON.parse(JSON.stringify(raw)) as TerraformJson, {
          stackName: stack.node.id,
        });
        if (result.violations.length === 0 && result.invalidSuppressions.length === 0)
          reuseForSynth(stack, raw);
        record(stack, result, writeReport);
        return [
          ...result.violations.map(formatViolation),
          ...result.invalidSuppressions.map((s) => `GANTRY-POLICY ${s}`),
        ];
      },
    });
  }

  /**
   * Exempts the resources of `scope` (a resource, a provider, a backend, or a construct: every
   * Terraform element under it) from one rule, for a written reason. The exemption is recorded in
   * the stack's `//` metadata (`gantry_policy.suppressions`) and listed in the synth report.
   */
  static suppress(scope: IConstruct, ruleId: string, reason: string): void {
    const where = scope.node.path || '(root)';
    if (!POLICY_RULES.some((r) => r.id === ruleId)) {
      throw new GantryConfigError(
        `${where}: Policy.suppress: unknown rule ${JSON.stringify(ruleId)}; rules are ${POLICY_RULES.map((r) => r.id).join(', ')}`,
      );
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new GantryConfigError(
        `${where}: Policy.suppress(${ruleId}): the reason is empty; say why the rule does not apply here`,
      );
    }
    scope.node.addMetadata(SUPPRESSION, { ruleId, reason: reason.trim() });
  }

  /** The stack's final Terraform JSON, as cdktf writes it to `cdk.tf.json` (overrides included). */
  static finalJson(stack: TerraformStack): TerraformJson {
    return JSON.parse(JSON.stringify(stack.toTerraform())) as TerraformJson;
  }

  /**
   * Records that the caller passed AdministratorAccess or PowerUserAccess explicitly. Without a
   * reason, AdministratorAccess suppresses GANTRY-IAM-007 only (docs/security.md 7): GANTRY-IAM-011
   * (invariant 26) still fails, so a broad policy needs the reason the configuration gives
   * (`additionalApplyPolicies: [{ policyArn, reason }]`). With one, both rules are suppressed on
   * `attachment`, the reason recorded. Any other policy ARN is left alone.
   */
  static acceptExplicitAdministratorAccess(
    attachment: IConstruct,
    policyArn: string,
    source: string,
    reason?: string,
  ): void {
    const name = policyArn.replace(/^.*:policy\//, '');
    const why = reason?.trim();
    if (ADMINISTRATOR_ACCESS.test(policyArn)) {
      Policy.suppress(
        attachment,
        'GANTRY-IAM-007',
        why ? `${name} passed explicitly in ${source}: ${why}` : `${name} passed explicitly in ${source}`,
      );
    }
    if (why && BROAD_MANAGED_POLICY.test(policyArn)) {
      Policy.suppress(attachment, 'GANTRY-IAM-011', `${name} passed explicitly in ${source}: ${why}`);
    }
  }

  /** Checks a stack now (its final JSON) without failing: the result the validation reports. */
  static check(stack: TerraformStack): StackPolicyResult {
    return checkStack(Policy.finalJson(stack), { stackName: stack.node.id });
  }

  /** The report of every stack of `app` checked so far, or undefined when none was. */
  static reportOf(app: App): PolicyReport | undefined {
    const byStack = results.get(app);
    if (!byStack) return undefined;
    return {
      rules: POLICY_RULES.map(({ id, invariant, title, publicChecks }) => ({
        id,
        invariant,
        title,
        publicChecks,
      })),
      stacks: [...byStack.values()].sort((a, b) => byCodeUnits(a.stack, b.stack)),
    };
  }

  /**
   * A short console summary: rule checks (stacks x rules) passed, suppressed and violated, then one
   * line per suppression with its reason.
   */
  static summary(report: PolicyReport): string[] {
    let passed = 0;
    let suppressed = 0;
    let violated = 0;
    for (const s of report.stacks) {
      const violatedRules = new Set(s.violations.map((v) => v.ruleId));
      passed += s.rulesPassed.length;
      violated += violatedRules.size;
      suppressed += s.rulesChecked.length - s.rulesPassed.length - violatedRules.size;
    }
    const checks = report.stacks.reduce((n, s) => n + s.rulesChecked.length, 0);
    const lines = [
      `policy: ${report.stacks.length} stacks x ${report.rules.length} rules = ${checks} checks: ` +
        `${passed} passed, ${suppressed} suppressed, ${violated} violated`,
    ];
    for (const s of report.stacks) {
      for (const sup of s.suppressions) {
        lines.push(`policy: ${s.stack}: ${sup.ruleId} suppressed on ${sup.address}: ${sup.reason}`);
      }
    }
    return lines;
  }
}

/**
 * Synth resolves a stack's whole tree once more right after its validations ran; the JSON the
 * policy just checked is that same JSON, so the next `toTerraform()` returns it instead of
 * resolving again (a third of synth time). What is written is then exactly what was checked. The
 * reuse is one-shot and dropped if the tree changed in between (a construct added or removed).
 */
function reuseForSynth(stack: TerraformStack, checked: ReturnType<TerraformStack['toTerraform']>): void {
  const size = stack.node.findAll().length;
  const resolveAgain = stack.toTerraform;
  Object.defineProperty(stack, 'toTerraform', {
    configurable: true,
    writable: true,
    value: function toTerraformOnce(this: TerraformStack) {
      Reflect.deleteProperty(stack, 'toTerraform');
      return stack.node.findAll().length === size ? checked : resolveAgain.call(this);
    },
  });
}

function record(stack: TerraformStack, result: StackPolicyResult, writeReport: boolean): void {
  let app: App;
  try {
    app = App.of(stack);
  } catch {
    return;
  }
  let byStack = results.get(app);
  if (!byStack) {
    byStack = new Map();
    results.set(app, byStack);
  }
  byStack.set(result.stack, result);
  if (!writeReport || !app.outdir) return;
  // Written once, when synth has checked every stack (an app-level validation runs after them);
  // and at once when this stack fails, since synth stops here.
  if (result.violations.length > 0 || result.invalidSuppressions.length > 0) writeReportFile(app);
  if (!reportWritten.has(app)) {
    reportWritten.add(app);
    app.node.addValidation({
      validate: () => {
        writeReportFile(app);
        return [];
      },
    });
  }
}

const reportWritten = new WeakSet<App>();

function writeReportFile(app: App): void {
  fs.mkdirSync(app.outdir, { recursive: true });
  fs.writeFileSync(
    path.join(app.outdir, POLICY_REPORT_FILE),
    `${JSON.stringify(Policy.reportOf(app), null, 2)}\n`,
  );
}

/**
 * Plain string order: the same on every machine, and unlike `localeCompare` it does not load ICU's
 * collator at synth (about 20 ms, a twentieth of the reference synth).
 */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Terraform addresses of the elements at and under `scope`. */
function addressesUnder(stack: TerraformStack, scope: IConstruct): string[] {
  return scope.node
    .findAll()
    .filter((c) => TerraformStack.of(c) === stack)
    .map((c) => addressOf(c))
    .filter((a): a is string => a !== undefined);
}

function addressOf(c: IConstruct): string | undefined {
  if (TerraformDataSource.isTerraformDataSource(c))
    return `data.${c.terraformResourceType}.${c.friendlyUniqueId}`;
  if (TerraformResource.isTerraformResource(c)) return `${c.terraformResourceType}.${c.friendlyUniqueId}`;
  if (TerraformProvider.isTerraformProvider(c)) {
    const alias = c.alias === undefined ? undefined : String(Token.asString(c.alias));
    return alias ? `provider.${c.terraformResourceType}.${alias}` : `provider.${c.terraformResourceType}`;
  }
  if (TerraformBackend.isBackend(c)) {
    const fragment = c.toTerraform() as { terraform?: { backend?: Record<string, unknown> } };
    const type = Object.keys(fragment.terraform?.backend ?? {})[0];
    return type ? `terraform.backend.${type}` : undefined;
  }
  return undefined;
}

/**
 * Writes the stack's suppressions into its `//` metadata at synth (`gantry_policy`), after the
 * tree is complete, so the addresses are the final ones.
 */
class PolicyMetadata extends TerraformElement {
  constructor(private readonly stack: TerraformStack) {
    super(stack, METADATA_ID);
  }

  public override toTerraform(): Record<string, unknown> {
    const suppressions: PolicySuppression[] = [];
    for (const c of this.stack.node.findAll()) {
      for (const entry of c.node.metadata) {
        if (entry.type !== SUPPRESSION) continue;
        const { ruleId, reason } = entry.data as { ruleId: string; reason: string };
        const addresses = addressesUnder(this.stack, c);
        for (const address of addresses.length > 0 ? addresses : [''])
          suppressions.push({ ruleId, address, reason });
      }
    }
    suppressions.sort((a, b) => byCodeUnits(a.address, b.address) || byCodeUnits(a.ruleId, b.ruleId));
    return { '//': { gantry_policy: { rules: POLICY_RULES.length, suppressions } } };
  }
}
