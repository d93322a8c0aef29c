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
import { evaluate } from '../iam-evaluator';
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

describe("the roles' identity policies reach their environment's state in the bootstrap bucket, and only it", () => {
  /** A role's documents: its inline policies and the policies of the stack attached to it (not AWS's). */
  function documentsOf(stack: StackJson, name: string): string[] {
    const [key] = Object.entries(stack.resource?.aws_iam_role ?? {}).find(([, r]) => r.name === name) ?? [];
    if (key === undefined) throw new Error(`no role ${name}`);
    const ref = `\${aws_iam_role.${key}.name}`;
    const inline = Object.values(stack.resource?.aws_iam_role_policy ?? {})
      .filter((p) => p.role === ref)
      .map((p) => String(p.policy));
    const attached = Object.values(stack.resource?.aws_iam_role_policy_attachment ?? {})
      .filter((a) => a.role === ref)
      .flatMap((a) => {
        const local = /^\$\{aws_iam_policy\.([^.]+)\.arn\}$/.exec(String(a.policy_arn));
        return local ? [String(stack.resource?.aws_iam_policy?.[local[1]].policy)] : [];
      });
    return [...inline, ...attached];
  }
  /** What ReadOnlyAccess (and more) would allow: the Denies must beat it. */
  const everything = { Statement: { Effect: 'Allow' as const, Action: '*', Resource: '*' } };
  const cases = [
    {
      kind: 'its own bucket (bootstrap set)',
      env: 'dev',
      bucket: 'acme-dev-tfstate-111111111111',
      alias: 'alias/acme-dev-tfstate',
      key: 'arn:aws:kms:eu-west-1:111111111111:key/0a1d0000-0000-4000-8000-0000000000aa',
      region: 'eu-west-1',
      // Another environment's state in the same bucket, and in the other bucket.
      others: [
        'arn:aws:s3:::acme-dev-tfstate-111111111111/gantry/prod-foundation.tfstate',
        'arn:aws:s3:::acme-tooling-tfstate-444444444444/gantry/staging-services.tfstate',
      ],
    },
    {
      kind: 'the tooling bucket (bootstrap.shared)',
      env: 'staging',
      bucket: 'acme-tooling-tfstate-444444444444',
      alias: 'alias/acme-tooling-tfstate',
      key: 'arn:aws:kms:eu-central-1:444444444444:key/0d4e0000-0000-4000-8000-0000000000bb',
      region: 'eu-central-1',
      others: [
        'arn:aws:s3:::acme-tooling-tfstate-444444444444/gantry/dev-foundation.tfstate',
        'arn:aws:s3:::acme-tooling-tfstate-444444444444/gantry/prod-services.tfstate',
        'arn:aws:s3:::acme-dev-tfstate-111111111111/gantry/dev-services.tfstate',
      ],
    },
  ];

  describe.each(cases)('$env, state in $kind', ({ env, bucket, alias, key, region, others }) => {
    const foundation = readStack(outdir, `${env}-foundation`);
    const plan = documentsOf(foundation, `acme-${env}-gh-plan`);
    const deploy = documentsOf(foundation, `acme-${env}-deploy-build`);
    const object = (stack: string, lock = false) =>
      `arn:aws:s3:::${bucket}/gantry/${env}-${stack}.tfstate${lock ? '.tflock' : ''}`;
    const s3 = (action: string, resource: string) => ({ action, resource, context: {} });
    const viaS3 = { 'kms:ViaService': `s3.${region}.amazonaws.com` };
    const withKey = (action: string, aliases: string[] | undefined, resource = key) => ({
      action,
      resource,
      context: { ...viaS3, ...(aliases ? { 'kms:ResourceAliases': aliases } : {}) },
    });

    test('the plan role reads its state keys, takes their locks and uses the state key through S3', () => {
      for (const stack of ['foundation', 'services']) {
        expect(evaluate(plan, s3('s3:GetObject', object(stack)))).toBe('allow');
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
          expect(evaluate(plan, s3(action, object(stack, true)))).toBe('allow');
        expect(evaluate(plan, s3('s3:PutObject', object(stack)))).toBe('implicit-deny');
      }
      expect(
        evaluate(plan, {
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${bucket}`,
          context: { 's3:prefix': `gantry/${env}-services.tfstate` },
        }),
      ).toBe('allow');
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey'])
        expect(evaluate(plan, withKey(action, [alias, 'alias/something-else']))).toBe('allow');
    });

    test("the plan role may not decrypt with another key, nor read another environment's state", () => {
      const docs = [everything, ...plan];
      for (const aliases of [['alias/acme-prod-secrets'], [], undefined])
        expect(evaluate(docs, withKey('kms:Decrypt', aliases))).toBe('deny');
      // The state key's alias on a key of another account is no grant of its own.
      expect(
        evaluate(plan, withKey('kms:Decrypt', [alias], 'arn:aws:kms:eu-west-1:999999999999:key/k')),
      ).toBe('implicit-deny');
      for (const other of others) {
        expect(evaluate(docs, s3('s3:GetObject', other))).toBe('deny');
        expect(evaluate(plan, s3('s3:PutObject', `${other}.tflock`))).toBe('implicit-deny');
      }
    });

    test("the deploy project role reads, locks and writes the services state, not the foundation's", () => {
      for (const action of ['s3:GetObject', 's3:PutObject'])
        expect(evaluate(deploy, s3(action, object('services')))).toBe('allow');
      for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
        expect(evaluate(deploy, s3(action, object('services', true)))).toBe('allow');
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey'])
        expect(evaluate(deploy, withKey(action, [alias]))).toBe('allow');
      expect(evaluate(deploy, withKey('kms:Decrypt', ['alias/acme-prod-secrets']))).toBe('implicit-deny');
      expect(evaluate(deploy, s3('s3:PutObject', object('foundation')))).toBe('implicit-deny');
      for (const other of others) expect(evaluate(deploy, s3('s3:PutObject', other))).toBe('implicit-deny');
    });
  });

  test('the pull-request plan role reads its state but writes no lock and only decrypts', () => {
    const pr = documentsOf(readStack(outdir, 'dev-foundation'), 'acme-dev-gh-plan-pr');
    const state = 'arn:aws:s3:::acme-dev-tfstate-111111111111/gantry/dev-services.tfstate';
    expect(evaluate(pr, { action: 's3:GetObject', resource: state, context: {} })).toBe('allow');
    for (const action of ['s3:PutObject', 's3:DeleteObject'])
      expect(evaluate([everything, ...pr], { action, resource: `${state}.tflock`, context: {} })).toBe(
        'deny',
      );
    const key = {
      resource: 'arn:aws:kms:eu-west-1:111111111111:key/0a1d0000-0000-4000-8000-0000000000aa',
      context: {
        'kms:ResourceAliases': ['alias/acme-dev-tfstate'],
        'kms:ViaService': 's3.eu-west-1.amazonaws.com',
      },
    };
    expect(evaluate(pr, { action: 'kms:Decrypt', ...key })).toBe('allow');
    expect(evaluate(pr, { action: 'kms:GenerateDataKey', ...key })).toBe('implicit-deny');
  });

  test('the foundation stacks hold every policy rule, GANTRY-IAM-012 included', () => {
    const stacks = createStacks(Testing.app(), withTooling);
    for (const env of ['dev', 'staging']) {
      const report = Policy.check(stacks.environments.get(env)!.foundation);
      expect(report.violations).toEqual([]);
    }
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
