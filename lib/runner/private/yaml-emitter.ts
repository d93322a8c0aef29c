/**
 * A minimal YAML emitter for buildspecs: mappings, sequences, strings, numbers and booleans.
 * Strings are written as JSON strings (valid YAML double-quoted scalars), so no value can change
 * meaning (`on`, `0.2`, `: `...). It keeps the `yaml` library (70 modules) off the synth path.
 */
export type YamlValue =
  string | number | boolean | readonly YamlValue[] | { readonly [key: string]: YamlValue };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function toYaml(value: YamlValue): string {
  return `${emit(value, 0).join('\n')}\n`;
}

function scalar(value: string | number | boolean): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
  return String(value);
}

function key(name: string): string {
  return PLAIN_KEY.test(name) ? name : JSON.stringify(name);
}

function isScalar(value: YamlValue): value is string | number | boolean {
  return typeof value !== 'object';
}

function emit(value: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (isScalar(value)) return [`${pad}${scalar(value)}`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item: YamlValue) =>
      isScalar(item) ? [`${pad}- ${scalar(item)}`] : [`${pad}-`, ...emit(item, indent + 2)],
    );
  }
  const entries = Object.entries(value as { readonly [key: string]: YamlValue });
  if (entries.length === 0) return [`${pad}{}`];
  return entries.flatMap(([k, v]) =>
    isScalar(v) ? [`${pad}${key(k)}: ${scalar(v)}`] : [`${pad}${key(k)}:`, ...emit(v, indent + 2)],
  );
}
