/**
 * A small evaluator of GitHub Actions expressions (the subset the generated workflows use in `if:`):
 * `&&`, `||`, `!`, `==`, `!=`, parentheses, string/number/boolean/null literals, context paths
 * (`github.event.pull_request.head.repo.full_name`), index and property access on any value
 * (`fromJSON(x)['dev'].tag_args`), the status functions `always()` and `cancelled()` (from the context's
 * `cancelled`, default false), `contains()` and `fromJSON()`. It follows GitHub's rules: `&&`/`||` yield an
 * operand, strings compare case-insensitively, a missing property is null. Anything else throws, so a
 * workflow using more fails the test that evaluates it.
 */
type Value = string | number | boolean | null | Record<string, unknown> | unknown[];

export type Context = Record<string, unknown>;

function property(value: unknown, key: unknown): Value {
  if (value === null || typeof value !== 'object') return null;
  const found = (value as Record<string, unknown>)[String(key)];
  return found === undefined ? null : (found as Value);
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern =
    /\s*(\|\||&&|==|!=|!|\(|\)|\[|\]|,|'(?:[^']|'')*'|\.[A-Za-z_][A-Za-z0-9_-]*|[A-Za-z_][A-Za-z0-9_.-]*|-?\d+(?:\.\d+)?)/y;
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
    let value = atom();
    for (;;) {
      if (peek() === '[') {
        take('[');
        const key = or();
        take(']');
        value = property(value, key);
      } else if (peek()?.startsWith('.')) {
        value = property(value, take().slice(1));
      } else return value;
    }
  };
  const call = (name: string): Value => {
    take('(');
    const args: Value[] = [];
    while (peek() !== ')') {
      args.push(or());
      if (peek() === ',') take(',');
    }
    take(')');
    if (name === 'always' && args.length === 0) return true;
    if (name === 'cancelled' && args.length === 0) return context.cancelled === true;
    if (name === 'fromJSON' && args.length === 1) return JSON.parse(String(args[0])) as Value;
    if (name === 'contains' && args.length === 2) {
      const [search, item] = args;
      if (Array.isArray(search)) return search.some((v) => equal(v as Value, item));
      return String(search ?? '')
        .toLowerCase()
        .includes(String(item ?? '').toLowerCase());
    }
    throw new Error(`expression: function ${name}() is not supported by this evaluator`);
  };
  const atom = (): Value => {
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
    if (peek() === '(') return call(t);
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
