import { TerraformElement, TerraformStack } from 'cdktf';
import { GantryConfigError } from './errors';
import { parseStackFacts, STACK_FACTS_KEY, STACK_FACTS_VERSION, type StackFacts } from './stack-facts';

const FACTS_ID = 'GantryFacts';

/** Writes the facts into the stack's `//` metadata at synth. */
class StackFactsElement extends TerraformElement {
  constructor(
    stack: TerraformStack,
    private readonly facts: StackFacts,
  ) {
    super(stack, FACTS_ID);
  }

  public override toTerraform(): Record<string, unknown> {
    return { '//': { [STACK_FACTS_KEY]: this.facts } };
  }
}

/**
 * Records what the runtime must know about `stack` (its environment, approvals and services) in the
 * stack's synthesized JSON, where `gantry plan|apply|drift` read it. Gantry's stacks do this
 * themselves; call it for a stack of your own that `gantry` runs. The facts are checked here as the
 * runtime will check them, so a bad value fails synth instead of every later run. Once per stack.
 */
export function recordStackFacts(stack: TerraformStack, facts: Omit<StackFacts, 'version' | 'stack'>): void {
  const complete: StackFacts = { version: STACK_FACTS_VERSION, stack: stack.node.id, ...facts };
  const parsed = parseStackFacts({ '//': { [STACK_FACTS_KEY]: complete } }, stack.node.id);
  if (!parsed.ok) throw new GantryConfigError(`${stack.node.path}: recordStackFacts: ${parsed.reason}`);
  if (stack.node.tryFindChild(FACTS_ID)) {
    throw new GantryConfigError(
      `${stack.node.path}: recordStackFacts: the stack's facts are recorded already`,
    );
  }
  new StackFactsElement(stack, parsed.facts);
}
