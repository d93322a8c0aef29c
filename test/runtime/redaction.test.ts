/**
 * Secrets never reach the ledger, the console or the Markdown summary. A plan generated here with
 * the real Terraform carries secrets four ways: a sensitive variable (the plan's masks), a
 * secret-looking attribute name, an `environment` map, and a JSON string with an environment list.
 * Every secret value must occur in the raw plan JSON (or the test proves nothing) and zero times in
 * what gantry writes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PgliteDriver } from '../../lib/runtime/ledger';
import { summarizePlan, type PlanDocument } from '../../lib/runtime/plan-summary';
import { Redactor, redactValue, REDACTED, scrubAssignments } from '../../lib/runtime/redaction';
import { renderSummaryMarkdown, renderSummaryText } from '../../lib/runtime/summary-render';
import { describeWithTerraform } from '../terraform-harness';
import { cleanEnv } from './env';
import { gantry, tempDir, terraformDir } from './helpers';
import { PLAN_FIXTURES } from '../util';

const FIXTURES = PLAN_FIXTURES;

/** Every string leaf of a value. */
function leaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => leaves(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => leaves(v, out));
  return out;
}

/** A mask marking every attribute of a value sensitive. */
function allSensitive(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return true;
  return Object.fromEntries(Object.keys(value).map((k) => [k, true]));
}

describe('redaction on the plan fixtures', () => {
  const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('plan.json'));

  test.each(files)('%s: with every attribute marked sensitive, no value is shown', (file) => {
    const plan = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as PlanDocument;
    const masked: PlanDocument = {
      ...plan,
      resource_changes: plan.resource_changes?.map((rc) => ({
        ...rc,
        change: {
          ...rc.change,
          before_sensitive: allSensitive(rc.change.before),
          after_sensitive: allSensitive(rc.change.after),
        },
      })),
    };
    const summary = summarizePlan(masked);
    const shown = `${renderSummaryText(summary)}\n${renderSummaryMarkdown(summary)}`;
    const addresses = (plan.resource_changes ?? []).map((rc) => rc.address).join('\n');
    const values = (plan.resource_changes ?? [])
      .flatMap((rc) => [...leaves(rc.change.before), ...leaves(rc.change.after)])
      .filter((v) => v.length >= 6 && !addresses.includes(v));
    for (const value of values) expect(shown).not.toContain(value);
    for (const d of summary.details)
      for (const a of d.attributes) {
        expect(
          [a.before, a.after].every((v) => ['(sensitive)', '(known after apply)', '(none)'].includes(v)),
        ).toBe(true);
      }
  });
});

describe('redaction rules', () => {
  test('secret-looking keys, environment lists and JSON strings are redacted; the rest is kept', () => {
    const container = JSON.stringify([
      {
        name: 'app',
        image: 'acme/app:v1',
        environment: [{ name: 'LOG_LEVEL', value: 'info' }],
        secrets: [{ name: 'DB', valueFrom: 'arn:x' }],
      },
    ]);
    expect(
      redactValue({
        name: 'app',
        password: 'hunter2',
        nested: { api_key: 'k-123', port: 8080 },
        env_list: [{ name: 'DB_PASSWORD', value: 'p@ss' }],
        container_definitions: container,
      }),
    ).toEqual({
      name: 'app',
      password: REDACTED,
      nested: { api_key: REDACTED, port: 8080 },
      env_list: [{ name: 'DB_PASSWORD', value: REDACTED }],
      container_definitions: JSON.stringify([
        { name: 'app', image: 'acme/app:v1', environment: REDACTED, secrets: REDACTED },
      ]),
    });
  });

  test('free text loses known secret values and secret-looking assignments', () => {
    const redactor = new Redactor();
    redactor.addMasked({ a: 'visible', b: { c: 'hidden-value-1' } }, { b: { c: true } });
    redactor.addSecretValue('tok$en.(x)');
    expect(redactor.scrub('a=visible c=hidden-value-1 t=tok$en.(x)')).toBe(
      `a=visible c=${REDACTED} t=${REDACTED}`,
    );
    expect(scrubAssignments('password = "p1" name = "n" "client_secret": "s2" DB_TOKEN=abc LOG=debug')).toBe(
      `password = "${REDACTED}" name = "n" "client_secret": "${REDACTED}" DB_TOKEN=${REDACTED} LOG=debug`,
    );
  });
});

describeWithTerraform('redaction on a plan with secrets, made by the real Terraform', () => {
  const v1 = { db: 'pw-v1-Zq8xQ', token: 'tok-v1-7h2kW', release: 'v1' };
  const v2 = { db: 'pw-v2-Kr4yP', token: 'tok-v2-9m3pV', release: 'v2' };
  const secrets = [v1.db, v2.db, v1.token, v2.token, 'json-embedded-SECRET-v1', 'json-embedded-SECRET-v2'];
  const tfVars = (v: typeof v1) => ({
    TF_VAR_db_password: v.db,
    TF_VAR_api_token: v.token,
    TF_VAR_release: v.release,
  });
  let dir: string;
  let ledgerDir: string;

  beforeAll(() => {
    dir = terraformDir(
      {
        variable: {
          db_password: { type: 'string', sensitive: true },
          api_token: { type: 'string' },
          release: { type: 'string' },
        },
        resource: {
          terraform_data: {
            password: { input: '${var.db_password}' },
            token: { input: { token: '${var.api_token}', release: '${var.release}' } },
            env: {
              input: {
                environment: { DB_URL: 'postgres://app:${var.api_token}@db/app' },
                release: '${var.release}',
              },
            },
            container: {
              input:
                '${jsonencode([{ name = "app", image = "acme/app:${var.release}", environment = [{ name = "SESSION_KEY", value = "json-embedded-SECRET-${var.release}" }] }])}',
            },
          },
        },
        output: { password_out: { value: '${var.db_password}', sensitive: true } },
      },
      'secrets',
    );
    ledgerDir = tempDir('secrets-ledger');
    // The stack exists with the v1 secrets; the plan under test changes every one of them.
    const env = { ...cleanEnv(process.env), ...tfVars(v1) };
    for (const args of [
      ['init', '-input=false'],
      ['apply', '-auto-approve', '-input=false'],
    ]) {
      const r = spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`terraform ${args[0]}: ${r.stderr}`);
    }
  });

  test('zero occurrences in stdout, the step summary, `show` and the ledger rows', async () => {
    const summaryFile = path.join(tempDir('secrets-summary'), 'summary.md');
    const env = cleanEnv(process.env, {
      GANTRY_LEDGER_URL: `pglite:${ledgerDir}`,
      GANTRY_COMMIT_SHA: 'b'.repeat(40),
      GITHUB_STEP_SUMMARY: summaryFile,
      ...tfVars(v2),
    });
    const plan = await gantry(['plan', 'secrets', '--dir', dir], env);
    expect(plan.code).toBe(0);

    const raw = spawnSync('terraform', ['show', '-json', 'gantry.tfplan'], {
      cwd: dir,
      encoding: 'utf8',
    }).stdout;
    for (const secret of secrets) expect(raw).toContain(secret);
    fs.writeFileSync(path.join(dir, 'plan.json'), raw);

    // `show` of the same plan JSON, in an environment that knows none of the secrets.
    const shown = await gantry(['show', path.join(dir, 'plan.json')], {});
    const shownMarkdown = await gantry(['show', path.join(dir, 'plan.json'), '--markdown'], {});
    expect(shown.code).toBe(0);
    expect(shownMarkdown.code).toBe(0);

    const driver = await PgliteDriver.open(ledgerDir);
    const rows = await driver.query('SELECT CAST(row_to_json(t) AS text) AS row FROM terraform_runs t');
    await driver.close();
    expect(rows).toHaveLength(1);

    const outputs = {
      stdout: plan.stdout + plan.stderr,
      stepSummary: fs.readFileSync(summaryFile, 'utf8'),
      show: shown.stdout,
      showMarkdown: shownMarkdown.stdout,
      ledger: rows.map((r) => String(r.row)).join('\n'),
    };
    for (const [where, text] of Object.entries(outputs)) {
      for (const secret of secrets) {
        if (text.includes(secret)) throw new Error(`secret ${secret} found in ${where}`);
      }
    }
    // The summary still says what changes, just not the secret values.
    expect(shown.stdout).toContain('Plan: 0 to create, 4 to update, 0 to replace, 0 to delete, 0 to read.');
    expect(shown.stdout).toContain('~ terraform_data.password (update)');
    expect(shown.stdout).toMatch(/input: \(sensitive\) -> \(sensitive\)/);
    expect(shown.stdout).toContain(`"token":"${REDACTED}"`);
    expect(shown.stdout).toContain(`"environment":"${REDACTED}"`);
    expect(shownMarkdown.stdout).toContain('`terraform_data.container` **update**');
  });

  test('a failing plan records a redacted error summary', async () => {
    const env = cleanEnv(process.env, {
      GANTRY_LEDGER_URL: `pglite:${ledgerDir}`,
      GANTRY_COMMIT_SHA: 'b'.repeat(40),
      ...tfVars(v2),
    });
    // A validation that echoes the (non-sensitive) variable's value in Terraform's diagnostic.
    const failing = terraformDir(
      {
        variable: {
          api_token: {
            type: 'string',
            validation: [
              { condition: '${length(var.api_token) > 100}', error_message: 'api_token is too short.' },
            ],
          },
        },
        resource: { terraform_data: { t: { input: '${var.api_token}' } } },
      },
      'failing',
    );
    const result = await gantry(['plan', 'failing', '--dir', failing], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('api_token is too short.');
    const runs = await gantry(['runs', '--json', '--stack', 'failing'], env);
    const [row] = JSON.parse(runs.stdout) as Array<{ status: string; errorSummary: string }>;
    expect(row.status).toBe('failed');
    expect(row.errorSummary).toContain('terraform plan exited 1');
    for (const text of [result.stdout, result.stderr, runs.stdout]) expect(text).not.toContain(v2.token);
  });
});
