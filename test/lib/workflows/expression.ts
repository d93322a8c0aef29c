/**
 * A small evaluator of GitHub Actions expressions (the subset the generated workflows use in `if:`):
 * `&&`, `||`, `!`, `==`, `!=`, parentheses, string/number/boolean/null literals, context paths
 * (`github.event.pull_request.head.repo.full_name`) and the status function `always()`. It follows
 * GitHub's rules: `&&`/`||` yield an operand, strings compare case-insensitively, a missing
 * property is null. Anything else throws, so a workflow using more fails the test that evaluates it.
 */
type Value = string | number | boolean | null | Record<string, unknown>;

export type Context = Record<string, unknown>;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(\|\||&&|==|!=|!|\(|\)|,|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.-]*|-?\d+(?:\.\d+)?)/y;
  let index = 0;
  while (index < text.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) {
      if (text.slice(index).trim() === '') break;
      throw new Error(`expression: cannot read ${JSON.stringify(text.slice(index))}`);
    }
    tokens.push(match[1]);
    index = pattern.lastIndex;
  }
  return tokens;
}

const truthy = (v: Value) => !(v === null || v === false || v === 0 || v === '');

function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** Evaluates `expression` (with or without `${{ }}`) against `context`. */
export function evaluate(expression: string, context: Context): Value {
  const tokens = tokenize(expression.replace(/^\s*\$\{\{|\}\}\s*$/g, ''));
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const t = tokens[at++];
    if (expected !== undefined && t !== expected)
      throw new Error(`expression: expected ${expected}, found ${t}`);
    return t;
  };
  const or = (): Value => {
    let left = and();
    while (peek() === '||') {
      take();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = not();
    while (peek() === '&&') {
      take();
      const right = not();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const not = (): Value => {
    if (peek() === '!') {
      take();
      return !truthy(not());
    }
    return compare();
  };
  const compare = (): Value => {
    const left = primary();
    if (peek() === '==' || peek() === '!=') {
      const op = take();
      const right = primary();
      return op === '==' ? equal(left, right) : !equal(left, right);
    }
    return left;
  };
  const primary = (): Value => {
    const t = take();
    if (t === undefined) throw new Error('expression: unexpected end');
    if (t === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (/^-?\d/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (peek() === '(') {
      take('(');
      take(')');
      if (t === 'always') return true;
      throw new Error(`expression: function ${t}() is not supported by this evaluator`);
    }
    let value: unknown = context;
    for (const part of t.split('.')) {
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    return value === undefined ? null : (value as Value);
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`expression: unexpected ${tokens[at]}`);
  return result;
}
