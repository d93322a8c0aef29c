/**
 * Rules 32-33 of docs/security.md, added with the bootstrap stack: state buckets refuse other accounts
 * (a shared tooling bucket: but exact roles of the accounts it lists), and databases keep deletion protection, encryption, managed credentials and no public access.
 */
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import { awsPrincipals, isWildcardPrincipal, parseJson, statements } from './iam-documents';
import { isObject, render, stringList, type ResourceEntry, type StackView } from './terraform-json';

/** Bucket policies of a bucket (`bucket = "${aws_s3_bucket.x.id}"` or its literal name). */
function bucketPolicies(view: StackView, bucket: ResourceEntry): ResourceEntry[] {
  return view
    .resources('aws_s3_bucket_policy')
    .filter((p) => view.referenced(p.body.bucket, 'aws_s3_bucket', 'bucket') === bucket);
}

/** The tag of a shared state bucket listing the other accounts it admits (`StateBucket`'s `sharedWith`). */
const SHARED_WITH_TAG = 'gantry:state-shared-with';
/** An exact role ARN: no wildcard, no account root, no user or assumed-role session. */
const EXACT_ROLE_ARN = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):role\/[\w+=,.@/-]+$/;
const ACCOUNT_ROOT = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):root$/;

/** The accounts a bucket's `gantry:state-shared-with` tag lists. */
function sharedWithAccounts(bucket: ResourceEntry): string[] {
  const tags = [bucket.body.tags, bucket.body.tags_all].find(isObject);
  const listed = tags?.[SHARED_WITH_TAG];
  return typeof listed === 'string' ? listed.split(' ').filter((a) => a !== '') : [];
}

/** `aws:PrincipalArn` values of a condition operator (`ArnEquals`, `ArnNotEquals`, ...), or undefined. */
function principalArns(
  condition: Record<string, unknown>,
  operators: readonly string[],
): string[] | undefined {
  for (const op of operators) {
    const block = condition[op];
    if (!isObject(block)) continue;
    const key = Object.keys(block).find((k) => k.toLowerCase() === 'aws:principalarn');
    if (key) return stringList(block[key]);
  }
  return undefined;
}

const sameAccountBucket = defineRule({
  id: 'GANTRY-S3-002',
  invariant: 32,
  title:
    'S3 buckets deny every principal of another account, but exact roles of the accounts a shared state bucket lists',
  publicChecks: ['CKV_AWS_70'],
  evaluate(view, report) {
    for (const bucket of view.resources('aws_s3_bucket')) {
      const listed = sharedWithAccounts(bucket);
      const docs = bucketPolicies(view, bucket).map((p) => statements(parseJson(p.body.policy)));
      // The Deny of other accounts: `aws:PrincipalAccount` is the owner's, and nothing else weakens it but
      // an `ArnNotEquals` exception of exact role ARNs of listed accounts.
      const denies = docs.flat().filter((s) => {
        if (s.effect !== 'Deny' || !(s.actions.includes('s3:*') || s.actions.includes('*'))) return false;
        const c = s.condition;
        const owner = isObject(c.StringNotEquals) ? c.StringNotEquals['aws:PrincipalAccount'] : undefined;
        const rest = Object.keys(c).filter((op) => op !== 'StringNotEquals' && op !== 'ArnNotEquals');
        return (
          typeof owner === 'string' &&
          /^\d{12}$/.test(owner) &&
          Object.keys(c.StringNotEquals as object).length === 1 &&
          rest.length === 0 &&
          (c.ArnNotEquals === undefined ||
            (isObject(c.ArnNotEquals) &&
              Object.keys(c.ArnNotEquals).length === 1 &&
              principalArns(c, ['ArnNotEquals']) !== undefined))
        );
      });
      if (denies.length === 0) {
        report(
          bucket.address,
          'no bucket policy statement denying other accounts',
          'a bucket policy denying s3:* when aws:PrincipalAccount is not the bucket owner (StringNotEquals), excepting at most exact role ARNs (ArnNotEquals aws:PrincipalArn)',
        );
        continue;
      }
      const owner = String(
        (denies[0].condition.StringNotEquals as Record<string, unknown>)['aws:PrincipalAccount'],
      );
      const admits = (arn: string, where: string) => {
        const role = EXACT_ROLE_ARN.exec(arn);
        if (!role) {
          report(
            bucket.address,
            `${where} admits ${render(arn)}`,
            'exact role ARNs (arn:aws:iam::<account>:role/<name>): no "*", no account root, no user',
          );
        } else if (role[1] !== owner && !listed.includes(role[1])) {
          report(
            bucket.address,
            `${where} admits ${render(arn)} of account ${role[1]}, which the bucket's ${SHARED_WITH_TAG} tag does not list (${render(listed.join(' '))})`,
            `roles of the bucket's account ${owner} or of the accounts of the environments that share it`,
          );
        }
      };
      for (const deny of denies) {
        for (const arn of principalArns(deny.condition, ['ArnNotEquals']) ?? [])
          admits(arn, 'the Deny of other accounts');
      }
      // Allow statements to another account name its root narrowed to exact roles, or the roles.
      for (const s of docs.flat().filter((st) => st.effect === 'Allow')) {
        const where = `bucket policy statement ${s.index}`;
        if (isWildcardPrincipal(s.principal) || s.notPrincipal !== undefined) {
          report(
            bucket.address,
            `${where} allows ${render(s.principal ?? { NotPrincipal: s.notPrincipal })}`,
            'named principals, never "*"',
          );
          continue;
        }
        const narrowed = principalArns(s.condition, ['ArnEquals', 'StringEquals', 'ArnLike', 'StringLike']);
        for (const principal of awsPrincipals(s.principal)) {
          const root =
            ACCOUNT_ROOT.exec(principal) ?? (/^\d{12}$/.test(principal) ? [principal, principal] : null);
          if (root && root[1] === owner) continue;
          if (!root) {
            admits(principal, where);
            continue;
          }
          if (narrowed === undefined || narrowed.length === 0) {
            report(
              bucket.address,
              `${where} allows the whole account ${root[1]}`,
              "another account's root only narrowed to exact role ARNs (ArnEquals aws:PrincipalArn)",
            );
            continue;
          }
          for (const arn of narrowed) {
            if (EXACT_ROLE_ARN.exec(arn)?.[1] !== root[1] && EXACT_ROLE_ARN.test(arn))
              report(
                bucket.address,
                `${where} narrows account ${root[1]} to ${render(arn)} of another account`,
                `roles of account ${root[1]}`,
              );
            else admits(arn, where);
          }
        }
      }
    }
  },
});

const databases = defineRule({
  id: 'GANTRY-RDS-001',
  invariant: 33,
  title: 'Databases: deletion protection, KMS-encrypted storage, managed master password, not public',
  publicChecks: ['CKV_AWS_139', 'CKV_AWS_96', 'CKV_AWS_327', 'CKV_AWS_17'],
  evaluate(view, report) {
    for (const db of view.resources('aws_rds_cluster', 'aws_db_instance')) {
      const b = db.body;
      if (b.deletion_protection !== true)
        report(
          db.address,
          `deletion_protection = ${render(b.deletion_protection)}`,
          'deletion_protection = true',
        );
      if (b.storage_encrypted !== true)
        report(db.address, `storage_encrypted = ${render(b.storage_encrypted)}`, 'storage_encrypted = true');
      if (typeof b.kms_key_id !== 'string' || b.kms_key_id === '')
        report(db.address, `kms_key_id = ${render(b.kms_key_id)}`, 'kms_key_id: a customer-managed KMS key');
      if (b.master_password !== undefined || b.master_password_wo !== undefined)
        report(db.address, 'a master_password in the configuration', 'manage_master_user_password = true');
      else if (b.manage_master_user_password !== true && b.snapshot_identifier === undefined)
        report(
          db.address,
          `manage_master_user_password = ${render(b.manage_master_user_password)}`,
          'manage_master_user_password = true (Secrets Manager holds and rotates it)',
        );
    }
    for (const db of view.resources('aws_rds_cluster_instance', 'aws_db_instance')) {
      if (db.body.publicly_accessible === true)
        report(db.address, 'publicly_accessible = true', 'publicly_accessible = false');
    }
  },
});

export const BOOTSTRAP_RULES: readonly PolicyRule[] = [sameAccountBucket, databases];
