/**
 * Data-plane reads: the calls that return what a service stores (objects, secrets, parameter values,
 * items, log events, messages, function code, image layers), as opposed to metadata reads (describe,
 * list, get-configuration). AWS's ReadOnlyAccess grants both. A role that pull-request code can assume
 * denies these explicitly, in the role itself, so no attached policy reopens them (docs/security.md,
 * invariant 24); Gantry's plan roles deny them too, outside what the plan of their own stacks reads.
 */
export const DATA_PLANE_READ_ACTIONS: readonly string[] = [
  // S3 objects (every state file, with its secrets, is one).
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectTorrent',
  's3:GetObjectVersionTorrent',
  's3:RestoreObject',
  // Parameter values (SecureString ones decrypted), secrets.
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'ssm:GetParameterHistory',
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'kms:Decrypt',
  // Table items and streams.
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:GetRecords',
  'dynamodb:PartiQLSelect',
  'dynamodb:ExportTableToPointInTime',
  // Log events and queries.
  'logs:GetLogEvents',
  'logs:FilterLogEvents',
  'logs:StartQuery',
  'logs:GetQueryResults',
  'logs:StartLiveTail',
  'logs:GetLogRecord',
  'logs:Unmask',
  // Messages and streams.
  'sqs:ReceiveMessage',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  // Function code and configuration (environment values in clear).
  'lambda:GetFunction',
  'lambda:GetFunctionConfiguration',
  // Image layers.
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  // Query results and database contents.
  'athena:GetQueryResults',
  'rds-data:ExecuteStatement',
  'rds-data:BatchExecuteStatement',
  'rds:DownloadDBLogFilePortion',
  'rds:DownloadCompleteDBLogFile',
  // Instance secrets and console output.
  'ec2:GetPasswordData',
  'ec2:GetConsoleOutput',
  'ec2:GetConsoleScreenshot',
  // Source code and connection passwords.
  'codecommit:GitPull',
  'codecommit:GetBlob',
  'codecommit:GetFile',
  'glue:GetConnection',
  'glue:GetConnections',
];

/** Writes a pull-request plan must never make: lock files (of a running apply, too) and any object. */
export const PULL_REQUEST_DENIED_WRITES: readonly string[] = [
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
];
