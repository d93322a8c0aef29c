import type { PolicyFinding, PolicyRule, TerraformJson } from '../types';
import { StackView } from './terraform-json';

/** Records one violation: the address, what was found, what is expected. */
export type Report = (address: string, found: string, expected: string) => void;

export interface RuleDefinition extends Omit<PolicyRule, 'check'> {
  readonly evaluate: (view: StackView, report: Report) => void;
}

/** A rule from its definition: `check` is a pure function of the stack's JSON. */
export function defineRule(definition: RuleDefinition): PolicyRule {
  const { evaluate, ...meta } = definition;
  return {
    ...meta,
    check(stack: TerraformJson): PolicyFinding[] {
      const findings: PolicyFinding[] = [];
      const seen = new Set<string>();
      evaluate(StackView.of(stack), (address, found, expected) => {
        const key = `${address}\u0000${found}\u0000${expected}`;
        if (seen.has(key)) return;
        seen.add(key);
        findings.push({ ruleId: definition.id, address, found, expected });
      });
      return findings;
    },
  };
}
