/**
 * A shared tooling account's state bucket (`StateBucket` with `sharedWith`): its bucket and key policies
 * decided by the IAM evaluator for the sharing environments' roles, another account's role and a request
 * without TLS; and GANTRY-S3-002 (docs/security.md 32), which admits exactly the roles of the accounts the
 * bucket lists and fails a bucket admitting any other.
 */
import { Testing, TerraformStack } from 'cdktf';
import { sharedStateRoles, toolingStateBackend } from '../../../lib/config';
import { StateBucket, STATE_SHARED_WITH_TAG } from '../../../lib/bootstrap';
import { Policy, POLICY_RULES } from '../../../lib/policy';
import { TOOLING, toolingConfig } from '../../fixtures/tooling-config';
import { evaluate, type EvaluationRequest, type PolicyDocument } from '../../iam-evaluator';
import type { StackJson } from '../../util';

const BUCKET = 'acme-tooling-tfstate-444444444444';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const backend = toolingStateBackend('acme', TOOLING);
const [dev, staging] = toolingConfig.environments;
const sharedWith = [sharedStateRoles('acme', dev, backend), sharedStateRoles('acme', staging, backend)];

function synthBucket(): StackJson {
  const stack = new TerraformStack(Testing.app(), 'tooling-bootstrap');
  new StateBucket(stack, 'state', {
    organization: 'acme',
    environment: TOOLING.name,
    accountId: TOOLING.accountId,
    region: TOOLING.region,
    sharedWith,
  });
  return JSON.parse(Testing.synth(stack)) as StackJson;
}

const json = synthBucket();
const only = (type: string) => Object.values(json.resource?.[type] ?? {})[0];
const bucketPolicy = JSON.parse(String(only('aws_s3_bucket_policy').policy)) as PolicyDocument;
const keyPolicy = JSON.parse(String(only('aws_kms_key').policy)) as PolicyDocument;

const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const DEV_APPLY = role('111111111111', 'acme-dev-gh-apply');
const DEV_PLAN = role('111111111111', 'acme-dev-gh-plan');
const DEV_PR_PLAN = role('111111111111', 'acme-dev-gh-plan-pr');
const STAGING_APPLY = role('222222222222', 'acme-staging-gh-apply');

/** A request to the bucket by a role, over TLS unless said otherwise. */
function s3(roleArn: string, action: string, key?: string, tls = true): EvaluationRequest {
  const account = roleArn.split(':')[4];
  return {
    action,
    resource: key === undefined ? BUCKET_ARN : `${BUCKET_ARN}/${key}`,
    principal: { type: 'AWS', id: roleArn },
    context: {
      'aws:PrincipalArn': roleArn,
      'aws:PrincipalAccount': account,
      'aws:SecureTransport': tls ? 'true' : 'false',
    },
  };
}

describe('a shared state bucket, decided by the IAM evaluator', () => {
  test("the environment's apply role may get and put its state under gantry/, and take its lock", () => {
    for (const key of ['gantry/dev-foundation.tfstate', 'gantry/dev-services.tfstate']) {
      expect(evaluate([bucketPolicy], s3(DEV_APPLY, 's3:GetObject', key))).toBe('allow');
      expect(evaluate([bucketPolicy], s3(DEV_APPLY, 's3:PutObject', key))).toBe('allow');
      expect(evaluate([bucketPolicy], s3(DEV_APPLY, 's3:DeleteObject', `${key}.tflock`))).toBe('allow');
    }
    expect(evaluate([bucketPolicy], s3(DEV_APPLY, 's3:ListBucket'))).toBe('allow');
  });

  test('the plan roles read and never write the state; the pull-request one takes no lock', () => {
    const key = 'gantry/dev-foundation.tfstate';
    expect(evaluate([bucketPolicy], s3(DEV_PLAN, 's3:GetObject', key))).toBe('allow');
    expect(evaluate([bucketPolicy], s3(DEV_PLAN, 's3:PutObject', `${key}.tflock`))).toBe('allow');
    expect(evaluate([bucketPolicy], s3(DEV_PLAN, 's3:PutObject', key))).toBe('implicit-deny');
    expect(evaluate([bucketPolicy], s3(DEV_PR_PLAN, 's3:GetObject', key))).toBe('allow');
    expect(evaluate([bucketPolicy], s3(DEV_PR_PLAN, 's3:PutObject', `${key}.tflock`))).toBe('implicit-deny');
  });

  test("one environment's roles cannot reach another environment's state", () => {
    expect(evaluate([bucketPolicy], s3(DEV_APPLY, 's3:GetObject', 'gantry/staging-services.tfstate'))).toBe(
      'implicit-deny',
    );
    expect(evaluate([bucketPolicy], s3(STAGING_APPLY, 's3:PutObject', 'gantry/dev-services.tfstate'))).toBe(
      'implicit-deny',
    );
  });

  test('a role of another account is denied, an unlisted role of a sharing account too', () => {
    for (const other of [role('999999999999', 'acme-dev-gh-apply'), role('111111111111', 'admin')]) {
      expect(evaluate([bucketPolicy], s3(other, 's3:GetObject', 'gantry/dev-services.tfstate'))).toBe('deny');
      expect(evaluate([bucketPolicy], s3(other, 's3:ListBucket'))).toBe('deny');
    }
  });

  test('a request without TLS is denied, even from an admitted role or the tooling account', () => {
    expect(
      evaluate([bucketPolicy], s3(DEV_APPLY, 's3:GetObject', 'gantry/dev-services.tfstate', false)),
    ).toBe('deny');
    expect(
      evaluate(
        [bucketPolicy],
        s3(role('444444444444', 'admin'), 's3:GetObject', 'gantry/dev-services.tfstate', false),
      ),
    ).toBe('deny');
  });

  test('the key: the sharing roles may encrypt and decrypt through S3 of its region only', () => {
    const kms = (roleArn: string, action: string, via: string) =>
      evaluate([keyPolicy], {
        action,
        resource: '*',
        principal: { type: 'AWS', id: roleArn },
        context: { 'aws:PrincipalArn': roleArn, 'kms:ViaService': via },
      });
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt']) {
      expect(kms(DEV_APPLY, action, 's3.eu-central-1.amazonaws.com')).toBe('allow');
      expect(kms(STAGING_APPLY, action, 's3.eu-central-1.amazonaws.com')).toBe('allow');
    }
    expect(kms(DEV_APPLY, 'kms:Decrypt', 'secretsmanager.eu-central-1.amazonaws.com')).toBe('implicit-deny');
    expect(kms(DEV_APPLY, 'kms:ScheduleKeyDeletion', 's3.eu-central-1.amazonaws.com')).toBe('implicit-deny');
    expect(kms(role('111111111111', 'admin'), 'kms:Decrypt', 's3.eu-central-1.amazonaws.com')).toBe(
      'implicit-deny',
    );
  });

  test('refuses more sharing accounts than the tag can list and a policy over 20 KB, naming both limits', () => {
    const many = Array.from({ length: 20 }, (_, i) =>
      sharedStateRoles(
        'acme',
        { ...dev, name: `env${i}`, accountId: `5000000000${String(i).padStart(2, '0')}` },
        backend,
      ),
    );
    const make = () =>
      new StateBucket(new TerraformStack(Testing.app(), 'tooling-bootstrap'), 'state', {
        ...TOOLING,
        organization: 'acme',
        environment: TOOLING.name,
        sharedWith: many,
      });
    expect(make).toThrow(
      "tooling-bootstrap/state.sharedWith: 20 other accounts; the bucket's gantry:state-shared-with tag lists at most 19",
    );
    expect(make).toThrow(
      /tooling-bootstrap\/state\.sharedWith: the bucket policy would be \d+ bytes, S3 allows 20480/,
    );
  });

  test('the bucket lists the accounts it admits in its tag', () => {
    expect((only('aws_s3_bucket').tags as Record<string, string>)[STATE_SHARED_WITH_TAG]).toBe(
      '111111111111 222222222222',
    );
  });
});

describe('GANTRY-S3-002 on a shared state bucket', () => {
  const rule = POLICY_RULES.find((r) => r.id === 'GANTRY-S3-002')!;

  /** The bucket's JSON with its policy changed. */
  function withPolicy(change: (statements: Array<Record<string, unknown>>) => void): StackJson {
    const copy = JSON.parse(JSON.stringify(json)) as StackJson;
    const policy = Object.values(copy.resource?.aws_s3_bucket_policy ?? {})[0];
    const doc = JSON.parse(String(policy.policy)) as { Statement: Array<Record<string, unknown>> };
    change(doc.Statement);
    policy.policy = JSON.stringify(doc);
    return copy;
  }
  const deny = (statements: Array<Record<string, unknown>>) =>
    statements.find((s) => s.Sid === 'DenyOtherAccounts') as {
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': string[] } };
    };

  test('the tooling bucket holds it, as it holds every rule', () => {
    expect(rule.check(json)).toEqual([]);
    const stack = new TerraformStack(Testing.app(), 'tooling-bootstrap');
    new StateBucket(stack, 'state', {
      ...TOOLING,
      organization: 'acme',
      environment: TOOLING.name,
      sharedWith,
    });
    expect(Policy.check(stack).violations).toEqual([]);
  });

  test('a bucket admitting a role of an account its tag does not list fails', () => {
    const findings = rule.check(
      withPolicy((s) =>
        deny(s).Condition.ArnNotEquals['aws:PrincipalArn'].push(role('999999999999', 'intruder')),
      ),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        found: expect.stringContaining(
          'the Deny of other accounts admits "arn:aws:iam::999999999999:role/intruder" of account 999999999999, which the bucket\'s gantry:state-shared-with tag does not list',
        ),
      }),
    ]);
  });

  test.each([
    ['a wildcard role', role('111111111111', 'acme-dev-*')],
    ['a whole account', 'arn:aws:iam::111111111111:root'],
    ['everyone', '*'],
  ])('an exception for %s fails', (_what, arn) => {
    const findings = rule.check(
      withPolicy((s) => deny(s).Condition.ArnNotEquals['aws:PrincipalArn'].push(arn)),
    );
    expect(findings.map((f) => f.found)).toEqual([
      `the Deny of other accounts admits ${JSON.stringify(arn)}`,
    ]);
  });

  test("an Allow to another account's root without the role narrowing, or to everyone, fails", () => {
    const open = withPolicy((s) => {
      for (const st of s) if (st.Sid === 'ReadStateDev') delete st.Condition;
      s.push({
        Sid: 'Everyone',
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `${BUCKET_ARN}/*`,
      });
    });
    expect(rule.check(open).map((f) => f.found)).toEqual([
      expect.stringMatching(/allows the whole account 111111111111$/),
      expect.stringMatching(/allows "\*"$/),
    ]);
  });

  test('a Deny weakened by another condition is no Deny of other accounts', () => {
    const weakened = withPolicy((s) => {
      (deny(s).Condition as Record<string, unknown>).Bool = { 'aws:ViaAWSService': 'false' };
    });
    expect(rule.check(weakened).map((f) => f.found)).toEqual([
      'no bucket policy statement denying other accounts',
    ]);
  });
});
