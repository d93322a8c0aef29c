/**
 * Rules 32-33 of docs/security.md, added with the bootstrap stack: state buckets refuse other accounts,
 * and databases keep deletion protection, encryption, managed credentials and no public access.
 */
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import { parseJson, statements } from './iam-documents';
import { render, type ResourceEntry, type StackView } from './terraform-json';

/** Bucket policies of a bucket (`bucket = "${aws_s3_bucket.x.id}"` or its literal name). */
function bucketPolicies(view: StackView, bucket: ResourceEntry): ResourceEntry[] {
  return view
    .resources('aws_s3_bucket_policy')
    .filter((p) => view.referenced(p.body.bucket, 'aws_s3_bucket', 'bucket') === bucket);
}

const sameAccountBucket = defineRule({
  id: 'GANTRY-S3-002',
  invariant: 32,
  title: 'S3 buckets deny every principal of another account',
  publicChecks: ['CKV_AWS_70'],
  evaluate(view, report) {
    for (const bucket of view.resources('aws_s3_bucket')) {
      const denies = bucketPolicies(view, bucket).some((p) =>
        statements(parseJson(p.body.policy)).some(
          (s) =>
            s.effect === 'Deny' &&
            (s.actions.includes('s3:*') || s.actions.includes('*')) &&
            /"StringNotEquals":\{"aws:PrincipalAccount":"\d{12}"\}/.test(JSON.stringify(s.condition)),
        ),
      );
      if (!denies) {
        report(
          bucket.address,
          'no bucket policy statement denying other accounts',
          'a bucket policy denying s3:* when aws:PrincipalAccount is not the bucket owner (StringNotEquals)',
        );
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
