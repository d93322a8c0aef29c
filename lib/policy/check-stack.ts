/**
 * Checking one stack: a pure function of its final Terraform JSON. Suppressions are read from the
 * same JSON (the stack's `//` metadata), so what is checked is exactly what is written.
 */
import { asSuppression, isObject, StackView } from './private/terraform-json';
import { POLICY_RULES } from './rules';
import type {
  AppliedSuppression,
  PolicyFinding,
  PolicyRule,
  PolicySuppression,
  StackPolicyResult,
  TerraformJson,
} from './types';

export interface CheckStackOptions {
  /** The stack's name in the result. @default the `stackName` in the JSON's `//` metadata */
  readonly stackName?: string;
  /** The rules to run. @default POLICY_RULES (all) */
  readonly rules?: readonly PolicyRule[];
}

/** Runs every rule over a stack's final JSON and applies the suppressions recorded in it. */
export function checkStack(stack: TerraformJson, options: CheckStackOptions = {}): StackPolicyResult {
  const rules = options.rules ?? POLICY_RULES;
  const view = StackView.of(stack);
  const meta = isObject(stack['//']) && isObject(stack['//'].metadata) ? stack['//'].metadata : {};
  const stackName = options.stackName ?? (typeof meta.stackName === 'string' ? meta.stackName : 'stack');

  const findings = new Map<string, PolicyFinding[]>();
  for (const rule of rules) findings.set(rule.id, runRule(rule, stack));

  const known = new Set(rules.map((r) => r.id));
  const suppressions: PolicySuppression[] = [];
  const invalidSuppressions: string[] = [];
  for (const raw of view.suppressions()) {
    const s = asSuppression(raw);
    if (!s) {
      invalidSuppressions.push(
        `malformed suppression ${JSON.stringify(raw)}: expected { ruleId, address, reason }`,
      );
    } else if (!known.has(s.ruleId)) {
      invalidSuppressions.push(`suppression of unknown rule ${JSON.stringify(s.ruleId)} on ${s.address}`);
    } else if (s.reason.trim() === '') {
      invalidSuppressions.push(`suppression of ${s.ruleId} on ${s.address} has no reason`);
    } else if (s.address === '') {
      invalidSuppressions.push(
        `suppression of ${s.ruleId} names no Terraform address (the construct holds no resource)`,
      );
    } else {
      suppressions.push(s);
    }
  }

  const applied: AppliedSuppression[] = suppressions.map((s) => ({
    ...s,
    findings: (findings.get(s.ruleId) ?? []).filter((f) => f.address === s.address),
  }));
  const isSuppressed = (f: PolicyFinding) =>
    suppressions.some((s) => s.ruleId === f.ruleId && s.address === f.address);
  const violations = [...findings.values()].flat().filter((f) => !isSuppressed(f));

  return {
    stack: stackName,
    rulesChecked: rules.map((r) => r.id),
    rulesPassed: rules.filter((r) => (findings.get(r.id) ?? []).length === 0).map((r) => r.id),
    violations,
    suppressions: applied,
    invalidSuppressions,
  };
}

/** A rule that throws fails closed: its crash is a violation, not a pass. */
function runRule(rule: PolicyRule, stack: TerraformJson): PolicyFinding[] {
  try {
    return rule.check(stack);
  } catch (error) {
    return [
      {
        ruleId: rule.id,
        address: '(stack)',
        found: `the rule failed: ${error instanceof Error ? error.message : String(error)}`,
        expected: 'a stack the rule can read',
      },
    ];
  }
}

/** One line per violation: `GANTRY-ECR-001 aws_ecr_repository.x: found ...; expected ...`. */
export function formatViolation(f: PolicyFinding): string {
  return `${f.ruleId} ${f.address}: found ${f.found}; expected ${f.expected}`;
}
