/**
 * Whether a plain environment variable name looks like it carries a secret. The upper-cased name is
 * split into words at every character that is not a letter or digit (`DB_PASSWORD` -> `DB`,
 * `PASSWORD`). A name is secret-looking when one word
 * - is one of the exact words below (`KEY`, `API_KEY`, but not `KEYBOARD_LAYOUT` or `MONKEY_MODE`), or
 * - ends with one of the long, unambiguous stems (`DBPASSWORD`, `CLIENTSECRET`, `GITHUBTOKEN`;
 *   `TOKENIZER_MODEL` does not end with `TOKEN`, so it passes).
 * Such values belong in `secrets` (SSM / Secrets Manager ARNs), never in `environment`.
 */
const SECRET_WORDS = new Set([
  'PASSWORD',
  'PASSWORDS',
  'PASSWD',
  'PWD',
  'PASSPHRASE',
  'SECRET',
  'SECRETS',
  'TOKEN',
  'TOKENS',
  'KEY',
  'KEYS',
  'APIKEY',
  'PRIVATEKEY',
  'ACCESSKEY',
  'CREDENTIAL',
  'CREDENTIALS',
  'CREDS',
  'PRIVATE',
  'CERT',
  'PEM',
  'DSN',
]);

const SECRET_STEMS = ['PASSWORD', 'PASSWD', 'SECRET', 'TOKEN', 'CREDENTIAL', 'CREDENTIALS', 'APIKEY'];

/** The word that makes `name` look secret, or `undefined` when it looks plain. */
export function secretLikeWord(name: string): string | undefined {
  const words = name
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
  return words.find((w) => SECRET_WORDS.has(w) || SECRET_STEMS.some((stem) => w.endsWith(stem)));
}

/**
 * Whether a name looks like it holds a secret (see `secretLikeWord`). One definition for the
 * constructs that refuse such names and the policy rules that check the synthesized JSON.
 */
export function looksLikeSecretName(name: string): boolean {
  return secretLikeWord(name) !== undefined;
}
