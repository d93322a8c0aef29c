/**
 * Redaction: what keeps secrets out of the ledger, the console and the step summary.
 * Three sources of "this is secret": the plan's own sensitivity masks (`before_sensitive`,
 * `after_sensitive`), the plan's sensitive variables, and a denylist of attribute names that look
 * secret (passwords, secrets, tokens, keys, credentials, environment variables). Known secret values
 * are also scrubbed from any free text (Terraform's error output) by `Redactor.scrub`.
 */

export const REDACTED = '(redacted)';
export const SENSITIVE = '(sensitive)';

/**
 * Attribute names whose values are never shown. Deliberately broad: showing a `kms_key_id` is worth
 * less than leaking an `api_key`.
 */
export const SECRET_NAME =
  /passw|passphrase|secret|token|credential|(^|[_.-])key($|[_.-])|^key|key$|apikey|auth|cookie|signature|salt|^env$|^environment$|environment_variables|^variables$|connection_string|dsn/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Shortest value scrubbed from free text: shorter ones (`1`, `on`) would shred ordinary words. */
const MIN_SCRUB_LENGTH = 4;

/** Collects secret values and scrubs them from text. */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;

  /** Remembers every string (and number) leaf of `value` as a secret. */
  addSecretValue(value: unknown): void {
    if (value === null || value === undefined) return;
    if (typeof value === 'string') {
      if (value.length >= MIN_SCRUB_LENGTH) {
        this.secrets.add(value);
        this.pattern = null;
      }
      return;
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      this.addSecretValue(String(value));
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) this.addSecretValue(item);
      return;
    }
    if (typeof value === 'object') for (const item of Object.values(value)) this.addSecretValue(item);
  }

  /**
   * Walks `value` along a sensitivity mask (`true` marks a sensitive subtree) and remembers the
   * sensitive leaves. Masks are small (containers and `true`s only), so this is cheap.
   */
  addMasked(value: unknown, mask: unknown): void {
    if (mask === true) {
      this.addSecretValue(value);
      return;
    }
    if (mask === null || typeof mask !== 'object' || value === null || typeof value !== 'object') return;
    if (Array.isArray(mask)) {
      if (!Array.isArray(value)) return;
      mask.forEach((m, i) => this.addMasked(value[i], m));
      return;
    }
    for (const [key, m] of Object.entries(mask as Record<string, unknown>)) {
      this.addMasked((value as Record<string, unknown>)[key], m);
    }
  }

  get size(): number {
    return this.secrets.size;
  }

  /**
   * Replaces every known secret value in `text`, and the values of `name = "value"` /
   * `"name": "value"` pairs whose name looks secret.
   */
  scrub(text: string): string {
    let out = text;
    if (this.secrets.size > 0) {
      if (!this.pattern) {
        const alternatives = [...this.secrets]
          .sort((a, b) => b.length - a.length)
          .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
        this.pattern = new RegExp(alternatives.join('|'), 'g');
      }
      out = out.replace(this.pattern, REDACTED);
    }
    return scrubAssignments(out);
  }
}

/** `password = "x"`, `"api_token": "x"`, `DB_PASSWORD=x`: keeps the name, redacts the value. */
export function scrubAssignments(text: string): string {
  // Both patterns need a ':' or '=': most short strings (addresses, names) have neither.
  if (!text.includes('=') && !text.includes(':')) return text;
  return text
    .replace(
      // The lookbehind starts names at word starts only: the same matches, without trying every
      // suffix of every word (quadratic in a long summary).
      /("?)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)\1(\s*[:=]\s*)"((?:[^"\\\n]|\\.)*)"/g,
      (whole, quote: string, name: string, sep: string, value: string) =>
        looksSecret(name) && value !== REDACTED && value !== SENSITIVE
          ? `${quote}${name}${quote}${sep}"${REDACTED}"`
          : whole,
    )
    .replace(/\b([A-Z][A-Z0-9_]*)=([^\s"']+)/g, (whole, name: string) =>
      looksSecret(name) ? `${name}=${REDACTED}` : whole,
    );
}

/**
 * A value made safe to show: keys that look secret are replaced, strings that hold JSON (container
 * definitions, policies) are parsed and treated the same way.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 32) return '...';
  if (typeof value === 'string') {
    const t = value.trimStart();
    if ((t.startsWith('{') || t.startsWith('[')) && value.length < 256 * 1024) {
      try {
        return JSON.stringify(redactValue(JSON.parse(value) as unknown, depth + 1));
      } catch {
        return value;
      }
    }
    return value;
  }
  if (Array.isArray(value)) {
    // ECS-style `[{ "name": "DB_PASSWORD", "value": "..." }]`: the name decides.
    return value.map((item) => redactValue(item, depth + 1));
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.name === 'string' && 'value' in record && looksSecret(record.name)) {
      return { ...record, value: REDACTED };
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(record)) {
      out[key] = looksSecret(key) && item !== null ? REDACTED : redactValue(item, depth + 1);
    }
    return out;
  }
  return value;
}
