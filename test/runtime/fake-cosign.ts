/**
 * A fake `cosign` executable for the keyless checks: written to a temp dir (put it first on PATH), it
 * answers `cosign verify --certificate-identity[-regexp] <id> --certificate-oidc-issuer <issuer> --output
 * json <ref>` from a registry of recorded signatures (`registry.json` beside it): per image reference, the
 * certificate subject and issuer it was signed with and the digest, or nothing (unsigned). Like cosign, it
 * prints the simple-signing payloads as JSON (each with a Rekor bundle of about 4 KiB, as cosign's are) when
 * the expected identity and issuer match the certificate,
 * else cosign's error text and exit 1. Every call's argv is appended to `calls.jsonl`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A recorded signature of an image reference (`<repository>:<tag>`). */
export interface RecordedSignature {
  /** The certificate's SAN: the workflow identity that signed. */
  readonly subject: string;
  readonly issuer: string;
  /** One digest per signature (several: one per publish registry); all the same unless a test says not. */
  readonly digests: readonly string[];
}

/** Per image reference: a signature, none (unsigned), or raw stdout to print with exit 0 (malformed output). */
export type FakeRegistry = Record<string, RecordedSignature | { readonly raw: string } | null>;

export interface FakeCosign {
  /** The directory to put first on PATH. */
  readonly dir: string;
  /** Replaces the recorded signatures. */
  record(registry: FakeRegistry): void;
  /** The argv of each call so far. */
  calls(): string[][];
}

const SCRIPT = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const dir = __dirname;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify(args) + '\n');
const flag = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const fail = (text) => { process.stderr.write(text + '\nmain.go:74: error during command execution: ' + text.replace(/^Error: /, '') + '\n'); process.exit(1); };
if (args[0] !== 'verify') fail('Error: unknown command ' + JSON.stringify(args[0]) + ' for "cosign"');
const exact = flag('--certificate-identity');
const regexp = flag('--certificate-identity-regexp');
const issuer = flag('--certificate-oidc-issuer');
if ((exact === undefined) === (regexp === undefined) || issuer === undefined)
  fail('Error: --certificate-identity or --certificate-identity-regexp is required for verification in keyless mode');
if (flag('--output') !== 'json') fail('Error: the fake answers --output json only');
const ref = args[args.length - 1];
const registry = JSON.parse(fs.readFileSync(path.join(dir, 'registry.json'), 'utf8'));
const signed = registry[ref];
if (signed === undefined) fail('Error: GET https://' + ref.split('/')[0] + '/v2/: MANIFEST_UNKNOWN: ' + ref + ' not found');
if (signed === null) fail('Error: no signatures found');
if (typeof signed.raw === 'string') { process.stdout.write(signed.raw); process.exit(0); }
const matches = exact !== undefined ? signed.subject === exact : new RegExp(regexp).test(signed.subject);
if (!matches || signed.issuer !== issuer)
  fail('Error: no matching signatures: none of the expected identities matched what was in the certificate, got subjects [' + signed.subject + '] with issuer ' + signed.issuer);
process.stderr.write('\nVerification for ' + ref + ' --\nThe following checks were performed on each of these signatures:\n  - The cosign claims were validated\n  - Existence of the claims in the transparency log was verified offline\n  - The code-signing certificate was verified using trusted certificate authority certificates\n');
process.stdout.write(JSON.stringify(signed.digests.map((digest) => ({
  critical: { identity: { 'docker-reference': ref.replace(/:[^/:]+$/, '') }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
  optional: { Bundle: { SignedEntryTimestamp: 'MEUCIQ...', Payload: { logIndex: 1, body: 'eyJhcGlWZXJzaW9uIjoiMC4wLjEi'.repeat(150) } }, Issuer: signed.issuer, Subject: signed.subject },
}))) + '\n');
`;

/** Writes the fake into a new temp dir. */
export function fakeCosign(): FakeCosign {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-fake-cosign-'));
  const bin = path.join(dir, 'cosign');
  fs.writeFileSync(bin, `#!${process.execPath}\n${SCRIPT}`, { mode: 0o755 });
  const record = (registry: FakeRegistry) =>
    fs.writeFileSync(path.join(dir, 'registry.json'), JSON.stringify(registry));
  record({});
  return {
    dir,
    record,
    calls: () => {
      const file = path.join(dir, 'calls.jsonl');
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as string[]);
    },
  };
}
