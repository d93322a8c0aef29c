/**
 * `<env>-bootstrap`: the state bucket and the ledger database, their names shared with the other
 * stacks' S3 backends, the configuration's rejections, the policy over the finished stack, and real
 * Terraform (offline plan from the provider mirror). `tooling-bootstrap`: the shared tooling account's
 * bucket, which staging's stacks keep their state in (`bootstrap: { shared: true }`), validated by
 * Terraform in the same initialized directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { referenceConfig } from '../../environments';
import type { BootstrapConfig, GantryConfig } from '../../lib/config';
import { StateBucket } from '../../lib/bootstrap';
import { stateBucketName } from '../../lib/core/naming';
import { Policy } from '../../lib/policy';
import { BootstrapStack, createStacks } from '../../stacks';
import { describeWithTerraform, OfflineTerraform } from '../terraform-harness';
import { TOOLING } from '../fixtures/tooling-config';
import { problemsOf, readStack, scrubForSnapshot, synthApp, withEnvironment, type StackJson } from '../util';

const WITH_LEDGER: BootstrapConfig = { ledger: { databaseName: 'gantry_ledger' } };
const config: GantryConfig = withEnvironment('dev', (env) => ({ ...env, bootstrap: WITH_LEDGER }));
/** `config` with staging's state in the shared tooling account (one synth for both kinds). */
const withTooling: GantryConfig = {
  ...withEnvironment('staging', (env) => ({ ...env, bootstrap: { shared: true } }), config),
  tooling: TOOLING,
};
const outdir = synthApp(withTooling);
const bootstrap = readStack(outdir, 'dev-bootstrap');
const tooling = readStack(outdir, 'tooling-bootstrap');

function only(stack: StackJson, type: string): Record<string, unknown> {
  const found = Object.values(stack.resource?.[type] ?? {});
  if (found.length !== 1) throw new Error(`${found.length} ${type}`);
  return found[0];
}

describe('BootstrapStack', () => {
  test('is made only for environments with bootstrap settings, before their other stacks', () => {
    const stacks = createStacks(Testing.app(), config);
    expect(stacks.environments.get('dev')?.bootstrap?.node.id).toBe('dev-bootstrap');
    expect(stacks.environments.get('staging')?.bootstrap).toBeUndefined();
  });

  test('the other stacks of the environment keep their state in the bucket it creates, under the alias of its key', () => {
    const bucket = only(bootstrap, 'aws_s3_bucket').bucket;
    expect(bucket).toBe(stateBucketName('acme', 'dev', '111111111111'));
    for (const stack of ['dev-foundation', 'dev-services']) {
      const s3 = (readStack(outdir, stack).terraform?.backend as Record<string, Record<string, unknown>>).s3;
      expect(s3).toEqual(
        expect.objectContaining({
          bucket,
          key: `gantry/${stack}.tfstate`,
          encrypt: true,
          use_lockfile: true,
          kms_key_id: 'alias/acme-dev-tfstate',
        }),
      );
    }
    expect(Object.values(bootstrap.resource?.aws_kms_alias ?? {}).map((a) => a.name)).toContain(
      'alias/acme-dev-tfstate',
    );
    // Its own state stays local: it creates the bucket.
    expect(bootstrap.terraform?.backend).toEqual({
      local: { path: '../../../.gantry/state/dev-bootstrap.tfstate' },
    });
    // Environments without bootstrap settings keep their local state.
    expect(readStack(outdir, 'prod-foundation').terraform?.backend).toHaveProperty('local');
  });

  test('the state bucket: versioned, KMS by default, blocked, TLS and same-account only, old versions expire, kept', () => {
    expect(only(bootstrap, 'aws_s3_bucket').lifecycle).toEqual({ prevent_destroy: true });
    const policy = JSON.parse(String(only(bootstrap, 'aws_s3_bucket_policy').policy)) as {
      Statement: Array<{ Effect: string; Condition: unknown }>;
    };
    expect(policy.Statement.map((s) => [s.Effect, s.Condition])).toEqual([
      ['Deny', { Bool: { 'aws:SecureTransport': 'false' } }],
      ['Deny', { StringNotEquals: { 'aws:PrincipalAccount': '111111111111' } }],
    ]);
    const rule = (
      only(bootstrap, 'aws_s3_bucket_lifecycle_configuration').rule as Array<Record<string, unknown>>
    )[0];
    expect(rule.noncurrent_version_expiration).toEqual([{ noncurrent_days: 90 }]);
    expect(
      Object.values(bootstrap.resource?.aws_kms_key ?? {}).map((k) => [k.enable_key_rotation, k.lifecycle]),
    ).toEqual([
      [true, { prevent_destroy: true }],
      [true, { prevent_destroy: true }],
    ]);
  });

  test('the ledger: Serverless v2 with the Data API, managed and rotated password, encrypted, protected, private', () => {
    expect(only(bootstrap, 'aws_rds_cluster')).toEqual(
      expect.objectContaining({
        engine: 'aurora-postgresql',
        engine_mode: 'provisioned',
        database_name: 'gantry_ledger',
        enable_http_endpoint: true,
        manage_master_user_password: true,
        storage_encrypted: true,
        deletion_protection: true,
        skip_final_snapshot: false,
        serverlessv2_scaling_configuration: { min_capacity: 0.5, max_capacity: 2 },
        lifecycle: { prevent_destroy: true },
      }),
    );
    expect(only(bootstrap, 'aws_rds_cluster_instance')).toEqual(
      expect.objectContaining({ instance_class: 'db.serverless', publicly_accessible: false }),
    );
    expect(only(bootstrap, 'aws_db_subnet_group').subnet_ids).toEqual(
      (referenceConfig.environments[0].network as unknown as { privateSubnetIds: string[] }).privateSubnetIds,
    );
    expect(only(bootstrap, 'aws_security_group').ingress).toBeUndefined();
    expect(only(bootstrap, 'aws_secretsmanager_secret_rotation').rotation_rules).toEqual({
      automatically_after_days: 7,
    });
    expect(String(bootstrap.output?.ledger_url?.value)).toMatch(
      /^rds-data:\/\/\$\{aws_rds_cluster\.[\w-]+\.arn\}\?secret=\$\{element\(aws_rds_cluster\.[\w-]+\.master_user_secret, 0\)\.secret_arn\}&database=gantry_ledger$/,
    );
  });

  test("the writer login's secret: the container only, under the ledger's key, kept; its URL beside the owner's", () => {
    const secret = only(bootstrap, 'aws_secretsmanager_secret');
    expect(secret).toEqual(
      expect.objectContaining({ name: 'acme-dev-ledger-writer', lifecycle: { prevent_destroy: true } }),
    );
    const ledgerKey = Object.entries(bootstrap.resource?.aws_kms_key ?? {}).find(([name]) =>
      name.startsWith('ledger_key'),
    );
    expect(ledgerKey).toBeDefined();
    expect(secret.kms_key_id).toBe(`\${aws_kms_key.${ledgerKey?.[0]}.arn}`);
    // No value in the configuration, so none in the state: `gantry bootstrap` puts it.
    expect(bootstrap.resource?.aws_secretsmanager_secret_version).toBeUndefined();
    const cluster = Object.keys(bootstrap.resource?.aws_rds_cluster ?? {})[0];
    const writer = Object.keys(bootstrap.resource?.aws_secretsmanager_secret ?? {})[0];
    expect(bootstrap.output?.ledger_writer_url?.value).toBe(
      `rds-data://\${aws_rds_cluster.${cluster}.arn}?secret=\${aws_secretsmanager_secret.${writer}.arn}&database=gantry_ledger`,
    );
    expect(bootstrap.output?.ledger_writer_secret_arn?.value).toBe(
      `\${aws_secretsmanager_secret.${writer}.arn}`,
    );
    expect(Object.keys(bootstrap.output ?? {})).toEqual(
      expect.arrayContaining(['ledger_url', 'ledger_cluster_arn', 'ledger_secret_arn']),
    );
  });

  test('without ledger settings there is no database', () => {
    const out = synthApp(withEnvironment('dev', (env) => ({ ...env, bootstrap: {} })));
    const stack = readStack(out, 'dev-bootstrap');
    expect(stack.resource?.aws_rds_cluster).toBeUndefined();
    expect(stack.output?.ledger_url).toBeUndefined();
    expect(stack.output?.ledger_writer_url).toBeUndefined();
    expect(stack.resource?.aws_secretsmanager_secret).toBeUndefined();
  });

  test('holds every policy rule: no violation, no suppression', () => {
    const app = Testing.app();
    const stack = new BootstrapStack(app, {
      organization: config.organization,
      environment: config.environments[0],
    });
    const report = Policy.check(stack);
    expect(report.violations).toEqual([]);
    expect(report.suppressions).toEqual([]);
  });
});

describe('the tooling bootstrap stack', () => {
  test('is made once, in the tooling account, and the sharing environment has no bootstrap stack of its own', () => {
    const stacks = createStacks(Testing.app(), withTooling);
    expect(stacks.tooling?.node.id).toBe('tooling-bootstrap');
    expect(stacks.environments.get('staging')?.bootstrap).toBeUndefined();
    expect(fs.existsSync(path.join(outdir, 'stacks', 'staging-bootstrap'))).toBe(false);
    expect(tooling.provider?.aws?.[0]).toEqual(
      expect.objectContaining({ region: 'eu-central-1', allowed_account_ids: ['444444444444'] }),
    );
    expect(tooling.terraform?.backend).toEqual({
      local: { path: '../../../.gantry/state/tooling-bootstrap.tfstate' },
    });
    expect(String(tooling.output?.state_bucket?.value)).toBe('acme-tooling-tfstate-444444444444');
  });

  test("the sharing environment's stacks keep their state in the tooling bucket, its region and its key by alias ARN", () => {
    const bucket = only(tooling, 'aws_s3_bucket').bucket;
    for (const stack of ['staging-foundation', 'staging-services']) {
      expect((readStack(outdir, stack).terraform?.backend as Record<string, unknown>).s3).toEqual({
        bucket,
        key: `gantry/${stack}.tfstate`,
        region: 'eu-central-1',
        encrypt: true,
        use_lockfile: true,
        kms_key_id: 'arn:aws:kms:eu-central-1:444444444444:alias/acme-tooling-tfstate',
      });
    }
    expect(Object.values(tooling.resource?.aws_kms_alias ?? {}).map((a) => a.name)).toEqual([
      'alias/acme-tooling-tfstate',
    ]);
  });

  test("admits exactly staging's plan, apply and deploy roles, and the bucket is otherwise the same", () => {
    const policy = JSON.parse(String(only(tooling, 'aws_s3_bucket_policy').policy)) as {
      Statement: Array<{ Sid: string; Condition?: Record<string, Record<string, unknown>> }>;
    };
    expect(policy.Statement.map((s) => s.Sid)).toEqual([
      'DenyWithoutTls',
      'DenyOtherAccounts',
      'ListStateStaging',
      'ReadStateStaging',
      'LockStateStaging',
      'WriteStateStaging',
    ]);
    expect(policy.Statement[1].Condition?.ArnNotEquals?.['aws:PrincipalArn']).toEqual([
      'arn:aws:iam::222222222222:role/acme-staging-deploy-build',
      'arn:aws:iam::222222222222:role/acme-staging-gh-apply',
      'arn:aws:iam::222222222222:role/acme-staging-gh-plan',
    ]);
    expect(only(tooling, 'aws_s3_bucket_versioning').versioning_configuration).toEqual({ status: 'Enabled' });
    expect(only(tooling, 'aws_s3_bucket_lifecycle_configuration').rule).toEqual([
      expect.objectContaining({
        noncurrent_version_expiration: [{ noncurrent_days: 90, newer_noncurrent_versions: 10 }],
      }),
    ]);
    expect(tooling.resource?.aws_rds_cluster).toBeUndefined();
  });

  test('holds every policy rule: no violation, no suppression', () => {
    const stack = createStacks(Testing.app(), withTooling).tooling!;
    const report = Policy.check(stack);
    expect(report.violations).toEqual([]);
    expect(report.suppressions).toEqual([]);
  });

  test('snapshot', () => {
    expect(scrubForSnapshot(tooling)).toMatchSnapshot();
  });
});

describe('bootstrap settings', () => {
  const dev = (bootstrap: unknown) =>
    problemsOf(withEnvironment('dev', (env) => ({ ...env, bootstrap: bootstrap as BootstrapConfig })));

  test.each([
    [
      { stateBucket: { noncurrentVersionExpiryDays: 0 } },
      'dev.bootstrap.stateBucket.noncurrentVersionExpiryDays: 0 must be a whole number of days from 1 to 3650',
    ],
    [{ ledger: { databaseName: 'postgres' } }, 'dev.bootstrap.ledger.databaseName: "postgres" must match'],
    [{ ledger: { databaseName: 'Gantry-DB' } }, 'dev.bootstrap.ledger.databaseName: "Gantry-DB" must match'],
    [
      { ledger: { engineVersion: '12.9' } },
      'dev.bootstrap.ledger.engineVersion: "12.9" is not an Aurora PostgreSQL version of 13 or later',
    ],
    [
      { ledger: { capacity: { minAcu: 4, maxAcu: 2 } } },
      'dev.bootstrap.ledger.capacity: minAcu 4 exceeds maxAcu 2',
    ],
    [
      { ledger: { capacity: { minAcu: 0.3, maxAcu: 2 } } },
      'dev.bootstrap.ledger.capacity.minAcu: 0.3 must be 0 to 256 ACUs in steps of 0.5',
    ],
    [
      { ledger: { backupRetentionDays: 36 } },
      'dev.bootstrap.ledger.backupRetentionDays: 36 must be a whole number of days from 1 to 35',
    ],
    [
      { ledger: { passwordRotationDays: 0 } },
      'dev.bootstrap.ledger.passwordRotationDays: 0 must be a whole number of days from 1 to 365',
    ],
  ])('rejects %j naming the field, the value and what is allowed', (bootstrap, message) => {
    expect(dev(bootstrap).join('\n')).toContain(message);
  });

  test('rejects a stateBackend naming another bucket: the names are computed from bootstrap', () => {
    const problems = problemsOf(
      withEnvironment('dev', (env) => ({ ...env, bootstrap: {}, stateBackend: { bucket: 'typed-by-hand' } })),
    );
    expect(problems).toContainEqual(
      expect.stringContaining(
        'dev.bootstrap: stateBackend.bucket "typed-by-hand" is not the bucket the bootstrap stack creates ("acme-dev-tfstate-111111111111")',
      ),
    );
  });

  test('rejects names whose bucket would exceed 63 characters', () => {
    const longEnv = 'a-very-long-environment-name-xy';
    const problems = problemsOf({
      ...config,
      organization: { ...config.organization, name: 'acme-platform-tooling' },
      environments: [{ ...config.environments[0], name: longEnv, bootstrap: {} }],
    });
    expect(problems.join('\n')).toContain(`${longEnv}.bootstrap: the state bucket's name`);
  });

  test('the construct checks its own props too', () => {
    const stack = new TerraformStack(Testing.app(), 'consumer');
    expect(
      () =>
        new StateBucket(stack, 'state', {
          organization: 'acme',
          environment: 'dev',
          accountId: '111111111111',
          region: 'eu-west-1',
          noncurrentVersionExpiryDays: 5000,
        }),
    ).toThrow(
      'consumer/state.stateBucket.noncurrentVersionExpiryDays: 5000 must be a whole number of days from 1 to 3650',
    );
  });
});

describeWithTerraform('terraform on dev-bootstrap and tooling-bootstrap', () => {
  test('plans dev-bootstrap offline: every resource a create, the state bucket and the ledger included; validates tooling-bootstrap with the same providers', () => {
    const tf = OfflineTerraform.prepare(path.join(outdir, 'stacks', 'dev-bootstrap'));
    try {
      tf.init();
      expect(tf.plan().status).toBe(2);
      const created = (tf.showJson().resource_changes ?? [])
        .filter((c) => c.mode === 'managed')
        .map((c) => [c.type, c.change.actions.join()]);
      expect(created.every(([, action]) => action === 'create')).toBe(true);
      expect(created.map(([type]) => type)).toEqual(
        expect.arrayContaining([
          'aws_s3_bucket',
          'aws_s3_bucket_policy',
          'aws_rds_cluster',
          'aws_rds_cluster_instance',
          'aws_secretsmanager_secret',
        ]),
      );
      // The same initialized directory (same provider, local backend) validates the tooling stack.
      fs.copyFileSync(
        path.join(outdir, 'stacks', 'tooling-bootstrap', 'cdk.tf.json'),
        path.join(tf.dir, 'cdk.tf.json'),
      );
      expect(tf.validate().stdout).toContain('The configuration is valid');
    } finally {
      tf.dispose();
    }
  });
});
