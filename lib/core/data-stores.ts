/**
 * Resource types that hold data: destroying one loses it. One list for the policy (they must carry
 * `prevent_destroy`, docs/security.md 20) and the plan summary (destroying one is a loud warning).
 */
export const DATA_STORE_TYPES: Readonly<Record<string, string>> = {
  aws_ecr_repository: 'ECR repository',
  aws_kms_key: 'KMS key',
  aws_cloudwatch_log_group: 'CloudWatch log group',
  aws_s3_bucket: 'S3 bucket',
  aws_db_instance: 'RDS database',
  aws_rds_cluster: 'Aurora cluster',
  aws_docdb_cluster: 'DocumentDB cluster',
  aws_dynamodb_table: 'DynamoDB table',
  aws_efs_file_system: 'EFS file system',
  aws_elasticache_cluster: 'ElastiCache cluster',
  aws_elasticache_replication_group: 'ElastiCache replication group',
  aws_secretsmanager_secret: 'Secrets Manager secret',
  aws_backup_vault: 'backup vault',
};
